package site_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
	"github.com/websession/websession/internal/session/sessioncrypto"
	"github.com/websession/websession/internal/site"
	"github.com/websession/websession/internal/users"
)

const (
	cookieName  = "session"
	cookieAttrs = "path=/;HttpOnly;SameSite=Lax"
)

// testSite is the site behind the real session middleware (encrypted
// cookie store, SessionHeader), authform's login and logout handlers and
// protected locations, laid out as configs/default.conf does.
type testSite struct {
	t      *testing.T
	srv    *httptest.Server
	users  users.Store
	codec  *sessioncrypto.Codec
	logbuf *bytes.Buffer
}

type siteConfig struct {
	users      users.Store // nil: a FileStore in t.TempDir()
	noUsers    bool        // site.Options.Users nil
	plain      bool        // no crypto
	noHeader   bool        // SessionHeader ""
	store      session.Store
	skipAuthMW bool
	tls        bool // served over TLS: the cookie gets its __Host- name
}

func newSite(t *testing.T, cfg siteConfig) *testSite {
	t.Helper()
	ts := &testSite{t: t, logbuf: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(ts.logbuf, nil))
	ts.users = cfg.users
	if ts.users == nil {
		fs, err := users.OpenFile(filepath.Join(t.TempDir(), "users.htpasswd"), users.Options{Cost: 10, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		ts.users = fs
	}
	var store session.Store = cfg.store
	if store == nil {
		cs, err := cookie.NewStore(cookie.Options{Name: cookieName, Attrs: cookieAttrs})
		if err != nil {
			t.Fatal(err)
		}
		store = cs
	}
	scfg := session.Config{Store: store, MaxAge: 3600, Header: "X-Replace-Session", Logger: logger}
	if !cfg.plain {
		codec, err := sessioncrypto.New([]string{"secret"}, "", sessioncrypto.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ts.codec = codec
		scfg.Cipher = codec
	}
	mw, err := session.Middleware(scfg)
	if err != nil {
		t.Fatal(err)
	}
	opts := site.Options{
		AuthName:      "site",
		Users:         ts.users,
		SessionHeader: "X-Replace-Session",
		StoreName:     `encrypted cookie "session"`,
		CookieName:    cookieName,
		CookieAttrs:   cookieAttrs,
		Logger:        logger,
	}
	if cfg.noUsers {
		opts.Users = nil
	}
	if cfg.noHeader {
		opts.SessionHeader = ""
	}
	pages, err := site.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	providers := []users.Store{ts.users}
	login, err := authform.LoginHandler(authform.Options{AuthName: "site", Providers: providers,
		LoginSuccessLocation: "/private/", LoginRequiredLocation: "/login?failed=1"})
	if err != nil {
		t.Fatal(err)
	}
	logout, err := authform.LogoutHandler(authform.Options{AuthName: "site", LogoutLocation: "/?loggedout=1"})
	if err != nil {
		t.Fatal(err)
	}
	protect, err := authform.Protect(authform.Options{AuthName: "site", Providers: providers,
		Require: authform.Require{ValidUser: true}, LoginRequiredLocation: "/login?next=%{REQUEST_URI}"})
	if err != nil {
		t.Fatal(err)
	}
	// The site shows whom authentication decided: Protect on protected
	// pages, Identify on the others, as the server wires it.
	identify, err := authform.Identify(authform.Options{AuthName: "site", Providers: providers})
	if err != nil {
		t.Fatal(err)
	}
	pages = identify(pages)
	protected := protect(pages)
	route := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/login" && r.Method == http.MethodPost:
			login.ServeHTTP(w, r)
		case p == "/logout" && r.Method == http.MethodPost:
			logout.ServeHTTP(w, r)
		case !cfg.skipAuthMW && (p == "/password" || p == "/private" || strings.HasPrefix(p, "/private/")):
			protected.ServeHTTP(w, r)
		default:
			pages.ServeHTTP(w, r)
		}
	})
	ts.srv = httptest.NewUnstartedServer(mw(route))
	if cfg.tls {
		ts.srv.StartTLS()
	} else {
		ts.srv.Start()
	}
	t.Cleanup(ts.srv.Close)
	return ts
}

// client is one browser: a cookie jar, redirects not followed.
type client struct {
	ts *testSite
	c  *http.Client
}

