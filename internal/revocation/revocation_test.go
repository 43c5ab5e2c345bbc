package revocation

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func openFile(t *testing.T, path string, now func() time.Time) *Record {
	t.Helper()
	r, err := Open(context.Background(), NewFile(path, nil), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEnded(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return t0 }
	r := openFile(t, filepath.Join(t.TempDir(), "revoked"), now)
	ctx := context.Background()
	if err := r.EndLogin(ctx, "gone", LoggedOut, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := r.EndUser(ctx, "alice", t0, "kept", Everywhere, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := r.EndUser(ctx, "bob", t0, "", PasswordChanged, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	before, after := t0.Add(-time.Minute), t0.Add(time.Microsecond)
	for _, c := range []struct {
		sid, user string
		since     time.Time
		want      Reason
	}{
		{"gone", "carol", after, LoggedOut},
		{"other", "carol", before, ""},
		{"other", "alice", before, Everywhere},
		{"kept", "alice", before, ""},
		{"", "alice", before, Everywhere},
		{"other", "alice", after, ""},
		{"", "bob", before, PasswordChanged}, // no keep: an id-less login is not exempt
		{"x", "bob", t0, ""},                 // logged in at the cutoff itself
	} {
		if got := r.Ended(c.sid, c.user, c.since); got != c.want {
			t.Errorf("Ended(%q, %q, %v) = %q, want %q", c.sid, c.user, c.since, got, c.want)
		}
	}
}

// TestEndUserKeepsLatest: a later log out everywhere replaces an earlier
// one, so the login kept by the earlier one ends too.
func TestEndUserKeepsLatest(t *testing.T) {
	t.Parallel()
	r := openFile(t, filepath.Join(t.TempDir(), "revoked"), func() time.Time { return t0 })
	ctx := context.Background()
	r.EndUser(ctx, "alice", t0, "a", Everywhere, t0.Add(time.Hour))
	r.EndUser(ctx, "alice", t0.Add(time.Second), "b", Everywhere, t0.Add(time.Hour))
	r.EndUser(ctx, "alice", t0.Add(-time.Second), "c", Everywhere, t0.Add(time.Hour)) // older: ignored
	if got := r.Ended("a", "alice", t0.Add(-time.Hour)); got != Everywhere {
		t.Errorf("login kept by the first log out everywhere: %q, want it ended by the second", got)
	}
	if got := r.Ended("b", "alice", t0.Add(-time.Hour)); got != "" {
		t.Errorf("login kept by the latest: %q", got)
	}
}

func TestRejectsBadEntries(t *testing.T) {
	t.Parallel()
	r := openFile(t, filepath.Join(t.TempDir(), "revoked"), func() time.Time { return t0 })
	ctx := context.Background()
	until := t0.Add(time.Hour)
	for name, err := range map[string]error{
		"empty id":     r.EndLogin(ctx, "", LoggedOut, until),
		"long id":      r.EndLogin(ctx, strings.Repeat("a", MaxIDLen+1), LoggedOut, until),
		"space in id":  r.EndLogin(ctx, "a b", LoggedOut, until),
		"no reason":    r.EndLogin(ctx, "a", "", until),
		"no expiry":    r.EndLogin(ctx, "a", LoggedOut, time.Time{}),
		"long user":    r.EndUser(ctx, strings.Repeat("u", MaxUserLen+1), t0, "", Everywhere, until),
		"no user":      r.EndUser(ctx, "", t0, "", Everywhere, until),
		"bad keep":     r.EndUser(ctx, "u", t0, "a\nb", Everywhere, until),
		"cutoff unset": r.EndUser(ctx, "u", time.Time{}, "", Everywhere, until),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := r.Len(); n != 0 {
		t.Errorf("%d entries after only bad ones", n)
	}
}

// TestFileSurvivesRestart: a second Record on the same file (the server
// restarted) knows every ended login, and drops the expired ones.
func TestFileSurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "revoked")
	now := t0
	clock := func() time.Time { return now }
	r := openFile(t, path, clock)
	ctx := context.Background()
	r.EndLogin(ctx, "short", LoggedOut, t0.Add(time.Minute))
	r.EndLogin(ctx, "long", LoggedOut, t0.Add(time.Hour))
	r.EndUser(ctx, "zoë two", t0, "kept", PasswordChanged, t0.Add(time.Hour))
	now = t0.Add(2 * time.Minute)
	r2 := openFile(t, path, clock)
	if got := r2.Ended("long", "x", t0); got != LoggedOut {
		t.Errorf("after restart, ended login: %q", got)
	}
	if got := r2.Ended("y", "zoë two", t0.Add(-time.Second)); got != PasswordChanged {
		t.Errorf("after restart, user cutoff: %q", got)
	}
	if got := r2.Ended("kept", "zoë two", t0.Add(-time.Second)); got != "" {
		t.Errorf("after restart, kept login: %q", got)
	}
	if n := r2.Len(); n != 2 {
		t.Errorf("%d entries after restart, want 2 (the expired one dropped)", n)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("record file: %v, %v; want mode 0600", info, err)
	}
}

// TestFileDamaged: garbage, overlong lines, binary bytes and an oversized
// file never stop the record from loading what is readable.
func TestFileDamaged(t *testing.T) {
	t.Parallel()
	until := t0.Add(time.Hour).UnixMicro()
	good := fmt.Sprintf("s good logout %d\n", until)
	for name, content := range map[string]string{
		"garbage":       "hello\n\x00\xff\xfe\ns\ns a b c d e\n" + good + "u %zz 1 - logout 5\n",
		"overlong line": "s " + strings.Repeat("x", 1<<20) + " logout 1\n" + good,
		"no newline":    good + "s tail logout",
		"bad numbers":   fmt.Sprintf("s a logout -5\ns b logout 99999999999999999999\n%s", good),
		"unknown kind":  "x good logout 1\n" + good,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "revoked")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			r := openFile(t, path, func() time.Time { return t0 })
			if got := r.Ended("good", "u", t0); got != LoggedOut {
				t.Errorf("readable entry lost: %q", got)
			}
			if n := r.Len(); n != 1 {
				t.Errorf("%d entries, want 1", n)
			}
		})
	}
	t.Run("oversized", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "revoked")
		var b strings.Builder
		for i := range 2000 {
			fmt.Fprintf(&b, "s id%d logout %d\n", i, until)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		fb := NewFile(path, nil)
		fb.maxBytes = 1000
		r, err := Open(context.Background(), fb, Options{Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatal(err)
		}
		if n := r.Len(); n == 0 || n > 100 {
			t.Errorf("%d entries from a file cut at 1000 bytes", n)
		}
		if got := r.Ended("id0", "u", t0); got != LoggedOut {
			t.Errorf("first entry lost: %q", got)
		}
	})
}

