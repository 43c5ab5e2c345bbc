package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/users"
)

// asWeb, set in a child's environment, makes the test binary run as the
// web command itself: tests that need a real terminal run it on a pty.
const asWeb = "WEBSESSION_TEST_RUN_AS_WEB"

func TestMain(m *testing.M) {
	if os.Getenv(asWeb) == "1" {
		main()
		os.Exit(0)
	}
	pgtest.Main(m)
}

// serverRoot is a plain copy of the repository, as a clone has it: the
// shipped configurations, cgi-bin, templates and all, and no data/.
func serverRoot(t *testing.T) string {
	t.Helper()
	return repoCopy(t)
}

// startServer runs `web -config FILE serve` in-process on a free loopback
// port with configText as FILE in a copy of the repository, and returns
// the base URL.
func startServer(t *testing.T, configText string) string {
	t.Helper()
	return startServerEnv(t, configText, nil)
}

// startServerEnv is startServer with ${VAR} values from env.
func startServerEnv(t *testing.T, configText string, env map[string]string) string {
	t.Helper()
	return startServerIn(t, serverRoot(t), configText, env)
}

// startServerIn is startServerEnv in the repository copy root, with FILE
// at its top, so relative paths resolve against the copy.
func startServerIn(t *testing.T, root, configText string, env map[string]string) string {
	t.Helper()
	file := filepath.Join(root, "site.conf")
	if err := os.WriteFile(file, []byte(configText), 0o600); err != nil {
		t.Fatal(err)
	}
	return startFile(t, file, env)
}

// startShipped runs configs/NAME of a fresh copy of the repository, as
// `web -config configs/NAME` would from its root.
func startShipped(t *testing.T, name string, env map[string]string) (base, root string) {
	t.Helper()
	root = serverRoot(t)
	return startFile(t, filepath.Join(root, "configs", name), env), root
}

// startFile serves the configuration file until the test ends.
func startFile(t *testing.T, file string, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	opts := options{
		configFile: file, listen: "127.0.0.1:0",
		getenv: func(k string) string { return env[k] },
		stdout: io.Discard, stderr: io.Discard,
	}
	go func() { done <- serve(ctx, opts, func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server stopped with: %v", err)
			}
		})
		return "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start within 30s")
	}
	return ""
}

// visitor is an HTTP client with a cookie jar that does not follow
// redirects, so each step's answer can be checked.
type visitor struct {
	t      *testing.T
	client *http.Client
	base   string
}

func newVisitor(t *testing.T, base string) *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: t, base: base, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *visitor) get(path string) (*http.Response, string) {
	b.t.Helper()
	res, err := b.client.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func (b *visitor) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	res, err := b.client.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func expect(t *testing.T, res *http.Response, status int, location string) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d", res.Request.Method, res.Request.URL.Path, res.StatusCode, status)
	}
	if location != "" && res.Header.Get("Location") != location {
		t.Fatalf("%s %s: Location %q, want %q", res.Request.Method, res.Request.URL.Path, res.Header.Get("Location"), location)
	}
}