func (ts *testSite) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	return &client{ts: ts, c: &http.Client{
		Transport:     ts.srv.Client().Transport, // trusts the TLS server's certificate
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(req *http.Request) response {
	c.ts.t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		c.ts.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.ts.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

func (c *client) get(path string) response {
	c.ts.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.ts.srv.URL+path, nil)
	if err != nil {
		c.ts.t.Fatal(err)
	}
	return c.do(req)
}

func (c *client) post(path string, form url.Values) response {
	c.ts.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.ts.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.ts.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// sessionCookie returns the raw session cookie the jar holds.
func (c *client) sessionCookie() string {
	u, _ := url.Parse(c.ts.srv.URL)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == cookieName || ck.Name == cookie.HostPrefix+cookieName {
			return ck.Value
		}
	}
	return ""
}

// session decrypts and decodes the session the jar holds.
func (c *client) session() *session.Session {
	c.ts.t.Helper()
	s := session.New()
	raw := c.sessionCookie()
	if raw == "" {
		return s
	}
	if c.ts.codec != nil {
		plain, err := c.ts.codec.Decrypt(raw)
		if err != nil {
			c.ts.t.Fatalf("session cookie does not decrypt: %v", err)
		}
		raw = plain
	}
	session.Decode(s, raw)
	return s
}

func (c *client) register(name, pw string) response {
	c.ts.t.Helper()
	return c.post("/register", url.Values{"username": {name}, "password": {pw}, "confirm": {pw}})
}

func wantStatus(t *testing.T, r response, status int, location string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body:\n%s", r.status, status, r.body)
	}
	if location != "" && r.header.Get("Location") != location {
		t.Fatalf("Location %q, want %q", r.header.Get("Location"), location)
	}
}

func wantBody(t *testing.T, r response, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.body, w) {
			t.Errorf("body lacks %q:\n%s", w, r.body)
		}
	}
}

func wantNotBody(t *testing.T, r response, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(r.body, w) {
			t.Errorf("body contains %q:\n%s", w, r.body)
		}
	}
}

func TestRegisterLogsIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		noHeader bool
	}{{"SessionHeader", false}, {"session.Load", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newSite(t, siteConfig{noHeader: tc.noHeader})
			c := ts.client()
			r := c.register("alice", "correct horse")
			wantStatus(t, r, http.StatusSeeOther, "/private/")
			if h := r.header.Get("X-Replace-Session"); h != "" {
				t.Errorf("SessionHeader reached the client: %q", h)
			}
			if n := len(r.header.Values("Set-Cookie")); n != 1 {
				t.Errorf("%d Set-Cookie headers, want 1", n)
			}
			s := c.session()
			if u, _ := s.Get("site-user"); u != "alice" {
				t.Errorf("site-user = %q", u)
			}
			if pw, _ := s.Get("site-pw"); pw != "correct horse" {
				t.Errorf("site-pw = %q", pw)
			}
			if res, err := ts.users.Check(context.Background(), "alice", "correct horse"); err != nil || res != users.Granted {
				t.Errorf("Check = %v, %v", res, err)
			}
			r = c.get("/private/")
			wantStatus(t, r, http.StatusOK, "")
			wantBody(t, r, "Hello, alice", "Logged in as <strong>alice</strong>", `action="/logout"`)
		})
	}
}

// Keys and values are escaped as Apache escapes them, so awkward
// characters survive the trip through the SessionHeader.
func TestRegisterEscapesSessionHeader(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{})
	c := ts.client()
	// Registered names are stored in their canonical (case-mapped) form.
	typed, name, pw := "Zoë & co=1+2", "zoë & co=1+2", "p&ss=word+%20 ü"
	wantStatus(t, c.register(typed, pw), http.StatusSeeOther, "/private/")
	s := c.session()
	if u, _ := s.Get("site-user"); u != name {
		t.Errorf("site-user = %q, want %q", u, name)
	}
	if got, _ := s.Get("site-pw"); got != pw {
		t.Errorf("site-pw = %q, want %q", got, pw)
	}
	r := c.get("/private/")
	wantStatus(t, r, http.StatusOK, "")
	wantBody(t, r, "Hello, zoë &amp; co=1&#43;2")
}

