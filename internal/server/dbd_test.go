package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/server"
	"github.com/websession/websession/internal/site"
	"github.com/websession/websession/internal/users"
)

// migratedDB is a new database with websession's tables.
func migratedDB(t *testing.T) *sqlx.DB {
	t.Helper()
	db := pgtest.Open(t)
	if err := database.Migrate(t.Context(), db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	return db
}

func newServer(t *testing.T, conf string, deps server.Deps) (*server.Server, error) {
	t.Helper()
	cfg, err := config.Parse("db.conf", []byte(conf), config.Options{ServerRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(t.Context(), cfg, deps)
	if srv != nil {
		t.Cleanup(func() { srv.Close() })
	}
	return srv, err
}

// TestBadPrepareSQLStopsStartup: a statement the database refuses is a
// start-up error at its DBDPrepareSQL line, not a 503 on the first request.
func TestBadPrepareSQLStopsStartup(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	tests := []struct{ conf, want string }{
		{"DBDriver pgsql\nDBDPrepareSQL \"select value from sessoin where key = %s\" selectsession\nSession On\nSessionDBDCookieName s path=/\nSessionDBDCleanupInterval 0\n",
			`db.conf:2: DBDPrepareSQL: statement "selectsession" (the select statement of server configuration)`},
		{"DBDriver pgsql\nDBDPrepareSQL \"delete from sessoin where expiry < %lld\" cleansession\nSession On\nSessionDBDCookieName s path=/\n",
			`db.conf:2: DBDPrepareSQL: statement "cleansession"`},
	}
	for _, tt := range tests {
		_, err := newServer(t, tt.conf, server.Deps{DB: db})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), "sessoin") {
			t.Errorf("error %v, want it to start with %q", err, tt.want)
		}
	}
}

// TestBuiltInStatementsNeedTheTables: without the migrations the built-in
// statements fail at start-up, naming the location and the fix.
func TestBuiltInStatementsNeedTheTables(t *testing.T) {
	t.Parallel()
	_, err := newServer(t, "DBDriver pgsql\n<Location /app>\nSession On\nSessionDBDCookieName s path=/\n</Location>\n", server.Deps{DB: pgtest.Open(t)})
	if err == nil || !strings.HasPrefix(err.Error(), "db.conf: <Location /app>: the built-in select statement") || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("error %v", err)
	}
}

// TestOwnStatementsNeedACleanupStatement: session statements of one's own
// may use another table, so the built-in cleanup (table session) is
// refused unless a cleansession statement says what to clean.
func TestOwnStatementsNeedACleanupStatement(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	conf := "DBDriver pgsql\nDBDPrepareSQL \"select value from session where key = %s\" selectsession\nSession On\nSessionDBDCookieName s path=/\n"
	_, err := newServer(t, conf, server.Deps{DB: db})
	if err == nil || !strings.Contains(err.Error(), "SessionDBDCleanupInterval") || !strings.Contains(err.Error(), "cleansession") {
		t.Fatalf("error %v, want one asking for a cleansession statement", err)
	}
	if _, err := newServer(t, conf+"SessionDBDCleanupInterval 0\n", server.Deps{DB: db}); err != nil {
		t.Fatalf("with the cleanup off: %v", err)
	}
}

