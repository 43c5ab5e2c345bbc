package dbd_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/rowcache"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/dbd"
)

// cachedServer is what one websession server has: its own pool, listener,
// cache and store, on the shared database.
type cachedServer struct {
	st    *dbd.Store
	cache *rowcache.Cache
}

// newCachedServer starts a "server" on the database at dsn whose listener
// connects with listenDSN.
func newCachedServer(t testing.TB, dsn, listenDSN string) *cachedServer {
	t.Helper()
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l := rowcache.NewListener(listenDSN, db, nil)
	c, err := l.Cache(rowcache.SessionChannel, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	st := newStore(t, dbd.Options{DB: db, CookieName: "session", Cache: c, QueryTimeout: 5 * time.Second})
	waitFor(t, "the cache is trusted", c.Trusted)
	return &cachedServer{st: st, cache: c}
}

func (s *cachedServer) load(t testing.TB, id string) (string, bool) {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "session="+id)
	stored, found, err := s.st.Load(r)
	if err != nil {
		t.Fatalf("load %s: %v", id, err)
	}
	return stored.Encoded, found
}

func (s *cachedServer) save(t testing.TB, id, encoded string) string {
	t.Helper()
	sess := session.New()
	sess.ID = id
	if encoded != "" {
		sess.Set("v", encoded)
	}
	if err := s.st.Save(httptest.NewRequest("GET", "/", nil), http.Header{}, sess, encoded); err != nil {
		t.Fatalf("save: %v", err)
	}
	return sess.ID
}

func (s *cachedServer) holds(id string) bool {
	_, ok := s.cache.Get(id, nowµs)
	return ok
}

// waitFor polls cond every half millisecond until it holds, or fails the
// test after 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(500 * time.Microsecond)
	}
}

