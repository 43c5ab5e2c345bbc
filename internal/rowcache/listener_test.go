package rowcache_test

import (
	"context"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/rowcache"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func listen(t *testing.T, db *sqlx.DB, dsn string) (sess, usrs *rowcache.Cache) {
	t.Helper()
	l := rowcache.NewListener(dsn, db, nil)
	var err error
	if sess, err = l.Cache(rowcache.SessionChannel, 0); err != nil {
		t.Fatal(err)
	}
	if usrs, err = l.Cache(rowcache.UsersChannel, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return sess, usrs
}

func withAppName(t *testing.T, dsn, name string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// eventually polls cond every millisecond until it holds or 10 s passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func migrated(t *testing.T) (*sqlx.DB, string) {
	t.Helper()
	dsn := pgtest.URL(t)
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := database.Migrate(context.Background(), db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	return db, dsn
}

func cached(c *rowcache.Cache, key string) bool {
	_, ok := c.Get(key, 0)
	return ok
}

func TestChangesInvalidate(t *testing.T) {
	t.Parallel()
	db, dsn := migrated(t)
	sess, usrs := listen(t, db, dsn)
	eventually(t, "the caches are trusted", func() bool { return sess.Trusted() && usrs.Trusted() })
	for _, q := range []string{
		`insert into session (key, value) values ('a', '1'), ('b', '2'), ('c', '3'), ('d', '4')`,
		`insert into users (name, password) values ('alice', 'h1'), ('bob', 'h2')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		sql   string
		cache *rowcache.Cache
		gone  []string // keys the statement must evict
		kept  []string // keys it must leave
	}{
		{`update session set expiry = 5 where key = 'a'`, sess, []string{"a"}, []string{"b", "c", "d"}},
		{`update session set key = 'b2' where key = 'b'`, sess, []string{"b"}, []string{"c", "d"}},
		{`delete from session where key = 'c'`, sess, []string{"c"}, []string{"d"}},
		{`truncate session`, sess, []string{"d"}, nil},
		{`update users set password = 'h3' where name = 'alice'`, usrs, []string{"alice"}, []string{"bob"}},
		{`delete from users where name = 'bob'`, usrs, []string{"bob"}, nil},
	}
	for _, key := range []string{"a", "b", "c", "d"} {
		sess.Put(sess.Begin(), key, "v", 0)
	}
	for _, key := range []string{"alice", "bob"} {
		usrs.Put(usrs.Begin(), key, "h", 0)
	}
	for _, s := range steps {
		if _, err := db.Exec(s.sql); err != nil {
			t.Fatalf("%s: %v", s.sql, err)
		}
		for _, k := range s.gone {
			eventually(t, s.sql+" evicts "+k, func() bool { return !cached(s.cache, k) })
		}
		for _, k := range s.kept {
			if !cached(s.cache, k) {
				t.Errorf("%s evicted %s", s.sql, k)
			}
		}
	}
}

// Without the trigger no notification would come: the cache must never be
// trusted, so every read goes to the database.
func TestMissingTriggerReadsThrough(t *testing.T) {
	t.Parallel()
	db, dsn := migrated(t)
	if _, err := db.Exec(`drop trigger session_notify on session`); err != nil {
		t.Fatal(err)
	}
	sess, usrs := listen(t, db, dsn)
	eventually(t, "the users cache is trusted", usrs.Trusted)
	if sess.Trusted() {
		t.Fatal("session cache trusted without its trigger")
	}
}

// A killed listen connection comes back by itself; the cache then starts
// empty, since notifications sent meanwhile are lost.
func TestListenerKilledFlushes(t *testing.T) {
	t.Parallel()
	db, dsn := migrated(t)
	sess, _ := listen(t, db, withAppName(t, dsn, "rowcache-kill"))
	eventually(t, "the cache is trusted", sess.Trusted)
	for round := range 3 {
		sess.Put(sess.Begin(), "never-notified", "v", 0)
		if !cached(sess, "never-notified") {
			t.Fatalf("round %d: row not cached", round)
		}
		var n int
		if err := db.Get(&n, `select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'rowcache-kill'`); err != nil || n != 1 {
			t.Fatalf("round %d: terminating the listener: %d backends, %v", round, n, err)
		}
		eventually(t, "the cache drops what it held", func() bool { return !cached(sess, "never-notified") })
		eventually(t, "the cache is trusted again", sess.Trusted)
	}
}
