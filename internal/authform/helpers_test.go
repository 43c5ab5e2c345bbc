package authform_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
	"github.com/websession/websession/internal/testtool"
	"github.com/websession/websession/internal/users"
)

// fixedNow is the test clock: 2026-11-21 12:00:00 UTC.
var fixedNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// htpasswd runs Debian's htpasswd, skipping the test when it is missing
// (failing under CI=true).
func htpasswd(t testing.TB, args ...string) {
	t.Helper()
	p := testtool.Path(t, "htpasswd", "apache2-utils")
	if out, err := exec.Command(p, args...).CombinedOutput(); err != nil {
		t.Fatalf("htpasswd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// userFile writes an htpasswd file with bcrypt hashes made by htpasswd -B
// for the name/password pairs and opens it as a real file store.
func userFile(t testing.TB, pairs ...string) (string, *users.FileStore) {
	t.Helper()
	return userFileOpts(t, users.Options{}, pairs...)
}

// userFileOpts is userFile with store options (cost and logger are set).
func userFileOpts(t testing.TB, opts users.Options, pairs ...string) (string, *users.FileStore) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "passwd")
	for i := 0; i < len(pairs); i += 2 {
		flags := "-Bb"
		if i == 0 {
			flags = "-Bbc"
		}
		htpasswd(t, flags, path, pairs[i], pairs[i+1])
	}
	opts.Cost, opts.Logger = users.MinCost, slog.New(slog.DiscardHandler)
	st, err := users.OpenFile(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return path, st
}

// site is the chain the server builds: session middleware (cookie store,
// optional cipher) around a mux with a protected area, a login handler and
// a logout handler.
type site struct {
	t       testing.TB
	handler http.Handler
	now     *time.Time
}

type siteConfig struct {
	opts     authform.Options // Providers filled in when empty
	protect  *authform.Options
	sess     session.Config
	store    session.Store
	noLogin  bool
	prefix   string // protected prefix, default /admin/
	provider users.Store
}

// echo stands in for the protected page: it prints what it received.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	user, ok := authform.User(r)
	fmt.Fprintf(w, "method=%s ct=%q cl=%d body=%q auth=%q user=%q ok=%v",
		r.Method, r.Header.Get("Content-Type"), r.ContentLength, b, r.Header.Get("Authorization"), user, ok)
})

func newSite(t testing.TB, sc siteConfig) *site {
	t.Helper()
	s := &site{t: t, now: new(time.Time)}
	*s.now = fixedNow
	clock := func() time.Time { return *s.now }
	if sc.store == nil {
		st, err := cookie.NewStore(cookie.Options{Name: "session", Attrs: "path=/"})
		if err != nil {
			t.Fatal(err)
		}
		sc.store = st
	}
	sc.sess.Store, sc.sess.Now = sc.store, clock
	mw, err := session.Middleware(sc.sess)
	if err != nil {
		t.Fatal(err)
	}
	opts := sc.opts
	if opts.AuthName == "" {
		opts.AuthName = "/admin"
	}
	if opts.Providers == nil {
		if sc.provider == nil {
			_, sc.provider = userFile(t, "alice", "wonderland", "bob", "builder1")
		}
		opts.Providers = []users.Store{sc.provider}
	}
	opts.Now = clock
	if opts.Throttle == nil {
		opts.Throttle = authform.NewThrottle(authform.ThrottleOptions{Now: clock})
	}
	popts := opts
	if sc.protect != nil {
		popts = *sc.protect
		popts.AuthName, popts.Providers, popts.Now, popts.Throttle = opts.AuthName, opts.Providers, clock, opts.Throttle
	}
	if !popts.Require.ValidUser && popts.Require.Users == nil {
		popts.Require.ValidUser = true
	}
	protect, err := authform.Protect(popts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	prefix := sc.prefix
	if prefix == "" {
		prefix = "/admin/"
	}
	mux.Handle(prefix, protect(echo))
	if !sc.noLogin {
		login, err := authform.LoginHandler(opts)
		if err != nil {
			t.Fatal(err)
		}
		mux.Handle("/dologin", login)
	}
	logout, err := authform.LogoutHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/logout", logout)
	s.handler = mw(mux)
	return s
}

// req is one request to the site.
type req struct {
	method, target string
	form           url.Values // urlencoded body
	body, ct       string     // raw body and Content-Type when form is nil
	cookie         string     // value of the session cookie
	hdr            map[string]string
	remote         string
}

func (s *site) do(q req) *http.Response {
	s.t.Helper()
	if q.method == "" {
		q.method = http.MethodGet
		if q.form != nil {
			q.method = http.MethodPost
		}
	}
	body := q.body
	if q.form != nil {
		body, q.ct = q.form.Encode(), "application/x-www-form-urlencoded"
	}
	r := httptest.NewRequest(q.method, q.target, strings.NewReader(body))
	if q.ct != "" {
		r.Header.Set("Content-Type", q.ct)
	}
	if q.cookie != "" {
		r.Header.Set("Cookie", "session="+q.cookie)
	}
	for k, v := range q.hdr {
		r.Header.Set(k, v)
	}
	if q.remote != "" {
		r.RemoteAddr = q.remote
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, r)
	return rec.Result()
}

func readBody(t testing.TB, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cookieValue returns the session cookie's value from the response (the
// text between "session=" and the first ';'), and the whole line.
func cookieValue(res *http.Response) (value, line string, ok bool) {
	lines := res.Header.Values("Set-Cookie")
	for _, l := range lines {
		if v, found := strings.CutPrefix(l, "session="); found {
			value, _, _ = strings.Cut(v, ";")
			return value, l, true
		}
	}
	return "", "", false
}

func creds(user, pw string, extra ...string) url.Values {
	v := url.Values{"httpd_username": {user}, "httpd_password": {pw}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Add(extra[i], extra[i+1])
	}
	return v
}

// failingStore is a user store that cannot answer (a database that is down).
type failingStore struct{ users.Store }

func (failingStore) Check(context.Context, string, string) (users.Result, error) {
	return users.Denied, fmt.Errorf("connection refused to db.internal:5432")
}

// downStore is a session store whose backend is down.
type downStore struct{}

func (downStore) Load(*http.Request) (session.Stored, bool, error) {
	return session.Stored{}, false, fmt.Errorf("select: %w", session.ErrUnavailable)
}

func (downStore) Save(*http.Request, http.Header, *session.Session, string) error {
	return session.ErrUnavailable
}

func mustCookieStore(t testing.TB) *cookie.Store {
	t.Helper()
	st, err := cookie.NewStore(cookie.Options{Name: "session", Attrs: "path=/"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func httpRequest() *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) }