// TestCleanupUsesTheConfiguredTable: the server's cleanup loop runs the
// configured cleansession statement, on its table, and stops with Serve.
func TestCleanupUsesTheConfiguredTable(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	ctx := t.Context()
	for _, q := range []string{
		"create table websess (key text primary key, value text not null, expiry bigint not null default 0)",
		"insert into websess values ('expired', 'a=1', 1), ('live', 'a=2', 0)",
		"insert into session values ('expired-elsewhere', 'a=3', 1)",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conf := `Listen 127.0.0.1:0
DBDriver pgsql
DBDPrepareSQL "select value from websess where key = %s and (expiry = 0 or expiry > %lld)" selectsession
DBDPrepareSQL "update websess set value = %s, expiry = %lld, key = %s where key = %s" updatesession
DBDPrepareSQL "insert into websess (value, expiry, key) values (%s, %lld, %s)" insertsession
DBDPrepareSQL "delete from websess where key = %s" deletesession
DBDPrepareSQL "delete from websess where expiry != 0 and expiry < %lld" cleansession
SessionDBDCleanupInterval 3600
Session On
SessionDBDCookieName s path=/
`
	srv, err := newServer(t, conf, server.Deps{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx, listen(t)) }()
	count := func(q string) int {
		var n int
		if err := db.GetContext(ctx, &n, q); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(5 * time.Second)
	for count("select count(*) from websess where key = 'expired'") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the expired row in the configured table was not cleaned")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if n := count("select count(*) from websess where key = 'live'"); n != 1 {
		t.Errorf("the live row is gone")
	}
	if n := count("select count(*) from session"); n != 1 {
		t.Errorf("the cleanup touched table session, which this configuration does not use")
	}
}

// TestOutageShowsTheSitePageOnce: when the session database goes away, the
// answer is the site's templated 503 page (not a bare page from the
// session package) and the outage is one log line, not one per layer.
func TestOutageShowsTheSitePageOnce(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	conf := "Listen 127.0.0.1:0\nDBDriver pgsql\nSession On\nSessionDBDCookieName s path=/\nSessionCryptoPassphrase a-long-enough-test-passphrase\n" +
		"<Location /private>\nAuthType form\nAuthName site\nAuthUserFile users\nRequire valid-user\n</Location>\n"
	cfg, err := config.Parse("db.conf", []byte(conf), config.Options{ServerRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	newSite := func(d server.SiteDeps) (http.Handler, error) {
		return site.New(site.Options{AuthName: "site", Fail: d.Fail, Logger: d.Logger, Throttle: d.Throttle})
	}
	srv, err := server.New(t.Context(), cfg, server.Deps{DB: db, Site: newSite, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	pgtest.TakeDown(t, db)
	// An id cookie makes the store look the session up before the handler
	// (SessionDBDCookieRemove), and at /private authentication needs it.
	for _, path := range []string{"/", "/private/"} {
		before := len(logs.lines("level="))
		res := do(t, "GET", ts.URL+path, map[string]string{"Cookie": "s=" + "0b4a5d47-34f3-4a56-9d0a-2f9c1e0c7a11"})
		if res.status != http.StatusServiceUnavailable || !strings.Contains(res.body, `href="/static/site.css"`) || res.header.Get("Retry-After") == "" {
			t.Errorf("%s: %d %q, want the site's templated 503 page with Retry-After", path, res.status, res.body)
		}
		if got := logs.lines("level=")[before:]; len(got) != 1 || !strings.Contains(got[0], "session store unavailable") {
			t.Errorf("%s: want one log line for the outage, got %q", path, got)
		}
	}
}

// TestPerUserSessionWithFormLogin is scenario 15 with form login through a
// real server: the login handler's session is saved in the row keyed by
// the user it authenticated on the same request (the store used to see the
// request from before authentication: "no authenticated user").
func TestPerUserSessionWithFormLogin(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	root := t.TempDir()
	st, err := users.OpenFile(filepath.Join(root, "users"), users.Options{Cost: users.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple"
	if err := st.Add(t.Context(), "alice", pw); err != nil {
		t.Fatal(err)
	}
	st.Close()
	conf := `DBDriver pgsql
Session On
SessionDBDPerUser On
SessionCryptoPassphrase a-long-enough-test-passphrase
<Location /login>
    SetHandler form-login-handler
    AuthType form
    AuthName site
    AuthUserFile users
</Location>
`
	cfg, err := config.Parse("db.conf", []byte(conf), config.Options{ServerRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	srv, err := server.New(t.Context(), cfg, server.Deps{DB: db, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	res, err := http.PostForm(ts.URL+"/login", url.Values{"httpd_username": {"alice"}, "httpd_password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("login: %d, Set-Cookie %q; want 200 and no cookie (the row is the user's)", res.StatusCode, res.Header.Values("Set-Cookie"))
	}
	var value string
	if err := db.Get(&value, "SELECT value FROM session WHERE key = 'alice'"); err != nil {
		t.Fatalf("no session row for alice: %v\nlog:\n%s", err, logs)
	}
	if value == "" || strings.Contains(value, pw) {
		t.Errorf("row value %q, want the encrypted session", value)
	}
	if strings.Contains(logs.String(), "not saved") {
		t.Errorf("the session was not saved:\n%s", logs)
	}
}