func TestRegisterBadInput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("n", 65)
	pw73 := strings.Repeat("p", 73)
	tests := []struct {
		name              string
		user, pw, confirm string
		field, msg        string
		keep              string // value expected back in the form
	}{
		{"empty", "", "", "", "username", "Enter a user name.", ""},
		{"empty password", "bob", "", "", "password", "Enter a password.", `value="bob"`},
		{"mismatch", "bob", "long enough 1", "long enough 2", "confirm", "The two passwords are not the same.", `value="bob"`},
		{"short password", "bob", "short", "short", "password", "The password is too short", `value="bob"`},
		{"73-byte password", "bob", pw73, pw73, "password", "The password is too long: at most 72 bytes", `value="bob"`},
		{"overlong name", long, "long enough 1", "long enough 1", "username", "The user name is too long", `value="` + long + `"`},
		{"colon", "a:b", "long enough 1", "long enough 1", "username", "colon", `value="a:b"`},
		{"control character", "a\tb", "long enough 1", "long enough 1", "username", "control characters", ""},
		{"surrounding space", " bob", "long enough 1", "long enough 1", "username", "cannot begin or end with a space", ""},
		{"html name kept escaped", "<b>x</b>", "short", "short", "password", "too short", `value="&lt;b&gt;x&lt;/b&gt;"`},
	}
	ts := newSite(t, siteConfig{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ts.client()
			r := c.post("/register", url.Values{"username": {tc.user}, "password": {tc.pw}, "confirm": {tc.confirm}})
			wantStatus(t, r, http.StatusUnprocessableEntity, "")
			wantBody(t, r, `id="`+tc.field+`-error"`, tc.msg, `aria-invalid="true"`, tc.keep)
			if !strings.Contains(r.body, `aria-describedby="`+tc.field+`-error"`) && !strings.Contains(r.body, tc.field+`-error"`) {
				t.Errorf("field %s not described by its error", tc.field)
			}
			if tc.pw != "" {
				wantNotBody(t, r, `value="`+tc.pw+`"`)
			}
			wantNotBody(t, r, "<b>x</b>")
			if r.header.Get("Cache-Control") == "" || !strings.Contains(strings.Join(r.header.Values("Cache-Control"), ","), "no-store") {
				t.Errorf("Cache-Control = %q, want no-store", r.header.Values("Cache-Control"))
			}
			if u, _ := c.session().Get("site-user"); u != "" {
				t.Errorf("failed registration logged in %q", u)
			}
			if tc.user != "" {
				if ok, _ := ts.users.Exists(context.Background(), tc.user); ok {
					t.Errorf("user %q was created", tc.user)
				}
			}
		})
	}
}

func TestRegisterTaken(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{})
	wantStatus(t, ts.client().register("alice", "first password"), http.StatusSeeOther, "/private/")
	c := ts.client()
	r := c.register("alice", "second password")
	wantStatus(t, r, http.StatusUnprocessableEntity, "")
	wantBody(t, r, "That user name is taken.", `id="username-error"`)
	if res, _ := ts.users.Check(context.Background(), "alice", "first password"); res != users.Granted {
		t.Error("the first password no longer works")
	}
}

func TestUnicodeAndHTMLNames(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{})
	for _, name := range []string{"zoë 東京", "<script>alert(1)</script>", `"'&amp;`} {
		t.Run(name, func(t *testing.T) {
			c := ts.client()
			wantStatus(t, c.register(name, "long enough 1"), http.StatusSeeOther, "/private/")
			for _, page := range []string{"/private/", "/", "/session", "/password"} {
				r := c.get(page)
				wantStatus(t, r, http.StatusOK, "")
				if strings.ContainsAny(name, `<"'&`) {
					wantNotBody(t, r, name)
				} else {
					wantBody(t, r, name)
				}
			}
		})
	}
}

func TestOversizedBody(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{})
	c := ts.client()
	big := strings.Repeat("x", 70<<10)
	r := c.post("/register", url.Values{"username": {big}, "password": {"long enough 1"}, "confirm": {"long enough 1"}})
	wantStatus(t, r, http.StatusRequestEntityTooLarge, "")
	wantBody(t, r, "larger than this site accepts")
	wantNotBody(t, r, "http: request body too large")
}

