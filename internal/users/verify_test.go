package users

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestConcurrentColdChecksShareOneBcrypt: a burst of requests carrying the
// same credentials, none cached yet, pays one slow verification; a wrong
// password is not answered by a right one's verification.
func TestConcurrentColdChecksShareOneBcrypt(t *testing.T) {
	// ObserveHash is told of every slow verification (the metrics hook).
	var slow atomic.Int64
	v := newVerifier(Options{Cost: bcrypt.MinCost, CacheSize: 100, ObserveHash: func(string, time.Duration) { slow.Add(1) }})
	stored, err := bcrypt.GenerateFromPassword([]byte("wonderland"), 12)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	results := make([]Result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], _ = v.check(context.Background(), "alice", "wonderland", string(stored), true, 0)
		}()
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		if r != Granted {
			t.Fatalf("check %d: %v", i, r)
		}
	}
	// Goroutines that arrive after the first verification finished hit the
	// cache; those that overlapped it waited for it. Either way: one bcrypt.
	if got := slow.Load(); got != 1 {
		t.Fatalf("%d slow verifications for %d identical concurrent checks, want 1", got, n)
	}
	if r, _ := v.check(context.Background(), "alice", "not wonderland", string(stored), true, 0); r != Denied {
		t.Fatalf("wrong password: %v", r)
	}
}