// siteFlow registers, uses the private area, changes the password, logs
// out and back in: what every site configuration must support.
func siteFlow(t *testing.T, base string) {
	b := newVisitor(t, base)
	res, _ := b.get("/private/")
	expect(t, res, http.StatusFound, "/login?next=/private/")
	res, _ = b.post("/register", url.Values{"username": {"carol"}, "password": {"correct horse"}, "confirm": {"correct horse"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	res, body := b.get("/private/")
	expect(t, res, http.StatusOK, "")
	if !strings.Contains(body, "carol") {
		t.Fatalf("private page does not greet carol: %.300s", body)
	}
	other := newVisitor(t, base)
	res, _ = other.post("/login", url.Values{"httpd_username": {"carol"}, "httpd_password": {"correct horse"}})
	expect(t, res, http.StatusFound, "/private/")
	res, _ = b.post("/password", url.Values{"current": {"correct horse"}, "password": {"battery staple"}, "confirm": {"battery staple"}})
	expect(t, res, http.StatusSeeOther, "")
	res, _ = b.get("/private/")
	expect(t, res, http.StatusOK, "")
	res, _ = other.get("/private/")
	expect(t, res, http.StatusFound, "/login?next=/private/")
	res, _ = b.post("/logout", nil)
	expect(t, res, http.StatusTemporaryRedirect, "/?loggedout=1")
	res, _ = b.get("/private/")
	expect(t, res, http.StatusFound, "")
	// A refused login answers the login page itself, keeping the name.
	res, body = b.post("/login", url.Values{"httpd_username": {"carol"}, "httpd_password": {"correct horse"}})
	expect(t, res, http.StatusUnauthorized, "")
	if !strings.Contains(body, `value="carol"`) || !strings.Contains(body, "not right") {
		t.Errorf("refused login page does not keep the user name or say why: %s", body)
	}
	res, _ = b.post("/login", url.Values{"httpd_username": {"carol"}, "httpd_password": {"battery staple"}})
	expect(t, res, http.StatusFound, "/private/")
	res, _ = b.get("/private/")
	expect(t, res, http.StatusOK, "")
}

func TestDefaultConfiguration(t *testing.T) {
	t.Parallel()
	base, root := startShipped(t, "default.conf", nil)
	siteFlow(t, base)
	// The first run made the secret and the user file, private to the user.
	for name, want := range map[string]os.FileMode{"data": 0o700 | os.ModeDir, "data/passphrase": 0o600, "data/users.htpasswd": 0o600} {
		fi, err := os.Stat(filepath.Join(root, name))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: %v, %v; want mode %v", name, fi.Mode(), err, want)
		}
	}
}

func TestPostgresConfiguration(t *testing.T) {
	t.Parallel()
	dsn := pgtest.URL(t)
	base, _ := startShipped(t, "postgres.conf", map[string]string{"DATABASE_URL": dsn, "SESSION_SECRET": "test secret"})
	siteFlow(t, base)
}

// TestInlineConfiguration: the protected CGI answers 401 with the login
// form posting back to itself; posting credentials there logs in and runs
// the program, replayed as a GET.
func TestInlineConfiguration(t *testing.T) {
	t.Parallel()
	root := serverRoot(t)
	store, err := users.OpenFile(filepath.Join(root, "data", "users.htpasswd"), users.Options{Cost: users.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Add(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	b := newVisitor(t, startFile(t, filepath.Join(root, "configs", "inline.conf"), nil))
	res, body := b.get("/cgi-bin/session-demo?x=1")
	expect(t, res, http.StatusUnauthorized, "")
	if !strings.Contains(body, `action="/cgi-bin/session-demo?x=1"`) || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("401 page: Cache-Control %q, body %.400s", res.Header.Get("Cache-Control"), body)
	}
	res, _ = b.post("/cgi-bin/session-demo?x=1", url.Values{"httpd_username": {"alice"}, "httpd_password": {"wrong password"}})
	expect(t, res, http.StatusUnauthorized, "")
	res, body = b.post("/cgi-bin/session-demo?x=1", url.Values{"httpd_username": {"alice"}, "httpd_password": {"wonderland"}})
	expect(t, res, http.StatusOK, "")
	if !strings.Contains(body, "REMOTE_USER=alice") || !strings.Contains(body, "site-pw=********") {
		t.Fatalf("after inline login the CGI printed %q", body)
	}
	res, body = b.get("/cgi-bin/session-demo")
	expect(t, res, http.StatusOK, "")
	if !strings.Contains(body, "REMOTE_USER=alice") {
		t.Fatalf("the session did not keep the login: %q", body)
	}
}

func TestCookieConfiguration(t *testing.T) {
	t.Parallel()
	base, _ := startShipped(t, "cookie.conf", nil)
	b := newVisitor(t, base)
	res, _ := b.post("/cgi-bin/session-demo?set=colour=blue&size=10", nil)
	expect(t, res, http.StatusOK, "")
	if got := res.Header.Values("Set-Cookie"); len(got) != 1 || !strings.HasPrefix(got[0], "session=colour=blue&size=10;") {
		t.Fatalf("Set-Cookie %q", got)
	}
	_, body := b.get("/cgi-bin/session-demo")
	if !strings.Contains(body, "HTTP_SESSION=colour=blue&size=10\n") {
		t.Fatalf("CGI saw %q", body)
	}
}

func TestCryptoConfiguration(t *testing.T) {
	t.Parallel()
	base, _ := startShipped(t, "crypto.conf", map[string]string{"SESSION_SECRET": "s3cret"})
	b := newVisitor(t, base)
	res, _ := b.post("/cgi-bin/session-demo?set=colour=blue", nil)
	cookies := res.Header.Values("Set-Cookie")
	if len(cookies) != 1 || strings.Contains(cookies[0], "colour") {
		t.Fatalf("Set-Cookie %q: want one encrypted cookie", cookies)
	}
	value := strings.TrimPrefix(strings.SplitN(cookies[0], ";", 2)[0], "session=")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"session", "decode", "-passphrase", "s3cret", value}, os.Getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "colour=blue\n") {
		t.Fatalf("web session decode printed %q", out.String())
	}
	_, body := b.get("/cgi-bin/session-demo")
	if !strings.Contains(body, "HTTP_SESSION=colour=blue&expiry=") {
		t.Fatalf("CGI saw %q", body)
	}
}

func TestSessionCommandRoundTrip(t *testing.T) {
	t.Parallel()
	var enc, dec bytes.Buffer
	if err := run(context.Background(), []string{"session", "encode", "-passphrase", "secret", "user=alice&role=admin"}, os.Getenv, &enc, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"session", "decode", "-passphrase", "other", "-passphrase", "secret", strings.TrimSpace(enc.String())}, os.Getenv, &dec, io.Discard); err != nil {
		t.Fatal(err)
	}
	if dec.String() != "user=alice\nrole=admin\n" {
		t.Fatalf("decoded %q", dec.String())
	}
	// The manual's vector V1 (spec §4.6), made by the same algorithm httpd uses.
	dec.Reset()
	v1 := "Y2ivqSi0gYUAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH7prq7/uUK7Ohxcf4x2PT3P7ijQ/oK89AQe8ZPtS9kKy"
	if err := run(context.Background(), []string{"session", "decode", "-passphrase", "secret", v1}, os.Getenv, &dec, io.Discard); err != nil {
		t.Fatal(err)
	}
	if dec.String() != "user=alice\nrole=admin\n" {
		t.Fatalf("V1 decoded %q", dec.String())
	}
	if err := run(context.Background(), []string{"session", "decode", "-passphrase", "wrong", v1}, os.Getenv, io.Discard, io.Discard); err == nil {
		t.Fatal("a wrong passphrase decoded")
	}
}

func TestUserCommand(t *testing.T) {
	t.Parallel()
	root := serverRoot(t)
	conf := filepath.Join(root, "configs", "default.conf")
	cmd := func(stdin string, args ...string) error {
		return runWithInput(context.Background(), append([]string{"-config", conf}, args...), os.Getenv, strings.NewReader(stdin), io.Discard, io.Discard)
	}
	if err := cmd("longenough\n", "user", "add", "dave"); err != nil {
		t.Fatal(err)
	}
	if err := cmd("longenough\n", "user", "add", "dave"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second add: %v", err)
	}
	if err := cmd("short\n", "user", "passwd", "dave"); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("short password: %v", err)
	}
	if err := cmd(strings.Repeat("x", 73)+"\n", "user", "passwd", "dave"); err == nil || !strings.Contains(err.Error(), "72 bytes") {
		t.Fatalf("73-byte password: %v", err)
	}
	if err := cmd("", "user", "delete", "dave"); err != nil {
		t.Fatal(err)
	}
	if err := cmd("", "user", "delete", "dave"); err == nil {
		t.Fatal("deleting a missing user succeeded")
	}
	htpasswd, err := os.ReadFile(filepath.Join(root, "data", "users.htpasswd"))
	if err != nil || strings.Contains(string(htpasswd), "dave") {
		t.Fatalf("user file after delete: %q, %v", htpasswd, err)
	}
}