func TestPasswordChange(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{})
	alice := ts.client()
	wantStatus(t, alice.register("alice", "old password"), http.StatusSeeOther, "/private/")
	// A second browser logged in with the old password.
	other := ts.client()
	wantStatus(t, other.post("/login", url.Values{"httpd_username": {"alice"}, "httpd_password": {"old password"}}), http.StatusFound, "/private/")
	wantStatus(t, other.get("/private/"), http.StatusOK, "")

	r := alice.get("/password")
	wantStatus(t, r, http.StatusOK, "")
	wantBody(t, r, `autocomplete="current-password"`, `autocomplete="new-password"`, `autocomplete="username"`)

	bad := []struct {
		name                 string
		current, pw, confirm string
		field, msg           string
	}{
		{"empty", "", "", "", "current", "Enter your current password."},
		{"wrong current", "not the password", "new password", "new password", "current", "The current password is not right."},
		{"mismatch", "old password", "new password", "new passw0rd", "confirm", "The two passwords are not the same."},
		{"short", "old password", "short", "short", "password", "too short"},
		{"73 bytes", "old password", strings.Repeat("é", 36) + "x", strings.Repeat("é", 36) + "x", "password", "at most 72 bytes"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := alice.post("/password", url.Values{"current": {tc.current}, "password": {tc.pw}, "confirm": {tc.confirm}})
			wantStatus(t, r, http.StatusUnprocessableEntity, "")
			wantBody(t, r, `id="`+tc.field+`-error"`, tc.msg, `aria-invalid="true"`)
			if res, _ := ts.users.Check(context.Background(), "alice", "old password"); res != users.Granted {
				t.Fatal("password changed by a refused form")
			}
			if pw, _ := alice.session().Get("site-pw"); pw != "old password" {
				t.Fatalf("session password is %q", pw)
			}
		})
	}

	r = alice.post("/password", url.Values{"current": {"old password"}, "password": {"new password"}, "confirm": {"new password"}})
	wantStatus(t, r, http.StatusSeeOther, "/private/?changed=1")
	if pw, _ := alice.session().Get("site-pw"); pw != "new password" {
		t.Errorf("session password is %q after the change", pw)
	}
	r = alice.get("/private/?changed=1")
	wantStatus(t, r, http.StatusOK, "")
	wantBody(t, r, "Your password was changed")

	// The other browser's session ends at its next request.
	wantStatus(t, other.get("/private/"), http.StatusFound, "/login?next=/private/")
	r = other.get("/")
	wantBody(t, r, "Not logged in")

	// Log out, then the new password works and the old one fails.
	wantStatus(t, alice.post("/logout", nil), http.StatusTemporaryRedirect, "/?loggedout=1")
	// The browser repeats the POST there (307); the site turns it into a GET.
	wantStatus(t, alice.post("/?loggedout=1", nil), http.StatusSeeOther, "/?loggedout=1")
	wantBody(t, alice.get("/?loggedout=1"), "You are logged out.", "Not logged in")
	wantStatus(t, alice.get("/private/"), http.StatusFound, "/login?next=/private/")
	wantStatus(t, alice.post("/login", url.Values{"httpd_username": {"alice"}, "httpd_password": {"old password"}}), http.StatusFound, "/login?failed=1")
	wantStatus(t, alice.post("/login", url.Values{"httpd_username": {"alice"}, "httpd_password": {"new password"}}), http.StatusFound, "/private/")
	wantStatus(t, alice.get("/private/"), http.StatusOK, "")
}

// Without the configuration's protection the site still refuses to change
// a password for nobody.
func TestPasswordNeedsLogin(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{skipAuthMW: true})
	c := ts.client()
	wantStatus(t, c.get("/password"), http.StatusSeeOther, "/login?next=%2Fpassword")
	wantStatus(t, c.post("/password", url.Values{"current": {"x"}, "password": {"long enough 1"}, "confirm": {"long enough 1"}}), http.StatusSeeOther, "")
	wantStatus(t, c.get("/private/"), http.StatusSeeOther, "")
}