// TestBounded: the record never holds more than MaxEntries, and what it
// drops first is what expires soonest.
func TestBounded(t *testing.T) {
	t.Parallel()
	r, err := Open(context.Background(), NewFile(filepath.Join(t.TempDir(), "revoked"), nil), Options{MaxEntries: 50, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r.EndLogin(ctx, "precious", LoggedOut, t0.Add(1000*time.Hour))
	for i := range 500 {
		r.EndLogin(ctx, fmt.Sprintf("id%d", i), LoggedOut, t0.Add(time.Duration(i+1)*time.Minute))
		if n := r.Len(); n > 50 {
			t.Fatalf("after %d entries: %d, bound 50", i+2, n)
		}
	}
	if got := r.Ended("precious", "u", t0); got != LoggedOut {
		t.Error("the entry expiring last was dropped")
	}
}

// TestFileCompacts: the file does not grow without bound as entries come
// and expire.
func TestFileCompacts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "revoked")
	now := t0
	r := openFile(t, path, func() time.Time { return now })
	ctx := context.Background()
	for i := range 1500 {
		now = now.Add(time.Second)
		r.EndLogin(ctx, fmt.Sprintf("id%d", i), LoggedOut, now.Add(time.Minute))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(data), "\n"); lines > 1024+3*60+10 {
		t.Errorf("file has %d lines for about 60 live entries", lines)
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add("s abc logout 1764590400000000")
	f.Add("u al%20ice 1764590400000000 - everywhere 1764594000000000")
	f.Add("u x 1 k password 2")
	f.Fuzz(func(t *testing.T, line string) {
		e, err := parseLine(line)
		if err != nil {
			return
		}
		back, err := parseLine(strings.TrimSuffix(formatLine(e), "\n"))
		if err != nil {
			t.Fatalf("%q parsed to %+v, which formats to an unreadable line: %v", line, e, err)
		}
		if back.SID != e.SID || back.User != e.User || back.Keep != e.Keep || back.Reason != e.Reason ||
			!back.Until.Equal(e.Until) || !back.Cutoff.Equal(e.Cutoff) {
			t.Fatalf("round trip %+v -> %+v", e, back)
		}
	})
}

func openPostgres(t *testing.T) *Postgres {
	t.Helper()
	db := pgtest.Open(t)
	if err := database.Migrate(context.Background(), db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	return NewPostgres(db, 0, nil)
}

// TestPostgresShared: two servers on one database; a logout and a log out
// everywhere on one are known on the other within a second, and a third
// started afterwards (a restart) knows them at once.
func TestPostgresShared(t *testing.T) {
	t.Parallel()
	pg := openPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, _ := Open(ctx, NewPostgres(pg.db, 0, nil), Options{})
	b, _ := Open(ctx, NewPostgres(pg.db, 0, nil), Options{PollInterval: 50 * time.Millisecond})
	go b.Run(ctx)
	now := time.Now()
	if err := a.EndLogin(ctx, "sid1", LoggedOut, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.EndUser(ctx, "alice", now, "keep", Everywhere, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for b.Ended("sid1", "x", now) == "" || b.Ended("other", "alice", now.Add(-time.Minute)) == "" {
		if time.Now().After(deadline) {
			t.Fatal("the other server did not learn of the ended logins within a second")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c, _ := Open(ctx, NewPostgres(pg.db, 0, nil), Options{})
	if c.Ended("sid1", "x", now) != LoggedOut || c.Ended("other", "alice", now.Add(-time.Minute)) != Everywhere || c.Ended("keep", "alice", now.Add(-time.Minute)) != "" {
		t.Error("a server started later does not know the record")
	}
}

// TestPostgresDamaged: rows nobody could have written through the API, and
// a huge number of rows, never stop the record from loading.
func TestPostgresDamaged(t *testing.T) {
	t.Parallel()
	pg := openPostgres(t)
	ctx := context.Background()
	until := time.Now().Add(time.Hour).UnixMicro()
	for _, q := range []string{
		`INSERT INTO session_revocation (sid, reason, until) VALUES ('bad id', 'logout', $1)`,
		`INSERT INTO session_revocation (sid, reason, until) VALUES ('x', 'nonsense', $1)`,
		`INSERT INTO session_revocation (sid, name, reason, until) VALUES ('x', 'y', 'logout', $1)`,
		`INSERT INTO session_revocation (name, cutoff, reason, until) VALUES ('nocutoff', 0, 'everywhere', $1)`,
		`INSERT INTO session_revocation (sid, reason, until) SELECT 'bulk' || g, 'logout', $1 FROM generate_series(1, 3000) g`,
		`INSERT INTO session_revocation (sid, reason, until) VALUES ('good', 'logout', $1)`,
	} {
		if _, err := pg.db.ExecContext(ctx, q, until); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := Open(ctx, NewPostgres(pg.db, 1000, nil), Options{MaxEntries: 1000})
	if n := r.Len(); n == 0 || n > 1000 {
		t.Errorf("%d entries with a bound of 1000", n)
	}
	if r.Ended("bad id", "u", time.Now()) != "" {
		t.Error("a malformed row was taken")
	}
}

// TestPostgresDown: a database that cannot be reached at start is no
// failure; the record loads when it can.
func TestPostgresDown(t *testing.T) {
	t.Parallel()
	pg := openPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	now := time.Now()
	a, _ := Open(ctx, NewPostgres(pg.db, 0, nil), Options{})
	a.EndLogin(ctx, "sid", LoggedOut, now.Add(time.Hour))
	pg.db.Exec("ALTER TABLE session_revocation RENAME TO hidden")
	r, err := Open(ctx, NewPostgres(pg.db, 0, nil), Options{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go r.Run(ctx)
	pg.db.Exec("ALTER TABLE hidden RENAME TO session_revocation")
	deadline := time.Now().Add(5 * time.Second)
	for r.Ended("sid", "u", now) == "" {
		if time.Now().After(deadline) {
			t.Fatal("the record never loaded once the table was back")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkEnded is the check every authenticated request makes.
func BenchmarkEnded(b *testing.B) {
	r, _ := Open(context.Background(), NewFile(filepath.Join(b.TempDir(), "revoked"), nil), Options{})
	until := time.Now().Add(time.Hour)
	var entries []Entry
	for i := range 10000 {
		entries = append(entries,
			Entry{SID: fmt.Sprintf("id%d", i), Reason: LoggedOut, Until: until},
			Entry{User: fmt.Sprintf("user%d", i), Cutoff: time.Now(), Reason: Everywhere, Until: until})
	}
	r.apply(entries) // as a load would; Add would sync the file 20,000 times
	since := time.Now().Add(time.Second)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r.Ended("AAAAAAAAAAAAAAAAAAAAAA", "user5", since) != "" {
				b.Fatal("ended")
			}
		}
	})
}