func migratedURL(t testing.TB) (*sqlx.DB, string) {
	t.Helper()
	dsn := pgtest.URL(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	migrate(t, db)
	return db, dsn
}

func migrate(t testing.TB, db *sqlx.DB) {
	t.Helper()
	if err := database.Migrate(context.Background(), db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
}

// refusalLatencies ends trials sessions through del, each one read and
// cached by server b first, and returns how long b kept serving each after
// del returned, sorted. It fails tb if b still serves one after 5 s.
func refusalLatencies(tb testing.TB, a, b *cachedServer, trials int, del func(id string)) []time.Duration {
	tb.Helper()
	lat := make([]time.Duration, 0, trials)
	for i := range trials {
		id := a.save(tb, "", fmt.Sprintf("trial=%d", i))
		if enc, ok := b.load(tb, id); !ok || enc != fmt.Sprintf("trial=%d", i) {
			tb.Fatalf("server B reads %q %v", enc, ok)
		}
		if !b.holds(id) {
			tb.Fatal("server B did not cache the row")
		}
		del(id)
		start := time.Now()
		for {
			if _, ok := b.load(tb, id); !ok {
				break
			}
			if time.Since(start) > 5*time.Second {
				tb.Fatal("server B still serves a deleted session after 5 s")
			}
			// Poll, but leave the cores to the listener.
			time.Sleep(50 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	return lat
}

// deleters end a session through server A's logout or by hand in SQL.
func deleters(tb testing.TB, db *sqlx.DB, a *cachedServer) map[string]func(id string) {
	return map[string]func(id string){
		"logout on server A": func(id string) { a.save(tb, id, "") },
		"delete in psql": func(id string) {
			if _, err := db.Exec(`delete from session where key = $1`, id); err != nil {
				tb.Fatal(err)
			}
		},
	}
}

// TestCachedDeleteRefusedByOtherServer: a session ended through server A
// (logout) or by hand in psql is refused by server B, which had it cached,
// every time. How soon is BenchmarkDeleteRefusedByOtherServer's to say: a
// latency measured in a unit test is the machine's load, not the code's.
func TestCachedDeleteRefusedByOtherServer(t *testing.T) {
	t.Parallel()
	db, dsn := migratedURL(t)
	a := newCachedServer(t, dsn, dsn)
	b := newCachedServer(t, dsn, dsn)
	for name, del := range deleters(t, db, a) {
		lat := refusalLatencies(t, a, b, 50, del)
		t.Logf("%s, refused by server B after: p50 %v, max %v (50 trials)", name, lat[25], lat[49])
	}
}

// BenchmarkDeleteRefusedByOtherServer measures the target of issue 14: a
// session deleted through one server (or by psql) is refused by another
// within 100 ms, p99 over 1,000 trials. It reports p50, p99 and max in
// milliseconds; ns/op is one trial. Run alone:
//
//	go test -run '^$' -bench BenchmarkDeleteRefusedByOtherServer -benchtime 1000x ./internal/session/dbd
func BenchmarkDeleteRefusedByOtherServer(b *testing.B) {
	db, dsn := migratedURL(b)
	sa := newCachedServer(b, dsn, dsn)
	sb := newCachedServer(b, dsn, dsn)
	for _, name := range []string{"logout on server A", "delete in psql"} {
		del := deleters(b, db, sa)[name]
		b.Run(strings.ReplaceAll(name, " ", "-"), func(b *testing.B) {
			lat := refusalLatencies(b, sa, sb, b.N, del)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
		})
	}
}

// A changed session gets a new key on server A; server B, which cached the
// old key, refuses it and reads the new one.
func TestCachedChangeSeenByOtherServer(t *testing.T) {
	t.Parallel()
	_, dsn := migratedURL(t)
	a := newCachedServer(t, dsn, dsn)
	b := newCachedServer(t, dsn, dsn)
	id := a.save(t, "", "n=1")
	if _, ok := b.load(t, id); !ok || !b.holds(id) {
		t.Fatal("server B did not read and cache the session")
	}
	sess := session.New()
	sess.ID = id
	sess.Set("n", "2") // dirty: renamed to a new key
	if err := a.st.Save(httptest.NewRequest("GET", "/", nil), http.Header{}, sess, "n=2"); err != nil {
		t.Fatal(err)
	}
	if sess.ID == id {
		t.Fatal("changed session kept its key")
	}
	waitFor(t, "server B refuses the old key", func() bool { _, ok := b.load(t, id); return !ok })
	if enc, ok := b.load(t, sess.ID); !ok || enc != "n=2" {
		t.Fatalf("server B reads the new key as %q %v", enc, ok)
	}
	// A's own cache forgot the old key at once, with no notification.
	if _, ok := a.load(t, id); ok {
		t.Fatal("server A serves the key it just renamed")
	}
}

// An expiry that moves under the same key (a SessionMaxAge refresh) is
// followed: the cache never serves a row past the expiry it read.
func TestCachedExpiry(t *testing.T) {
	t.Parallel()
	db, dsn := migratedURL(t)
	b := newCachedServer(t, dsn, dsn)
	const id = "11111111-2222-4333-8444-555555555555"
	if _, err := db.Exec(`insert into session (key, value, expiry) values ($1, 'x=1', $2)`, id, nowµs+1); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.load(t, id); !ok || !b.holds(id) {
		t.Fatal("row not read and cached")
	}
	if _, ok := b.cache.Get(id, nowµs+1); ok {
		t.Fatal("cache serves the row at its expiry")
	}
	if _, err := db.Exec(`update session set expiry = 0 where key = $1`, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the moved expiry is noticed", func() bool { return !b.holds(id) })
	if _, ok := b.load(t, id); !ok {
		t.Fatal("refreshed row not read")
	}
	if _, ok := b.cache.Get(id, nowµs+1e12); !ok {
		t.Fatal("refreshed row (expiry 0) not cached as never expiring")
	}
}

// TestCacheSurvivesListenerKilledUnderLoad: while readers hammer server B
// and rows are deleted in psql, B's listen connection is terminated again
// and again. Every deleted row is refused soon after, and once refused it
// is never served again (no stale entry put back by a racing read).
func TestCacheSurvivesListenerKilledUnderLoad(t *testing.T) {
	t.Parallel()
	db, dsn := migratedURL(t)
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("application_name", "dbd-listener-kill")
	u.RawQuery = q.Encode()
	b := newCachedServer(t, dsn, u.String())
	a := newCachedServer(t, dsn, dsn)

	const n = 300
	ids := make([]string, n)
	for i := range ids {
		ids[i] = a.save(t, "", fmt.Sprintf("i=%d", i))
	}
	var refused sync.Map // id -> true once B answered "no session"
	var deleted sync.Map // id -> true once its delete committed
	var stale atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest("GET", "/", nil)
			for k := w; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				id := ids[k%n]
				_, wasRefused := refused.Load(id)
				r.Header.Set("Cookie", "session="+id)
				_, found, err := b.st.Load(r)
				if err != nil {
					continue // a load may race the kill; only answers count
				}
				if found && wasRefused {
					stale.Add(1)
				}
				if !found {
					if _, ok := deleted.Load(id); !ok {
						t.Errorf("live session %s refused", id)
					}
					refused.Store(id, true)
				}
			}
		}()
	}
	kills := 0
	for i, id := range ids {
		if i%30 == 0 {
			if _, err := db.Exec(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'dbd-listener-kill'`); err != nil {
				t.Fatal(err)
			}
			kills++
		}
		if i%2 == 1 {
			continue // keep half alive
		}
		deleted.Store(id, true) // before: a reader may see the commit first
		if _, err := db.Exec(`delete from session where key = $1`, id); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "server B refuses "+id, func() bool { _, ok := refused.Load(id); return ok })
	}
	close(stop)
	wg.Wait()
	if s := stale.Load(); s > 0 {
		t.Fatalf("%d loads served a session after server B had refused it", s)
	}
	for i, id := range ids {
		_, ok := b.load(t, id)
		if want := i%2 == 1; ok != want {
			t.Errorf("session %d: found %v, want %v", i, ok, want)
		}
	}
	t.Logf("%d listener kills, %d deletes", kills, n/2)
}

// While server B's listen connection cannot come back, B reads every row
// from the database (a delete whose notification it never gets is still
// refused); when it is back, the cache starts empty and serves again.
func TestCacheReadsThroughWhileListenerDown(t *testing.T) {
	t.Parallel()
	db, dsn := migratedURL(t)
	u, _ := url.Parse(dsn)
	q := u.Query()
	host := q.Get("host")
	if host == "" || host[0] != '/' {
		t.Skip("needs pgtest's local cluster on a Unix socket")
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	dir := t.TempDir()
	p := &socketProxy{path: filepath.Join(dir, ".s.PGSQL."+port), target: filepath.Join(host, ".s.PGSQL."+port)}
	p.up(t)
	t.Cleanup(p.down)
	q.Set("host", dir)
	u.RawQuery = q.Encode()
	b := newCachedServer(t, dsn, u.String())

	gone := b.save(t, "", "gone=1")
	kept := b.save(t, "", "kept=1")
	if !b.holds(gone) || !b.holds(kept) {
		t.Fatal("written rows not cached")
	}
	p.down()
	waitFor(t, "the cache stops trusting itself", func() bool { return !b.cache.Trusted() })
	if _, err := db.Exec(`delete from session where key = $1`, gone); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.load(t, gone); ok {
		t.Fatal("a row deleted while the listener was down was served")
	}
	if enc, ok := b.load(t, kept); !ok || enc != "kept=1" {
		t.Fatalf("live row read through as %q %v", enc, ok)
	}
	if b.cache.Len() != 0 && b.cache.Trusted() {
		t.Fatal("cache stored rows while untrusted")
	}
	p.up(t)
	waitFor(t, "the cache is trusted again", b.cache.Trusted)
	if _, ok := b.load(t, gone); ok {
		t.Fatal("deleted row served after the listener came back")
	}
	if _, ok := b.load(t, kept); !ok || !b.holds(kept) {
		t.Fatal("cache does not serve again after the listener came back")
	}
}

// TestCacheAcrossPostgreSQLRestart: after a restart of PostgreSQL, a row
// deleted before server B's listener is back is refused, and B caches
// again. Not parallel: the restart ends every connection of the binary.
func TestCacheAcrossPostgreSQLRestart(t *testing.T) {
	db, dsn := migratedURL(t)
	b := newCachedServer(t, dsn, dsn)
	gone := b.save(t, "", "gone=1")
	kept := b.save(t, "", "kept=1")
	pgtest.Restart(t)
	// The first statements after a restart may meet a dead pooled
	// connection; retry until the database answers.
	waitFor(t, "the delete after the restart succeeds", func() bool {
		_, err := db.Exec(`delete from session where key = $1`, gone)
		return err == nil
	})
	var loadErr error
	waitFor(t, "server B answers again", func() bool {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "session="+gone)
		_, found, err := b.st.Load(r)
		if err == nil && found {
			loadErr = fmt.Errorf("deleted row served after the restart")
		}
		return err == nil
	})
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	if _, ok := b.load(t, gone); ok {
		t.Fatal("deleted row served after the restart")
	}
	waitFor(t, "the cache is trusted again", b.cache.Trusted)
	if _, ok := b.load(t, gone); ok {
		t.Fatal("deleted row served once the cache is trusted again")
	}
	if _, ok := b.load(t, kept); !ok || !b.holds(kept) {
		t.Fatal("cache does not serve again after the restart")
	}
}

// With statements of its own the store reads through: the cache could not
// know what they mean, nor that the trigger covers their table.
func TestCacheOnlyWithTheManualsStatements(t *testing.T) {
	t.Parallel()
	db, dsn := migratedURL(t)
	srv := newCachedServer(t, dsn, dsn) // for its trusted cache
	for _, tt := range []struct {
		name   string
		stmts  dbd.Statements
		cached bool
	}{
		{"manual's, Apache spelling", dbd.Statements{Select: "select value from session where key = %s and (expiry = 0 or expiry > %lld)"}, true},
		{"own select", dbd.Statements{Select: "select value from session where key = %s and (expiry = 0 or expiry > %lld) and value <> ''"}, false},
		{"own insert", dbd.Statements{Insert: "insert into session (value, expiry, key) values (upper(%s), %lld, %s)"}, false},
	} {
		st := newStore(t, dbd.Options{DB: db, CookieName: "session", Cache: srv.cache, Statements: tt.stmts})
		sess := session.New()
		sess.Set("a", "1")
		if err := st.Save(httptest.NewRequest("GET", "/", nil), http.Header{}, sess, "a=1"); err != nil {
			t.Fatal(err)
		}
		if _, ok := srv.cache.Get(sess.ID, nowµs); ok != tt.cached {
			t.Errorf("%s: cached %v, want %v", tt.name, ok, tt.cached)
		}
	}
}

// TestRefreshNotNotified: a SessionMaxAge refresh (same key, later expiry)
// sends no notification, so it costs no cluster-wide notify lock and no
// server drops its copy; this server's cache takes the new expiry without
// reading the row back; the other server keeps serving the copy it has
// until the expiry it read. Notifications arrive in commit order, so the
// first one after the refresh being a later delete's proves the refresh
// sent none.
func TestRefreshNotNotified(t *testing.T) {
	t.Parallel()
	db, dsn := migratedURL(t)
	a := newCachedServer(t, dsn, dsn)
	b := newCachedServer(t, dsn, dsn)
	const id, other = "21111111-2222-4333-8444-555555555555", "31111111-2222-4333-8444-555555555555"
	for _, k := range []string{id, other} {
		if _, err := db.Exec(`insert into session (key, value, expiry) values ($1, 'x=1', $2)`, k, nowµs+1e6); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*cachedServer{a, b} {
		if _, ok := s.load(t, id); !ok || !s.holds(id) {
			t.Fatal("row not read and cached")
		}
	}

	l := pq.NewListener(dsn, time.Millisecond, time.Second, nil)
	defer l.Close()
	if err := l.Listen(rowcache.SessionChannel); err != nil {
		t.Fatal(err)
	}

	// The refresh, as the session middleware asks for it: unchanged, a
	// later expiry.
	sess := session.New()
	sess.ID = id
	sess.Expiry = nowµs + 3e9
	if err := a.st.Save(httptest.NewRequest("GET", "/", nil), http.Header{}, sess, "x=1"); err != nil {
		t.Fatal(err)
	}
	if sess.ID != id {
		t.Fatal("a refresh renamed the row")
	}
	if _, err := db.Exec(`delete from session where key = $1`, other); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-l.Notify:
		if n == nil || n.Extra != other {
			t.Fatalf("first notification after the refresh: %+v, want the delete of %s", n, other)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification of the delete")
	}

	if _, ok := a.cache.Get(id, nowµs+2e9); !ok {
		t.Fatal("server A's cache did not take the refreshed expiry")
	}
	if !b.holds(id) {
		t.Fatal("server B dropped its copy on a refresh")
	}
	if _, ok := b.cache.Get(id, nowµs+1e6); ok {
		t.Fatal("server B serves its copy past the expiry it read")
	}

	// A shortened expiry, and a value changed by hand under the same key,
	// are still notified.
	for _, q := range []string{
		`update session set expiry = expiry - 1 where key = $1`,
		`update session set value = 'x=2' where key = $1`,
	} {
		if _, ok := b.load(t, id); !ok || !b.holds(id) {
			t.Fatalf("before %q: row not cached", q)
		}
		if _, err := db.Exec(q, id); err != nil {
			t.Fatal(err)
		}
		waitFor(t, q+" noticed", func() bool { return !b.holds(id) })
	}
}