func TestGetChangesNothing(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{})
	c := ts.client()
	wantStatus(t, c.register("alice", "old password"), http.StatusSeeOther, "/private/")
	before := c.session()
	q := "?username=mallory&password=long+enough+1&confirm=long+enough+1&current=old+password"
	for _, p := range []string{"/register" + q, "/password" + q, "/logout" + q, "/login" + q, "/session" + q, "/" + q} {
		r := c.get(p)
		wantStatus(t, r, http.StatusOK, "")
	}
	if ok, _ := ts.users.Exists(context.Background(), "mallory"); ok {
		t.Error("GET /register created a user")
	}
	if res, _ := ts.users.Check(context.Background(), "alice", "old password"); res != users.Granted {
		t.Error("GET /password changed the password")
	}
	after := c.session()
	for _, k := range []string{"site-user", "site-pw"} {
		b, _ := before.Get(k)
		a, _ := after.Get(k)
		if a != b {
			t.Errorf("%s changed from %q to %q", k, b, a)
		}
	}
	// GET /logout only shows the button.
	r := c.get("/logout")
	wantBody(t, r, `<form method="post" action="/logout"`, "Log out</button>")
	wantStatus(t, c.get("/private/"), http.StatusOK, "")
}

func TestLoginPage(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{})
	tests := []struct {
		query    string
		want     []string
		unwanted []string
	}{
		{"", []string{`name="httpd_username"`, `autocomplete="username"`, `name="httpd_password"`, `autocomplete="current-password"`, `<label for="httpd_username">`}, []string{"httpd_location", "not right"}},
		{"?failed=1", []string{"The user name or password is not right.", `aria-invalid="true"`}, nil},
		{"?next=/private/x%3Fa%3Db", []string{`name="httpd_location" value="/private/x?a=b"`}, nil},
		{"?next=//evil.example/", nil, []string{"httpd_location"}},
		{"?next=https://evil.example/", nil, []string{"httpd_location"}},
		{"?next=/%5Cevil.example", nil, []string{"httpd_location"}},
		{"?next=private", nil, []string{"httpd_location"}},
		{"?next=/x%0d%0aSet-Cookie:a", nil, []string{"httpd_location"}},
		{`?next=/"><script>`, []string{`value="/&#34;&gt;&lt;script&gt;"`}, []string{`"><script>`}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			t.Parallel()
			r := ts.client().get("/login" + tc.query)
			wantStatus(t, r, http.StatusOK, "")
			wantBody(t, r, tc.want...)
			wantNotBody(t, r, tc.unwanted...)
			if !strings.Contains(strings.Join(r.header.Values("Cache-Control"), ","), "no-store") {
				t.Error("login page without Cache-Control: no-store")
			}
		})
	}
}

// After a form error the page says so in its title and in a summary that
// takes focus and links to each field in page order; each field is tied
// to its message.
func TestErrorSummary(t *testing.T) {
	ts := newSite(t, siteConfig{})
	alice := ts.client()
	wantStatus(t, alice.register("alice", "old password"), http.StatusSeeOther, "/private/")
	tests := []struct {
		name  string
		r     func() response
		links []string // the summary's links, in order
	}{
		{"register", func() response {
			return ts.client().post("/register", url.Values{"username": {"a:b"}, "password": {"short"}, "confirm": {"other"}})
		}, []string{"username", "password", "confirm"}},
		{"register taken", func() response { return ts.client().register("alice", "long enough 1") }, []string{"username"}},
		{"password", func() response {
			return alice.post("/password", url.Values{"password": {"short"}, "confirm": {"short"}})
		}, []string{"current", "password"}},
		{"login failed", func() response { return ts.client().get("/login?failed=1") }, []string{"httpd_username"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r()
			wantBody(t, r, "<title>Error: ", `class="error-summary" role="alert" tabindex="-1" autofocus`)
			rest := r.body
			for _, field := range tc.links {
				link := `<li><a href="#` + field + `">`
				i := strings.Index(rest, link)
				if i < 0 {
					t.Fatalf("summary lacks a link to %s after the previous one:\n%s", field, r.body)
				}
				rest = rest[i+len(link):]
				describedBy := regexp.MustCompile(`aria-describedby="([^"]* )?` + field + `-error"`)
				if !describedBy.MatchString(r.body) {
					t.Errorf("field %s not described by %s-error", field, field)
				}
			}
			if n := strings.Count(r.body, " autofocus"); n != 1 {
				t.Errorf("%d elements with autofocus, want only the summary", n)
			}
		})
	}
	t.Run("no error", func(t *testing.T) {
		r := ts.client().get("/register")
		wantNotBody(t, r, "Error:", "error-summary")
	})
}

