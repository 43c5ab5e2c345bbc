package users

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/rowcache"
)

func TestPWQuery(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "SELECT password FROM users WHERE name = $1"},
		{"SELECT password FROM users WHERE name = %s", "SELECT password FROM users WHERE name = $1"},
		{"  SELECT pw FROM accounts WHERE login = %s AND active  ", "SELECT pw FROM accounts WHERE login = $1 AND active"},
		{"SELECT password FROM users WHERE name = $1", "SELECT password FROM users WHERE name = $1"},
		{"SELECT password FROM users", ""},
		{"SELECT password FROM users WHERE name = %s OR name = %s", ""},
		{"SELECT password FROM users WHERE name = $1 AND x = $2", ""},
		{"SELECT password FROM users WHERE name = %s AND x = $1", ""},
	} {
		got, err := PWQuery(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("PWQuery(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("PWQuery(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func newDBStore(t *testing.T, opts Options) (*DBStore, func(q string, args ...any)) {
	t.Helper()
	db := pgtest.Open(t)
	ctx := context.Background()
	if err := database.Migrate(ctx, db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	s, err := NewDB(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	return s, exec
}

func TestDBStore(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(nil)
	opts.Query = "SELECT password FROM users WHERE name = %s" // Apache's spelling
	s, exec := newDBStore(t, opts)

	if err := s.Add(ctx, "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctx, "alice", "wonderland2"); !errors.Is(err, ErrExists) {
		t.Fatalf("second Add: %v, want ErrExists", err)
	}
	checkInvalid(t, s.Add(ctx, "bob", strings.Repeat("b", 73)), FieldPassword,
		"The password is too long: at most 72 bytes (bcrypt's limit), this one has 73. Non-ASCII characters take 2 to 4 bytes each.")
	checkInvalid(t, s.Add(ctx, "b:ob", "builder1"), FieldName, "The user name cannot contain a colon (:).")
	if ok, err := s.Exists(ctx, "alice"); !ok || err != nil {
		t.Fatalf("Exists(alice) = %v, %v", ok, err)
	}
	if ok, err := s.Exists(ctx, "bob"); ok || err != nil {
		t.Fatalf("Exists(bob) = %v, %v", ok, err)
	}
	mustCheck(t, s, "alice", "wonderland", Granted)
	mustCheck(t, s, "alice", "wonderland", Granted) // cached
	mustCheck(t, s, "alice", "wonderlanD", Denied)
	mustCheck(t, s, "bob", "wonderland", NotFound)
	mustCheck(t, s, "alice", strings.Repeat("w", 73), Denied)

	// Changed behind our back (another instance, psql, Apache's tools):
	// the next Check sees it, cache or not.
	h, _ := newHash("looking-glass", testCost)
	exec(`UPDATE users SET password = $2 WHERE name = $1`, "alice", h)
	mustCheck(t, s, "alice", "wonderland", Denied)
	mustCheck(t, s, "alice", "looking-glass", Granted)

	// Hashes written by Apache's htpasswd are read too.
	exec(`INSERT INTO users (name, password) VALUES ('carol', '$apr1$KP00Q8ow$9bAI/TXw6RJcfnc8CtnL0/')`)
	mustCheck(t, s, "carol", "myPassword", Granted)

	if err := s.SetPassword(ctx, "alice", "new-password"); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s, "alice", "looking-glass", Denied)
	mustCheck(t, s, "alice", "new-password", Granted)
	if err := s.SetPassword(ctx, "nobody", "new-password"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetPassword(nobody): %v", err)
	}
	var stored string
	if err := s.db.GetContext(ctx, &stored, `SELECT password FROM users WHERE name = 'alice'`); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "$2y$") {
		t.Fatalf("stored %q, want $2y$ bcrypt", stored)
	}
	if err := s.Delete(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
	mustCheck(t, s, "alice", "new-password", NotFound)
}

func TestDBStoreQueryForms(t *testing.T) {
	ctx := context.Background()
	s, exec := newDBStore(t, testOptions(nil))
	if err := s.Add(ctx, "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO users (name, password) VALUES ('nullpw', '')`)
	for _, q := range []string{
		// Extra columns, which Apache exports as AUTHENTICATE_*, are ignored.
		"SELECT password, name AS login, created_at FROM users WHERE name = %s",
		"SELECT password FROM users WHERE lower(name) = lower(%s)",
		"SELECT NULLIF(password, '') FROM users WHERE name = $1",
	} {
		opts := testOptions(nil)
		opts.Query = q
		s2, err := NewDB(s.db, opts)
		if err != nil {
			t.Fatal(err)
		}
		mustCheck(t, s2, "alice", "wonderland", Granted)
		mustCheck(t, s2, "alice", "wonderlanD", Denied)
		mustCheck(t, s2, "mallory", "wonderland", NotFound)
	}
	// A NULL hash is no user; an empty hash cannot match.
	opts := testOptions(nil)
	opts.Query = "SELECT NULLIF(password, '') FROM users WHERE name = $1"
	s3, _ := NewDB(s.db, opts)
	mustCheck(t, s3, "nullpw", "anything1", NotFound)
	mustCheck(t, s, "nullpw", "anything1", Denied)
}

func TestDBStoreTimeoutAndErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := newDBStore(t, testOptions(nil))
	opts := testOptions(nil)
	opts.Query = "SELECT (SELECT password FROM users WHERE name = %s) FROM pg_sleep(2)"
	opts.Timeout = 100 * time.Millisecond
	slow, err := NewDB(s.db, opts)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := slow.Check(ctx, "alice", "wonderland"); err == nil {
		t.Fatal("slow query: no error")
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("timeout not applied: %v", d)
	}
	opts.Query = "SELECT password FROM no_such_table WHERE name = %s"
	bad, _ := NewDB(s.db, opts)
	if r, err := bad.Check(ctx, "alice", "wonderland"); err == nil || r != Denied {
		t.Fatalf("query error: %v, %v; want Denied and an error (AUTH_GENERAL_ERROR)", r, err)
	}
}

func TestDBStoreConcurrentAdd(t *testing.T) {
	ctx := context.Background()
	s, _ := newDBStore(t, testOptions(nil))
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, exists int
	for range n {
		wg.Go(func() {
			err := s.Add(ctx, "same", "first secret")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrExists):
				exists++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || exists != n-1 {
		t.Fatalf("%d added, %d ErrExists; want 1 and %d", ok, exists, n-1)
	}
}

// BenchmarkDBCheck: warm cache, one SELECT per Check over a Unix socket.
func BenchmarkDBCheck(b *testing.B) {
	db := pgtest.Open(b)
	ctx := context.Background()
	if err := database.Migrate(ctx, db, "up", io.Discard); err != nil {
		b.Fatal(err)
	}
	s, err := NewDB(db, Options{Cost: DefaultCost})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Add(ctx, "alice", "wonderland"); err != nil {
		b.Fatal(err)
	}
	mustCheckB(b, s, "alice", "wonderland")
	b.ReportAllocs()
	for b.Loop() {
		if r, err := s.Check(ctx, "alice", "wonderland"); r != Granted || err != nil {
			b.Fatal(r, err)
		}
	}
}

// TestDBStoreHashCache: two servers' stores cache alice's hash; a password
// changed or a user deleted in psql (not through either store) takes
// effect on both, through the notify trigger.
func TestDBStoreHashCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.URL(t)
	server := func() (*DBStore, *rowcache.Cache) {
		db, err := sqlx.Open("postgres", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		l := rowcache.NewListener(dsn, db, nil)
		c, err := l.Cache(rowcache.UsersChannel, 0)
		if err != nil {
			t.Fatal(err)
		}
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { l.Run(lctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		s, err := NewDB(db, Options{Cost: testCost, HashCache: c})
		if err != nil {
			t.Fatal(err)
		}
		return s, c
	}
	a, _ := server()
	if err := database.Migrate(ctx, a.db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := a.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	b, bc := server()
	poll := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	poll("server B's cache is trusted", bc.Trusted)
	check := func(s *DBStore, pw string) Result {
		t.Helper()
		r, err := s.Check(ctx, "alice", pw)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := a.Add(ctx, "alice", "first-password"); err != nil {
		t.Fatal(err)
	}
	if check(b, "first-password") != Granted {
		t.Fatal("server B denies alice")
	}
	if _, ok := bc.Get("alice", 0); !ok {
		t.Fatal("server B did not cache alice's hash")
	}
	h, err := newHash("second-password", testCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.db.Exec(`update users set password = $1 where name = 'alice'`, h); err != nil {
		t.Fatal(err)
	}
	poll("server B denies the old password", func() bool { return check(b, "first-password") == Denied })
	if check(b, "second-password") != Granted {
		t.Fatal("server B denies the new password")
	}
	if _, err := a.db.Exec(`delete from users where name = 'alice'`); err != nil {
		t.Fatal(err)
	}
	poll("server B forgets alice", func() bool {
		ok, err := b.Exists(ctx, "alice")
		return err == nil && !ok && check(b, "second-password") == NotFound
	})
}

// A custom AuthDBDUserPWQuery may read tables no trigger watches: never
// cached.
func TestDBStoreCustomQueryNotCached(t *testing.T) {
	t.Parallel()
	c := rowcache.New(1 << 20)
	s, err := NewDB(nil, Options{Cost: testCost, HashCache: c, Query: "SELECT password FROM users WHERE name = %s AND active"})
	if err != nil {
		t.Fatal(err)
	}
	if s.cache != nil {
		t.Fatal("custom query cached")
	}
}

// TestDBStoreCaseInsensitiveCheckIndexed proves registration's
// case-insensitive check reads an index, not the whole table: with
// sequential scans disabled the plan must still avoid one.
func TestDBStoreCaseInsensitiveCheckIndexed(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	if err := database.Migrate(ctx, db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	var plan []string
	if err := conn.SelectContext(ctx, &plan, `EXPLAIN SELECT 1 FROM users WHERE lower(name) = lower($1::text)`, "Alice"); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if strings.Contains(text, "Seq Scan") || !strings.Contains(text, "users_name_lower_idx") {
		t.Fatalf("the case-insensitive name check does not use users_name_lower_idx:\n%s", text)
	}
}
