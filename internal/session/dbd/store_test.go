package dbd_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/dbd"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	now    = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	nowµs  = now.UnixMicro()
	idLike = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// migratedDB returns a fresh database with websession's tables.
func migratedDB(tb testing.TB) *sqlx.DB {
	tb.Helper()
	db := pgtest.Open(tb)
	if err := database.Migrate(context.Background(), db, "up", io.Discard); err != nil {
		tb.Fatal(err)
	}
	return db
}

func newStore(tb testing.TB, opts dbd.Options) *dbd.Store {
	tb.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return now }
	}
	st, err := dbd.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// countWrites installs a statement-level trigger counting every insert,
// update and delete statement run on the session table (even those that
// touch no row) and returns a function reading the count.
func countWrites(t *testing.T, db *sqlx.DB) func() int {
	t.Helper()
	for _, q := range []string{
		`create table writes (n int not null)`,
		`insert into writes values (0)`,
		`create function count_write() returns trigger language plpgsql as
			$$ begin update writes set n = n + 1; return null; end $$`,
		`create trigger session_writes after insert or update or delete on session
			for each statement execute function count_write()`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return func() int {
		var n int
		if err := db.Get(&n, `select n from writes`); err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// exchange plays one request through the store the way mod_session does:
// load, decode, let the handler change the session, save when dirty or when
// SessionMaxAge is set. It returns the response headers and the session.
func exchange(t *testing.T, st *dbd.Store, cookie string, maxAge int64, handler func(*session.Session)) (http.Header, *session.Session, *http.Request) {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	got, found, err := st.Load(r)
	enc, id := got.Encoded, got.ID
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	s := session.New()
	if found {
		session.Decode(s, enc)
		s.ID = id
	}
	if maxAge > 0 {
		s.MaxAge = maxAge
		s.Expiry = nowµs + maxAge*1e6
	}
	if handler != nil {
		handler(s)
	}
	h := http.Header{}
	if s.Dirty() || maxAge > 0 {
		if err := st.Save(r, h, s, session.Encode(s)); err != nil {
			t.Fatalf("save: %v", err)
		}
	}
	return h, s, r
}

type row struct {
	Key    string
	Value  string
	Expiry int64
}

func rows(t *testing.T, db *sqlx.DB) []row {
	t.Helper()
	var rs []row
	if err := db.Select(&rs, `select key, value, expiry from session order by key`); err != nil {
		t.Fatal(err)
	}
	return rs
}

func cookieID(t *testing.T, h http.Header, name, suffix string) string {
	t.Helper()
	lines := h.Values("Set-Cookie")
	if len(lines) != 1 {
		t.Fatalf("Set-Cookie %q, want exactly one", lines)
	}
	id, ok := strings.CutPrefix(lines[0], name+"=")
	if !ok {
		t.Fatalf("Set-Cookie %q does not set %s", lines[0], name)
	}
	id, ok = strings.CutSuffix(id, ";"+suffix)
	if !ok || !idLike.MatchString(id) {
		t.Fatalf("Set-Cookie %q: want %s=<v4 uuid>;%s", lines[0], name, suffix)
	}
	return id
}

// Scenario 14 (spec §9) and CVE-2013-2249 (a) and (b).
func TestScenario14AnonymousSession(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	writes := countWrites(t, db)
	st := newStore(t, dbd.Options{DB: db, CookieName: "session", CookieAttrs: "path=/", CookieRemove: true})

	// (a) the handler sets a=1: row (id, "a=1", 0), Set-Cookie: session=<id>;path=/
	h, _, _ := exchange(t, st, "", 0, func(s *session.Session) { s.Set("a", "1") })
	id1 := cookieID(t, h, "session", "path=/")
	if got, want := rows(t, db), []row{{id1, "a=1", 0}}; !equalRows(got, want) {
		t.Fatalf("(a) rows %v, want %v", got, want)
	}

	// (b) same cookie, no change: one SELECT, no write, no Set-Cookie; the
	// id cookie is removed from the request (SessionDBDCookieRemove).
	before := writes()
	h, s, r := exchange(t, st, "session="+id1+"; other=x", 0, nil)
	if v, _ := s.Get("a"); v != "1" || s.ID != id1 {
		t.Fatalf("(b) loaded a=%q id=%q", v, s.ID)
	}
	if len(h) != 0 {
		t.Fatalf("(b) response headers %v, want none", h)
	}
	if n := writes() - before; n != 0 {
		t.Fatalf("(b) %d write statements for an unchanged session", n)
	}
	if got := r.Header.Values("Cookie"); len(got) != 1 || got[0] != " other=x" {
		t.Fatalf("(b) request Cookie after load %q, want [\" other=x\"]", got)
	}

	// (c) a change: new id, row renamed, the old id loads nothing.
	h, _, _ = exchange(t, st, "session="+id1, 0, func(s *session.Session) { s.Set("b", "2") })
	id2 := cookieID(t, h, "session", "path=/")
	if id2 == id1 {
		t.Fatal("(c) changed session kept its id")
	}
	if got, want := rows(t, db), []row{{id2, "a=1&b=2", 0}}; !equalRows(got, want) {
		t.Fatalf("(c) rows %v, want %v", got, want)
	}
	_, s, _ = exchange(t, st, "session="+id1, 0, nil)
	if s.Len() != 0 || s.ID != "" {
		t.Fatalf("(c) old id still yields a session: %v %q", s.Keys(), s.ID)
	}

	// (d) emptying (deleting every key, as a SessionHeader "a=&b=" does):
	// the row is deleted and the browser gets a removal cookie.
	h, s, _ = exchange(t, st, "session="+id2, 0, func(s *session.Session) {
		for _, k := range s.Keys() {
			s.Delete(k)
		}
	})
	if got := h.Values("Set-Cookie"); len(got) != 1 || got[0] != "session=;Max-Age=0;path=/" {
		t.Fatalf("(d) Set-Cookie %q, want [session=;Max-Age=0;path=/]", got)
	}
	if got := rows(t, db); len(got) != 0 || s.ID != "" {
		t.Fatalf("(d) rows left %v, id %q", got, s.ID)
	}
}

func equalRows(a, b []row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// CVE-2013-2249 (c): an id the client made up is never adopted, and a
// cookie value that is not a UUID is never looked up (it could name a
// per-user row in the same table).
func TestClientChosenIDNotAdopted(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	if _, err := db.Exec(`insert into session (value, expiry, key) values ('secret=1', 0, 'alice')`); err != nil {
		t.Fatal(err)
	}
	st := newStore(t, dbd.Options{DB: db, CookieName: "session", CookieAttrs: "path=/"})
	for _, chosen := range []string{"11111111-2222-4333-8444-555555555555", "alice", "x"} {
		h, s, _ := exchange(t, st, "session="+chosen, 0, func(s *session.Session) {
			if _, ok := s.Get("secret"); ok {
				t.Errorf("cookie %q read another row", chosen)
			}
			s.Set("x", "1")
		})
		id := cookieID(t, h, "session", "path=/")
		if id == chosen || s.ID != id {
			t.Fatalf("cookie %q: issued id %q, session id %q", chosen, id, s.ID)
		}
		var n int
		db.Get(&n, `select count(*) from session where key = $1`, chosen)
		if chosen != "alice" && n != 0 {
			t.Fatalf("a row was created under the client's id %q", chosen)
		}
	}
}

// A row written by httpd with the manual's own statements is read, with an
// id in either case; expired rows are not.
func TestReadsRowWrittenByApache(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	for _, q := range []string{
		// insertsession as in the manual, with literal values
		`insert into session (value, expiry, key) values ('a=1&b=%3d', 0, '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d')`,
		`insert into session (value, expiry, key) values ('c=3', ` + itoa(nowµs+1) + `, '0A1B2C3D-4E5F-4A6B-8C7D-8E9F0A1B2C3E')`,
		`insert into session (value, expiry, key) values ('old=1', ` + itoa(nowµs) + `, '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3f')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st := newStore(t, dbd.Options{DB: db, CookieName: "session"})
	for _, tc := range []struct {
		id, want string
		found    bool
	}{
		{"0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d", "a=1&b=%3d", true},
		{"0A1B2C3D-4E5F-4A6B-8C7D-8E9F0A1B2C3E", "c=3", true},
		{"0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3f", "", false}, // expiry == now: expired
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "session="+tc.id)
		got, found, err := st.Load(r)
		enc, id := got.Encoded, got.ID
		if err != nil || enc != tc.want || found != tc.found || (found && id != tc.id) {
			t.Errorf("%s: Load = %q, %q, %v, %v; want %q found=%v", tc.id, enc, id, found, err, tc.want, tc.found)
		}
	}
}

func itoa(n int64) string { return formatInt(n) }

func formatInt(n int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// Default attributes, Max-Age, SessionDBDCookieName2 (read first, written
// as Set-Cookie2), and a SessionMaxAge refresh of an unchanged session that
// keeps the id.
func TestCookieLayoutAndRefresh(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	st := newStore(t, dbd.Options{DB: db, CookieName: "sid", CookieName2: "sid2", CookieAttrs2: "path=/x;"})
	h, s, _ := exchange(t, st, "", 300, func(s *session.Session) { s.Set("a", "1") })
	id := cookieID(t, h, "sid", "Max-Age=300;HttpOnly;Secure;Version=1")
	if got := h.Values("Set-Cookie2"); len(got) != 1 || got[0] != "sid2="+id+";Max-Age=300;path=/x;" {
		t.Fatalf("Set-Cookie2 %q", got)
	}
	wantExpiry := nowµs + 300e6
	if got := rows(t, db); len(got) != 1 || got[0].Expiry != wantExpiry || got[0].Value != "a=1&expiry="+itoa(wantExpiry) {
		t.Fatalf("rows %v", got)
	}
	_ = s
	// Refresh, unchanged: the id is read from sid2 (sid is ignored) and kept.
	h, s, _ = exchange(t, st, "sid=bogus; sid2="+id, 600, nil)
	if s.ID != id || cookieID(t, h, "sid", "Max-Age=600;HttpOnly;Secure;Version=1") != id {
		t.Fatalf("refresh changed the id: %q -> %q", id, s.ID)
	}
	if got := rows(t, db); len(got) != 1 || got[0].Key != id || got[0].Expiry != nowµs+600e6 {
		t.Fatalf("after refresh rows %v", got)
	}
}

// Duplicate id cookies with different values: no session, an error to log.
func TestConflictingCookies(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	st := newStore(t, dbd.Options{DB: db, CookieName: "s1", CookieRemove: true})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "s1=0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d; s1=0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3e")
	_, found, err := st.Load(r)
	if found || err == nil || errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("found=%v err=%v", found, err)
	}
	if r.Header.Get("Cookie") == "" {
		t.Fatal("conflicting cookies were removed")
	}
}

// Scenario 15: per-user sessions keyed by the authenticated user.
func TestScenario15PerUser(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	user := func(r *http.Request) string { u, _, _ := r.BasicAuth(); return u }
	st := newStore(t, dbd.Options{DB: db, PerUser: true, User: user})
	req := func(u string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		if u != "" {
			r.SetBasicAuth(u, "pw")
		}
		return r
	}
	save := func(u string, enc string) error {
		s := session.New()
		s.Set("k", "v")
		h := http.Header{}
		err := st.Save(req(u), h, s, enc)
		if len(h) != 0 {
			t.Errorf("per-user save wrote headers %v", h)
		}
		return err
	}
	if err := save("alice", "a=1"); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, db); !equalRows(got, []row{{"alice", "a=1", 0}}) {
		t.Fatalf("rows %v", got)
	}
	got, found, err := st.Load(req("alice"))
	enc, id := got.Encoded, got.ID
	if err != nil || !found || enc != "a=1" || id != "alice" {
		t.Fatalf("load alice: %q %q %v %v", enc, id, found, err)
	}
	if _, found, err := st.Load(req("bob")); found || err != nil {
		t.Fatalf("load bob: %v %v", found, err)
	}
	if _, found, err := st.Load(req("")); found || err != nil {
		t.Fatalf("load without user: %v %v", found, err)
	}
	if err := save("", "a=2"); err == nil || errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("save without user: %v", err)
	}
	// Emptying stores "" instead of deleting the row.
	if err := save("alice", ""); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, db); !equalRows(got, []row{{"alice", "", 0}}) {
		t.Fatalf("rows after emptying %v", got)
	}
	// A cookie is neither read nor needed.
	r := req("alice")
	r.Header.Set("Cookie", "session=x")
	if got, found, _ := st.Load(r); !found || got.Encoded != "" || r.Header.Get("Cookie") != "session=x" {
		t.Fatalf("load with cookie: %q %v", got.Encoded, found)
	}
}

// Concurrent requests carrying the same old id that all change the session
// (issue 15.8): none fails; of those that loaded the row, exactly one wins
// and only its row lives on; the others send no cookie, so the browser
// keeps the survivor's id and no stale copy remains a valid session. (A
// request that arrives after the rename finds no row and starts a new
// session, as for any unknown id.)
func TestConcurrentChangesOnOneID(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	db.SetMaxOpenConns(20)
	st := newStore(t, dbd.Options{DB: db, CookieName: "session"})
	h, _, _ := exchange(t, st, "", 0, func(s *session.Session) { s.Set("n", "start") })
	old := cookieID(t, h, "session", "HttpOnly;Secure;Version=1")

	const n = 50
	ids := make([]string, n)
	cookies := make([]string, n)
	loaded := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", "session="+old)
			got, found, err := st.Load(r)
			enc, id := got.Encoded, got.ID
			if err != nil {
				errs[i] = err
				return
			}
			s := session.New()
			if found {
				session.Decode(s, enc)
				s.ID = id
			}
			s.Set("n", formatInt(int64(i)))
			hh := http.Header{}
			errs[i] = st.Save(r, hh, s, session.Encode(s))
			ids[i], cookies[i], loaded[i] = s.ID, hh.Get("Set-Cookie"), found
		}()
	}
	wg.Wait()
	winner, fresh := -1, 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if !loaded[i] {
			fresh++
			continue
		}
		if cookies[i] == "" {
			continue
		}
		if winner >= 0 {
			t.Fatalf("requests %d and %d both set a cookie (%q, %q)", winner, i, cookies[winner], cookies[i])
		}
		winner = i
		if ids[i] == old || cookies[i] != "session="+ids[i]+";HttpOnly;Secure;Version=1" {
			t.Fatalf("request %d: id %q, Set-Cookie %q", i, ids[i], cookies[i])
		}
	}
	if winner < 0 {
		t.Fatal("no request saved the session")
	}
	got := rows(t, db)
	if len(got) != 1+fresh {
		t.Fatalf("%d rows, want only the survivor's and %d new sessions'", len(got), fresh)
	}
	var v string
	if err := db.Get(&v, `select value from session where key = $1`, ids[winner]); err != nil || v != "n="+formatInt(int64(winner)) {
		t.Fatalf("survivor row %q: %q %v", ids[winner], v, err)
	}
}

// A database that cannot be reached is reported as session.ErrUnavailable.
func TestDatabaseDownIsUnavailable(t *testing.T) {
	t.Parallel()
	bogus, err := sqlx.Open("postgres", "host=127.0.0.1 port=1 user=x dbname=x sslmode=disable connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer bogus.Close()
	closed := migratedDB(t)
	closed.Close()
	for name, db := range map[string]*sqlx.DB{"refused": bogus, "closed pool": closed} {
		for _, perUser := range []bool{false, true} {
			opts := dbd.Options{DB: db, CookieName: "session", QueryTimeout: 3 * time.Second}
			if perUser {
				opts = dbd.Options{DB: db, PerUser: true, User: func(*http.Request) string { return "alice" }}
			}
			st := newStore(t, opts)
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", "session=0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d")
			if _, _, err := st.Load(r); !errors.Is(err, session.ErrUnavailable) {
				t.Errorf("%s perUser=%v: Load: %v", name, perUser, err)
			}
			s := session.New()
			s.Set("a", "1")
			if err := st.Save(r, http.Header{}, s, "a=1"); !errors.Is(err, session.ErrUnavailable) {
				t.Errorf("%s perUser=%v: Save: %v", name, perUser, err)
			}
			if _, err := st.Cleanup(context.Background(), now); !errors.Is(err, session.ErrUnavailable) {
				t.Errorf("%s: Cleanup: %v", name, err)
			}
		}
	}
}

func TestCleanupRemovesOnlyExpiredRows(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	for _, q := range []string{
		`insert into session values ('never', 'a=1', 0)`,
		`insert into session values ('past', 'a=1', ` + itoa(nowµs-1) + `)`,
		`insert into session values ('now', 'a=1', ` + itoa(nowµs) + `)`,
		`insert into session values ('future', 'a=1', ` + itoa(nowµs+1) + `)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st := newStore(t, dbd.Options{DB: db, CookieName: "session"})
	n, err := st.Cleanup(context.Background(), now)
	if err != nil || n != 1 {
		t.Fatalf("Cleanup = %d, %v; want 1", n, err)
	}
	var keys []string
	db.Select(&keys, `select key from session order by key`)
	if strings.Join(keys, ",") != "future,never,now" {
		t.Fatalf("left %v", keys)
	}

	// RunCleanup runs at once and stops with its context.
	db.Exec(`insert into session values ('past2', 'a=1', 1)`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { st.RunCleanup(ctx, time.Hour, slog.New(slog.DiscardHandler)); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var c int
		db.Get(&c, `select count(*) from session where key = 'past2'`)
		if c == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("RunCleanup did not remove the expired row")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunCleanup did not stop")
	}
}

// Statements given the DBDPrepareSQL way, with apr_dbd placeholders, on a
// table of another shape.
func TestCustomStatements(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	if _, err := db.Exec(`create table "Sess" (id text primary key, data text, exp bigint not null, note text default '100%')`); err != nil {
		t.Fatal(err)
	}
	st := newStore(t, dbd.Options{DB: db, CookieName: "session", Statements: dbd.Statements{
		Select:  `select data from "Sess" where id = %s and (exp = 0 or exp > %lld) and note like '100%%'`,
		Update:  `update "Sess" set data = %s, exp = %lld, id = %s where id = %s`,
		Insert:  `insert into "Sess" (data, exp, id) values (%s, %lld, %s)`,
		Delete:  `delete from "Sess" where id = %s`,
		Cleanup: `delete from "Sess" where exp != 0 and exp < %lld`,
	}})
	h, _, _ := exchange(t, st, "", 60, func(s *session.Session) { s.Set("a", "1") })
	id1 := cookieID(t, h, "session", "Max-Age=60;HttpOnly;Secure;Version=1")
	h, s, _ := exchange(t, st, "session="+id1, 0, func(s *session.Session) { s.Set("b", "2") })
	id2 := cookieID(t, h, "session", "HttpOnly;Secure;Version=1")
	if v, _ := s.Get("a"); v != "1" || id2 == id1 {
		t.Fatalf("custom statements: a=%q ids %q %q", v, id1, id2)
	}
	var data string
	if err := db.Get(&data, `select data from "Sess" where id = $1`, id2); err != nil || !strings.HasPrefix(data, "a=1&b=2") {
		t.Fatalf("row %q %v", data, err)
	}
	if n, err := st.Cleanup(context.Background(), now.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("cleanup %d %v", n, err)
	}

	// Too many parameters, or an unknown placeholder, is a configuration error.
	for _, bad := range []dbd.Statements{{Delete: "delete from s where k = %s or k = %s"}, {Select: "select %q"}} {
		if _, err := dbd.New(dbd.Options{DB: db, CookieName: "s", Statements: bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestNewNeedsAKey(t *testing.T) {
	t.Parallel()
	db := &sqlx.DB{}
	for _, opts := range []dbd.Options{{}, {DB: db}, {DB: db, PerUser: true}} {
		if _, err := dbd.New(opts); err == nil {
			t.Errorf("%+v accepted", opts)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	db := migratedDB(b)
	st := newStore(b, dbd.Options{DB: db, CookieName: "session"})
	id := "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
	if _, err := db.Exec(`insert into session values ($1, 'user=alice&role=admin', 0)`, id); err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		r.Header.Set("Cookie", "session="+id)
		if _, found, err := st.Load(r); !found || err != nil {
			b.Fatal(found, err)
		}
	}
}

// An unchanged session refreshed (SessionMaxAge) after a concurrent request
// renamed its row writes nothing: the old id is never brought back, no
// second copy is made, and no cookie replaces the survivor's.
func TestRefreshAfterRenameWritesNothing(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	st := newStore(t, dbd.Options{DB: db, CookieName: "session"})
	h, _, _ := exchange(t, st, "", 0, func(s *session.Session) { s.Set("a", "1") })
	id1 := cookieID(t, h, "session", "HttpOnly;Secure;Version=1")

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "session="+id1)
	got, found, err := st.Load(r)
	enc, id := got.Encoded, got.ID
	if err != nil || !found {
		t.Fatal(found, err)
	}
	// meanwhile another request changes the session
	h, _, _ = exchange(t, st, "session="+id1, 0, func(s *session.Session) { s.Set("a", "2") })
	id2 := cookieID(t, h, "session", "HttpOnly;Secure;Version=1")

	s := session.New()
	session.Decode(s, enc)
	s.ID, s.MaxAge, s.Expiry = id, 60, nowµs+60e6
	h = http.Header{}
	if err := st.Save(r, h, s, session.Encode(s)); err != nil {
		t.Fatal(err)
	}
	if c := h.Values("Set-Cookie"); len(c) != 0 {
		t.Fatalf("Set-Cookie %q after the row was renamed", c)
	}
	var keys []string
	db.Select(&keys, `select key from session`)
	if len(keys) != 1 || keys[0] != id2 {
		t.Fatalf("rows %v: want the row of %s only", keys, id2)
	}
}

// A request in flight when its session is logged out (issue 15.6) saves
// nothing when it ends: the logged-out session does not come back.
func TestSaveAfterDeleteResurrectsNothing(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	st := newStore(t, dbd.Options{DB: db, CookieName: "session"})
	h, _, _ := exchange(t, st, "", 0, func(s *session.Session) { s.Set("site-user", "alice"); s.Set("site-pw", "pw") })
	id1 := cookieID(t, h, "session", "HttpOnly;Secure;Version=1")

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "session="+id1)
	got, _, err := st.Load(r)
	enc, id := got.Encoded, got.ID
	if err != nil {
		t.Fatal(err)
	}
	// the logout empties the session: its row is deleted
	exchange(t, st, "session="+id1, 0, func(s *session.Session) { s.Clear() })
	s := session.New()
	session.Decode(s, enc)
	s.ID = id
	s.Set("x", "slow request")
	h = http.Header{}
	if err := st.Save(r, h, s, session.Encode(s)); err != nil {
		t.Fatal(err)
	}
	if c := h.Values("Set-Cookie"); len(c) != 0 {
		t.Fatalf("Set-Cookie %q for a logged-out session", c)
	}
	if got := rows(t, db); len(got) != 0 {
		t.Fatalf("rows %v after logout", got)
	}
}