// Someone logged in who opens /login or /register is told so and offered
// the private area or logout instead of a second form.
func TestAlreadyLoggedIn(t *testing.T) {
	ts := newSite(t, siteConfig{})
	c := ts.client()
	wantStatus(t, c.register("alice", "long enough 1"), http.StatusSeeOther, "/private/")
	for _, path := range []string{"/login", "/register", "/login?next=/private/x"} {
		t.Run(path, func(t *testing.T) {
			r := c.get(path)
			wantStatus(t, r, http.StatusOK, "")
			wantBody(t, r, "You are already logged in as <strong>alice</strong>", `href="/private/`, `<button type="submit" class="secondary">Log out</button>`)
			wantNotBody(t, r, `name="httpd_password"`, `name="password"`)
		})
	}
	wantBody(t, c.get("/login?next=/private/x"), `href="/private/x"`)
	// Inline, the protected page has refused the session: show the form.
	wantBody(t, c.get("/login?inline=/private/"), `name="httpd_password"`)
	// Logged out again, the forms are back.
	wantBody(t, ts.client().get("/login"), `name="httpd_password"`)
	wantBody(t, ts.client().get("/register"), `name="password"`)
}

// The user-name field kept for password managers on /password is a
// labelled, read-only input, not one hidden by a CSS rule that the
// stylesheet could override.
func TestPasswordPageUserName(t *testing.T) {
	ts := newSite(t, siteConfig{})
	c := ts.client()
	wantStatus(t, c.register("alice", "long enough 1"), http.StatusSeeOther, "/private/")
	r := c.get("/password")
	wantBody(t, r, `<label for="username">User name</label>`,
		`<input id="username" name="username" type="text" value="alice" autocomplete="username" readonly`)
	wantNotBody(t, r, " hidden readonly")
	css := c.get("/static/site.css")
	wantBody(t, css, "[hidden] { display: none !important; }")
}

// The new-password fields carry the limits the script checks, from the
// users package, and load the script; the page works without it. Every
// rule the page lists has a check in the script, and the list of common
// passwords the script fetches is the one the users package refuses.
func TestPasswordRulesOnPage(t *testing.T) {
	ts := newSite(t, siteConfig{})
	c := ts.client()
	js := c.get("/static/password.js")
	wantStatus(t, js, http.StatusOK, "")
	for _, page := range []string{"/register", "/password"} {
		if page == "/password" {
			wantStatus(t, c.register("alice", "long enough 1"), http.StatusSeeOther, "/private/")
		}
		r := c.get(page)
		wantBody(t, r, fmt.Sprintf(`data-min-runes="%d" data-max-bytes="%d" data-min-distinct="%d" data-common="/static/common-passwords.txt"`,
			users.MinPasswordRunes, users.MaxPasswordBytes, users.MinDistinctRunes),
			`<script src="/static/password.js" defer></script>`, `novalidate`, `name="username"`)
		rules := regexp.MustCompile(`<li data-rule="([a-z-]+)">`).FindAllStringSubmatch(r.body, -1)
		if len(rules) != 6 {
			t.Errorf("%s lists %d password rules, want 6", page, len(rules))
		}
		for _, m := range rules {
			wantBody(t, js, fmt.Sprintf("%q: function", m[1]))
		}
	}
	list := c.get("/static/common-passwords.txt")
	wantStatus(t, list, http.StatusOK, "")
	if list.body != users.CommonPasswords() || !strings.HasPrefix(list.header.Get("Content-Type"), "text/plain") {
		t.Errorf("common-password list: %d bytes of %q, want the users package's %d", len(list.body), list.header.Get("Content-Type"), len(users.CommonPasswords()))
	}
}

