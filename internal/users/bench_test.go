package users

import (
	"context"
	"fmt"
	"testing"
)

// benchStore is a file of 1000 users at the production cost (12) whose
// passwords are hashed at testCost, except the one being checked.
func benchStore(b *testing.B, opts Options) *FileStore {
	b.Helper()
	opts.Logger = testOptions(nil).Logger
	s := newFileStore(b, opts)
	f := &htFile{}
	for i := range 999 {
		h, _ := newHash(fmt.Sprintf("password%d", i), testCost)
		f.lines = append(f.lines, formatLine(fmt.Sprintf("user%d", i), h))
	}
	h, err := newHash("wonderland", opts.Cost)
	if err != nil {
		b.Fatal(err)
	}
	f.lines = append(f.lines, formatLine("alice", h))
	if err := s.update(context.Background(), func(g *htFile) error { *g = *f; return nil }); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkCheck: the per-request re-check of a session's password with a
// warm verified-credential cache (stat + map lookup + HMAC).
func BenchmarkCheck(b *testing.B) {
	s := benchStore(b, Options{Cost: DefaultCost})
	ctx := context.Background()
	mustCheckB(b, s, "alice", "wonderland") // warm
	b.ReportAllocs()
	for b.Loop() {
		if r, err := s.Check(ctx, "alice", "wonderland"); r != Granted || err != nil {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkCheckParallel: the same from all cores.
func BenchmarkCheckParallel(b *testing.B) {
	s := benchStore(b, Options{Cost: DefaultCost})
	ctx := context.Background()
	mustCheckB(b, s, "alice", "wonderland")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r, err := s.Check(ctx, "alice", "wonderland"); r != Granted || err != nil {
				b.Error(r, err)
				return
			}
		}
	})
}

// BenchmarkCheckStatInterval: warm cache, file looked at once per second.
func BenchmarkCheckStatInterval(b *testing.B) {
	s := benchStore(b, Options{Cost: DefaultCost, StatInterval: 1e9})
	ctx := context.Background()
	mustCheckB(b, s, "alice", "wonderland")
	b.ReportAllocs()
	for b.Loop() {
		if r, err := s.Check(ctx, "alice", "wonderland"); r != Granted || err != nil {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkCheckCold: what Apache pays on every request, bcrypt at cost 12.
func BenchmarkCheckCold(b *testing.B) {
	s := benchStore(b, Options{Cost: DefaultCost, CacheSize: -1})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r, err := s.Check(ctx, "alice", "wonderland"); r != Granted || err != nil {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkCheckUnknownUser: the dummy bcrypt at cost 12.
func BenchmarkCheckUnknownUser(b *testing.B) {
	s := benchStore(b, Options{Cost: DefaultCost})
	ctx := context.Background()
	s.v.dummyCompare(ctx, "warm", 0) // make the dummy hash
	b.ReportAllocs()
	for b.Loop() {
		if r, err := s.Check(ctx, "mallory", "wonderland"); r != NotFound || err != nil {
			b.Fatal(r, err)
		}
	}
}

func mustCheckB(b *testing.B, s Store, name, password string) {
	b.Helper()
	if r, err := s.Check(context.Background(), name, password); r != Granted || err != nil {
		b.Fatal(r, err)
	}
}