func TestBadConfigurationStopsStartup(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	conf := filepath.Join(root, "bad.conf")
	if err := os.WriteFile(conf, []byte("Session On\nSessionMaxAge soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"-config", conf}, os.Getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "bad.conf:2: SessionMaxAge") {
		t.Fatalf("error %v, want one naming bad.conf:2 and SessionMaxAge", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	if err := run(context.Background(), []string{"frobnicate"}, os.Getenv, io.Discard, io.Discard); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// TestTwoServersShareOneDatabase: behind a load balancer any server can
// answer any request, because the session lives in the shared table.
func TestTwoServersShareOneDatabase(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "SESSION_SECRET": "shared secret"}
	aBase, _ := startShipped(t, "postgres.conf", env)
	a := newVisitor(t, aBase)
	bBase, _ := startShipped(t, "postgres.conf", env)
	res, _ := a.post("/register", url.Values{"username": {"erin"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	// The same browser, its next request answered by the other server.
	b := &visitor{t: t, client: a.client, base: bBase}
	res, body := b.get("/private/")
	expect(t, res, http.StatusOK, "")
	if !strings.Contains(body, "erin") {
		t.Fatalf("the second server does not know the session: %.300s", body)
	}
	res, _ = b.post("/logout", nil)
	expect(t, res, http.StatusTemporaryRedirect, "")
	res, _ = a.get("/private/")
	expect(t, res, http.StatusFound, "/login?next=/private/")
}

// TestDBDSessionEndToEnd is spec §9 scenario 14 through a running server
// and the manual's CGI program: a new session gets an id cookie, an
// unchanged one costs no write and no cookie, a change issues a new id, and
// emptying it removes the cookie.
func TestDBDSessionEndToEnd(t *testing.T) {
	t.Parallel()
	conf := `DBDriver pgsql
DBDParams "${DATABASE_URL}"
DBDAutoMigrate On
Session On
SessionDBDCookieName session path=/
SessionHeader X-Replace-Session
SessionEnv On
ScriptAlias /cgi-bin/ cgi-bin/
`
	v := newVisitor(t, startServerEnv(t, conf, map[string]string{"DATABASE_URL": pgtest.URL(t)}))
	idOf := func(res *http.Response) string {
		t.Helper()
		c := res.Header.Values("Set-Cookie")
		if len(c) != 1 || !strings.HasPrefix(c[0], "session=") || !strings.HasSuffix(c[0], ";path=/") {
			t.Fatalf("Set-Cookie %q, want one session=<id>;path=/", c)
		}
		return strings.TrimSuffix(strings.TrimPrefix(c[0], "session="), ";path=/")
	}
	res, _ := v.post("/cgi-bin/session-demo?set=a=1", nil)
	id1 := idOf(res)
	if len(id1) != 36 {
		t.Fatalf("id %q is not a UUID", id1)
	}
	res, body := v.get("/cgi-bin/session-demo")
	if len(res.Header.Values("Set-Cookie")) != 0 || !strings.Contains(body, "HTTP_SESSION=a=1\n") {
		t.Fatalf("unchanged session: cookies %q, body %q", res.Header.Values("Set-Cookie"), body)
	}
	res, _ = v.post("/cgi-bin/session-demo?set=b=2", nil)
	if id2 := idOf(res); id2 == id1 {
		t.Fatal("a changed session kept its id (CVE-2013-2249)")
	}
	_, body = v.get("/cgi-bin/session-demo")
	if !strings.Contains(body, "HTTP_SESSION=a=1&b=2\n") {
		t.Fatalf("after the change the CGI saw %q", body)
	}
	res, _ = v.post("/cgi-bin/session-demo?set=a=&b=", nil)
	if c := res.Header.Values("Set-Cookie"); len(c) != 1 || c[0] != "session=;Max-Age=0;path=/" {
		t.Fatalf("emptied session: Set-Cookie %q, want the removal cookie", c)
	}
}

// TestDatabaseCommands: web migrate and web session cleanup on a
// configured database, and a clear refusal without one.
func TestDatabaseCommands(t *testing.T) {
	t.Parallel()
	root := serverRoot(t)
	conf := filepath.Join(root, "db.conf")
	if err := os.WriteFile(conf, []byte("DBDriver pgsql\nDBDParams \"${DATABASE_URL}\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := pgtest.URL(t)
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return dsn
		}
		return ""
	}
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"-config", conf}, args...), getenv, &out, io.Discard)
		return out.String(), err
	}
	if _, err := cmd("migrate", "up"); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd("session", "cleanup"); err != nil || out != "deleted 0 expired session rows\n" {
		t.Fatalf("cleanup: %q, %v", out, err)
	}
	plain := filepath.Join(root, "plain.conf")
	if err := os.WriteFile(plain, []byte("Session On\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"-config", plain, "migrate", "status"}, getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "plain.conf: DBDriver: no database configured") {
		t.Fatalf("migrate without a database: %v", err)
	}
}

// TestFailedLoginKeepsName: every way a login can fail, at the site's
// login handler, at another one and inline at a protected page, answers the login form again
// with the typed user name, a message tied to the field at fault and
// never the password, instead of a blank form (issue 16).
func TestFailedLoginKeepsName(t *testing.T) {
	t.Parallel()
	root := serverRoot(t)
	store, err := users.OpenFile(filepath.Join(root, "data", "users.htpasswd"), users.Options{Cost: users.MinCost})
	mustOK(t, err)
	mustOK(t, store.Add(context.Background(), "alice", "wonderland"))
	// A second login handler beside the site's, as in Apache's manual.
	conf, err := os.ReadFile(filepath.Join(root, "configs", "default.conf"))
	mustOK(t, err)
	conf = append(conf, "<Location /dologin.html>\nSetHandler form-login-handler\nAuthType form\nAuthName site\nAuthFormProvider file\nAuthUserFile data/users.htpasswd\n</Location>\n"...)
	mustOK(t, os.WriteFile(filepath.Join(root, "configs", "dologin.conf"), conf, 0o600))
	sites := map[string]string{
		"/login":                startFile(t, filepath.Join(root, "configs", "default.conf"), nil),
		"/dologin.html":         startFile(t, filepath.Join(root, "configs", "dologin.conf"), nil),
		"/cgi-bin/session-demo": startFile(t, filepath.Join(root, "configs", "inline.conf"), nil),
	}
	for _, tc := range []struct {
		name, user, pw string
		status         int
		want           []string
	}{
		{"wrong password", "alice", "not wonderland", http.StatusUnauthorized,
			[]string{`value="alice"`, "The user name or password is not right.", `id="httpd_username" name="httpd_username"`, `aria-invalid="true" aria-describedby="httpd_username-error"`}},
		{"unknown user", "Bob", "whatever it is", http.StatusUnauthorized,
			[]string{`value="Bob"`, "The user name or password is not right."}},
		{"empty password", "alice", "", http.StatusUnauthorized,
			[]string{`value="alice"`, "Enter your password.", `aria-invalid="true" aria-describedby="httpd_password-error"`, `href="#httpd_password"`}},
		{"empty user name", "", "wonderland", http.StatusUnauthorized,
			[]string{"Enter your user name.", `href="#httpd_username"`}},
	} {
		for at, base := range sites {
			t.Run(tc.name+" at "+at, func(t *testing.T) {
				t.Parallel()
				res, body := newVisitor(t, base).post(at, url.Values{"httpd_username": {tc.user}, "httpd_password": {tc.pw}})
				expect(t, res, tc.status, "")
				for _, w := range tc.want {
					if !strings.Contains(body, w) {
						t.Errorf("answer lacks %s:\n%s", w, body)
					}
				}
				if !strings.Contains(body, "<title>Error: Log in") {
					t.Errorf("title does not say Error:\n%.400s", body)
				}
				if tc.pw != "" && strings.Contains(body, tc.pw) {
					t.Errorf("the password is in the answer")
				}
				if strings.HasPrefix(at, "/cgi-bin") && !strings.Contains(body, `action="`+at+`"`) {
					t.Errorf("inline refusal does not post back to %s:\n%.600s", at, body)
				}
			})
		}
	}
}