func TestInspectorMasksPassword(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]siteConfig{
		"encrypted": {},
		"plain":     {plain: true},
		// Over TLS the cookie is sent as __Host-session: the raw value
		// shown is that one's, not nothing.
		"tls": {tls: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newSite(t, cfg)
			c := ts.client()
			pw := "secret password"
			wantStatus(t, c.register("alice", pw), http.StatusSeeOther, "/private/")
			raw := c.sessionCookie() // the GET may refresh it
			r := c.get("/session")
			wantStatus(t, r, http.StatusOK, "")
			wantBody(t, r, "site-user", "alice", "site-pw", "••••••••", `encrypted cookie &#34;session&#34;`, "/cgi-bin/session-demo", "<time datetime=")
			wantNotBody(t, r, pw, session.Escape(pw))
			// Issue 15.14: the HttpOnly cookie is not printed whole where a
			// script could read it, and the page is not cacheable.
			wantNotBody(t, r, strings.ReplaceAll(raw, "+", "&#43;"), raw)
			wantBody(t, r, strings.ReplaceAll(raw[:8], "+", "&#43;")+"••••••••", "characters, the rest hidden)")
			if got := r.header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
				t.Errorf("Cache-Control %q, want one no-store", got)
			}
		})
	}
}

func TestNavigation(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{})
	c := ts.client()
	r := c.get("/")
	wantBody(t, r, "Not logged in", `href="/login"`, `href="/register"`)
	c.register("alice", "long enough 1")
	for _, p := range []string{"/", "/login", "/register", "/session", "/logout", "/private/", "/password", "/nope"} {
		r := c.get(p)
		wantBody(t, r, "Logged in as <strong>alice</strong>", `href="/password"`, `action="/logout"`)
	}
	r = c.get("/?loggedout=1")
	wantBody(t, r, "You are logged out.")
}

func TestErrorPages(t *testing.T) {
	t.Parallel()
	t.Run("not found", func(t *testing.T) {
		t.Parallel()
		ts := newSite(t, siteConfig{})
		r := ts.client().get("/nope")
		wantStatus(t, r, http.StatusNotFound, "")
		wantBody(t, r, "Page not found", "/static/site.css")
	})
	t.Run("method", func(t *testing.T) {
		t.Parallel()
		ts := newSite(t, siteConfig{})
		r := ts.client().post("/session", nil)
		wantStatus(t, r, http.StatusMethodNotAllowed, "")
		wantBody(t, r, "Method not allowed")
		if got := r.header.Get("Allow"); got != "GET, HEAD" {
			t.Errorf("Allow %q, want %q", got, "GET, HEAD")
		}
	})
	t.Run("no user store", func(t *testing.T) {
		t.Parallel()
		ts := newSite(t, siteConfig{noUsers: true})
		c := ts.client()
		for _, r := range []response{c.get("/register"), c.register("bob", "long enough 1")} {
			wantStatus(t, r, http.StatusNotImplemented, "")
			wantBody(t, r, "no user store configured")
		}
		wantNotBody(t, c.get("/login"), `href="/register">Create one`)
	})
	t.Run("store error", func(t *testing.T) {
		t.Parallel()
		ts := newSite(t, siteConfig{users: brokenStore{}})
		r := ts.client().register("bob", "long enough 1")
		wantStatus(t, r, http.StatusInternalServerError, "")
		wantBody(t, r, "Something went wrong")
		wantNotBody(t, r, "dial tcp", "10.0.0.7")
		if n := strings.Count(ts.logbuf.String(), "dial tcp"); n != 1 {
			t.Errorf("cause logged %d times, want once:\n%s", n, ts.logbuf)
		}
	})
	t.Run("session store down", func(t *testing.T) {
		t.Parallel()
		ts := newSite(t, siteConfig{store: downStore{}})
		r := ts.client().register("bob", "long enough 1")
		wantStatus(t, r, http.StatusServiceUnavailable, "")
		wantBody(t, r, "try again")
		if ok, _ := ts.users.Exists(context.Background(), "bob"); ok {
			t.Error("user created although the session could not be written")
		}
	})
}

func TestStatic(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{})
	r := ts.client().get("/static/site.css")
	wantStatus(t, r, http.StatusOK, "")
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type %q", ct)
	}
	wantBody(t, r, ":focus-visible", "@media")
}

func TestNewNeedsAuthName(t *testing.T) {
	t.Parallel()
	if _, err := site.New(site.Options{}); err == nil {
		t.Error("New without AuthName succeeded")
	}
}

// brokenStore is a user store whose backend is down.
type brokenStore struct{}

var errBackend = errors.New("dial tcp 10.0.0.7:5432: connection refused")

