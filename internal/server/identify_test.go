package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/metrics"
	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/server"
	"github.com/websession/websession/internal/site"
	"github.com/websession/websession/internal/users"
)

// siteConf is the default configuration's layout on a plain cookie, so
// that a test can plant credentials in the session.
const siteConf = `Session On
SessionCookieName session path=/
<Location /login>
    SetHandler form-login-handler
    AuthType form
    AuthName site
    AuthFormAllowPlainCookie On
    AuthUserFile users
</Location>
<Location /logout>
    SetHandler form-logout-handler
    AuthName site
    AuthFormAllowPlainCookie On
</Location>
<Location /private>
    AuthType form
    AuthName site
    AuthFormAllowPlainCookie On
    AuthUserFile users
    ErrorDocument 401 /login
    Require valid-user
</Location>
`

// siteServer serves conf with the reference site, users alice (password
// pw) in ServerRoot/users, metrics, and db (nil: none) as its database.
func siteServer(t *testing.T, conf, pw string, db *sqlx.DB) (string, *metrics.Metrics, *logBuffer) {
	t.Helper()
	root := t.TempDir()
	st, err := users.OpenFile(filepath.Join(root, "users"), users.Options{Cost: users.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Add(t.Context(), "alice", pw); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfg, err := config.Parse("site.conf", []byte(conf), config.Options{ServerRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	logs := &logBuffer{}
	newSite := func(d server.SiteDeps) (http.Handler, error) {
		return site.New(site.Options{AuthName: d.Login.Auth.Name, Users: d.Users, Throttle: d.Throttle, Logins: d.Logins, Fail: d.Fail, Logger: d.Logger})
	}
	srv, err := server.New(t.Context(), cfg, server.Deps{DB: db, Site: newSite, Metrics: m, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL, m, logs
}

// hashes is how many password hashes the user stores have computed.
func hashes(t *testing.T, m *metrics.Metrics) uint64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, f := range families {
		if f.GetName() == "websession_password_hash_seconds" {
			for _, s := range f.GetMetric() {
				n += s.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}

// TestCredentialsCheckedOncePerRequest: who is logged in is decided once
// per request, by authentication, and the site's pages show that answer.
// A protected page whose session holds a wrong password answers with its
// ErrorDocument 401, the site's login page: one password hash, Protect's
// (the site used to check the credentials again to draw its navigation).
// Outside protected locations the site's pages show the user Identify
// found, again with one check.
func TestCredentialsCheckedOncePerRequest(t *testing.T) {
	t.Parallel()
	const pw = "correct horse battery staple"
	base, m, _ := siteServer(t, siteConf, pw, nil)

	before := hashes(t, m)
	res := do(t, "GET", base+"/private/", map[string]string{"Cookie": "session=site-user=alice&site-pw=wrong+password"})
	if res.status != http.StatusUnauthorized || !strings.Contains(res.body, `name="httpd_password"`) || strings.Contains(res.body, "Logged in as") {
		t.Fatalf("GET /private/ with a wrong password: %d %.300q, want the login page with nobody logged in", res.status, res.body)
	}
	if got := hashes(t, m) - before; got != 1 {
		t.Errorf("GET /private/ with a wrong password computed %d password hashes, want 1", got)
	}

	before = hashes(t, m)
	res = do(t, "GET", base+"/", map[string]string{"Cookie": "session=site-user=alice&site-pw=correct+horse+battery+staple"})
	if res.status != http.StatusOK || !strings.Contains(res.body, "Logged in as <strong>alice</strong>") {
		t.Fatalf("GET / with alice's password: %d %.300q, want alice logged in", res.status, res.body)
	}
	if got := hashes(t, m) - before; got != 1 {
		t.Errorf("GET / with alice's password computed %d password hashes, want 1", got)
	}
	res = do(t, "GET", base+"/", map[string]string{"Cookie": "session=site-user=alice&site-pw=wrong+password"})
	if res.status != http.StatusOK || strings.Contains(res.body, "Logged in as") {
		t.Errorf("GET / with a wrong password: %d, want nobody logged in", res.status)
	}
}

// TestBusyIsOneAnswer: when the user stores refuse another password hash
// (users.ErrBusy, a login flood), the site reports it and the server's
// one failure renderer answers: the site's templated 503 with the busy
// message and users.BusyRetryAfter, and one log line, the server's (the
// site used to render and log a page of its own).
func TestBusyIsOneAnswer(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	hashes := users.NewHashLimiter(users.HashLimiterOptions{Slots: 1, Queue: -1})
	busy, err := users.OpenFile(filepath.Join(root, "busy"), users.Options{Cost: users.MinCost, Hashes: hashes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	release, err := hashes.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	cfg, err := config.Parse("site.conf", []byte(siteConf), config.Options{ServerRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	newSite := func(d server.SiteDeps) (http.Handler, error) {
		return site.New(site.Options{AuthName: "site", Users: busy, Fail: d.Fail, Logger: d.Logger})
	}
	srv, err := server.New(t.Context(), cfg, server.Deps{Site: newSite, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	res, err := http.PostForm(ts.URL+"/register", url.Values{"username": {"bob"}, "password": {"a long enough password"}, "confirm": {"a long enough password"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(b)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "2" ||
		!strings.Contains(body, `href="/static/site.css"`) || !strings.Contains(body, "checking too many passwords") {
		t.Errorf("register while busy: %d, Retry-After %q, body %.400q; want the site's 503 page saying it is busy, Retry-After 2", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	if got := logs.lines("level="); len(got) != 1 || !strings.Contains(got[0], `msg="password checks saturated"`) || !strings.Contains(got[0], "path=/register") {
		t.Errorf("want one log line from the server's failure renderer, got %q", got)
	}
}

// TestRequireIPRefusalIsTheSitePage: an address that Require ip refuses
// gets the server's 403 page, in the site's look when there is a site,
// like every other refusal (it used to be a bare "Forbidden").
func TestRequireIPRefusalIsTheSitePage(t *testing.T) {
	t.Parallel()
	conf := siteConf + "<Location /inside>\n    Require ip 192.0.2.1\n</Location>\n"
	base, _, _ := siteServer(t, conf, "correct horse battery staple", nil)
	res := do(t, "GET", base+"/inside", nil)
	if res.status != http.StatusForbidden || !strings.Contains(res.body, `href="/static/site.css"`) || !strings.Contains(res.body, "Request refused") {
		t.Errorf("GET /inside from 127.0.0.1: %d %.300q, want the site's 403 page", res.status, res.body)
	}
}

// TestThrottleOutageIsOneAnswer: when the login throttle's counters in
// PostgreSQL cannot be reached, no password is checked and the login is
// answered by the server's one failure renderer: the site's 503 page
// saying logins cannot be checked, one log line (authform answered with
// a bare page of its own before).
func TestThrottleOutageIsOneAnswer(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	if err := database.Migrate(t.Context(), db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	base, _, logs := siteServer(t, siteConf, "a password", db)
	db.Close() // the throttle's database is gone

	res, err := http.PostForm(base+"/login", url.Values{"httpd_username": {"bob"}, "httpd_password": {"a password"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(b)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "5" ||
		!strings.Contains(body, `href="/static/site.css"`) || !strings.Contains(body, "Logins cannot be checked right now") {
		t.Errorf("login with the throttle down: %d, Retry-After %q, body %.400q; want the site's 503 page, Retry-After 5", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	if got := logs.lines("level="); len(got) != 1 || !strings.Contains(got[0], `msg="login throttle unavailable"`) || !strings.Contains(got[0], "path=/login") {
		t.Errorf("want one log line from the server's failure renderer, got %q", got)
	}
}