func (brokenStore) Check(context.Context, string, string) (users.Result, error) {
	return users.Denied, errBackend
}
func (brokenStore) Exists(context.Context, string) (bool, error)      { return false, errBackend }
func (brokenStore) Add(context.Context, string, string) error         { return errBackend }
func (brokenStore) SetPassword(context.Context, string, string) error { return errBackend }
func (brokenStore) Delete(context.Context, string) error              { return errBackend }

// downStore is a session store that cannot be reached.
type downStore struct{}

func (downStore) Load(*http.Request) (session.Stored, bool, error) {
	return session.Stored{}, false, session.ErrUnavailable
}
func (downStore) Save(*http.Request, http.Header, *session.Session, string) error {
	return session.ErrUnavailable
}

// TestPasswordChangeThrottled: wrong current passwords are counted like
// failed logins; past the limit even the right one waits, with 429 and
// Retry-After, and the password is not changed.
func TestPasswordChangeThrottled(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{})
	alice := ts.client()
	wantStatus(t, alice.register("alice", "old password"), http.StatusSeeOther, "/private/")
	for i := range authform.DefaultThrottleFailures {
		r := alice.post("/password", url.Values{"current": {fmt.Sprintf("guess %d", i)}, "password": {"new password"}, "confirm": {"new password"}})
		wantStatus(t, r, http.StatusUnprocessableEntity, "")
	}
	r := alice.post("/password", url.Values{"current": {"old password"}, "password": {"new password"}, "confirm": {"new password"}})
	wantStatus(t, r, http.StatusTooManyRequests, "")
	wantBody(t, r, "Too many wrong passwords")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if res, _ := ts.users.Check(context.Background(), "alice", "old password"); res != users.Granted {
		t.Fatal("the password changed while throttled")
	}
}

// TestRegistrationThrottled is issue 15.5's flood: one client may create
// DefaultRegistrations accounts per window; the next is answered 429 with
// Retry-After and creates nothing.
func TestRegistrationThrottled(t *testing.T) {
	t.Parallel()
	ts := newSite(t, siteConfig{})
	for i := range site.DefaultRegistrations {
		wantStatus(t, ts.client().register(fmt.Sprintf("flood%d", i), "long enough 1"), http.StatusSeeOther, "/private/")
	}
	r := ts.client().register("one-too-many", "long enough 1")
	wantStatus(t, r, http.StatusTooManyRequests, "")
	wantBody(t, r, "Too many accounts were created from your network.")
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if ok, _ := ts.users.Exists(context.Background(), "one-too-many"); ok {
		t.Error("the throttled registration created its account")
	}
}

// flakyStore is a cookie store whose saves fail while fail is set.
type flakyStore struct {
	*cookie.Store
	fail *atomic.Bool
}

func (f flakyStore) Save(r *http.Request, h http.Header, s *session.Session, encoded string) error {
	if f.fail.Load() {
		return fmt.Errorf("insert: %w", session.ErrUnavailable)
	}
	return f.Store.Save(r, h, s, encoded)
}

// TestPasswordChangeSessionSaveFails is issue 15.9: when the new password
// is stored but the session cannot take it, the page says exactly that,
// and the new password logs in.
func TestPasswordChangeSessionSaveFails(t *testing.T) {
	cs, err := cookie.NewStore(cookie.Options{Name: cookieName, Attrs: "path=/;HttpOnly;SameSite=Lax"})
	if err != nil {
		t.Fatal(err)
	}
	fail := new(atomic.Bool)
	ts := newSite(t, siteConfig{store: flakyStore{Store: cs, fail: fail}})
	alice := ts.client()
	wantStatus(t, alice.register("alice", "old password"), http.StatusSeeOther, "/private/")
	fail.Store(true)
	r := alice.post("/password", url.Values{"current": {"old password"}, "password": {"new password"}, "confirm": {"new password"}})
	wantStatus(t, r, http.StatusServiceUnavailable, "")
	wantBody(t, r, "Your password was changed", "Log in again with your new password")
	fail.Store(false)
	if res, err := ts.users.Check(context.Background(), "alice", "new password"); err != nil || res != users.Granted {
		t.Fatalf("new password: %v %v", res, err)
	}
	r = alice.post("/login", url.Values{"httpd_username": {"alice"}, "httpd_password": {"new password"}})
	wantStatus(t, r, http.StatusFound, "/private/")
}
