package server_test

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/server"

	"github.com/websession/websession/internal/headers"
)

// TestSecurityHeadersEverywhere is issue 15.13's finding: no response
// carried a Content-Security-Policy or X-Frame-Options, so every page
// could be framed. Now every response has them: pages, CGI output,
// static files, errors, redirects, the cross-origin refusal, /healthz.
func TestSecurityHeadersEverywhere(t *testing.T) {
	t.Parallel()
	conf := cgiConf + "Alias /files/ www/\n"
	base := start(t, conf, map[string]string{"www/hello.txt": "hello\n"}, clock)
	for _, c := range []struct {
		method, path string
		hdr          map[string]string
		status       int
	}{
		{"GET", "/cgi-bin/session-demo", nil, 200},
		{"GET", "/files/hello.txt", nil, 200},
		{"GET", "/files/missing", nil, 404},
		{"GET", "/nowhere", nil, 404},
		{"GET", "/x/../files/hello.txt", nil, 301},
		{"POST", "/cgi-bin/session-demo", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403},
		{"GET", "/healthz", nil, 200},
	} {
		res := do(t, c.method, base+c.path, c.hdr)
		if res.status != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, res.status, c.status)
		}
		for k, v := range map[string]string{
			"Content-Security-Policy":    headers.ContentSecurityPolicy,
			"X-Frame-Options":            "DENY",
			"Cross-Origin-Opener-Policy": "same-origin",
		} {
			if got := res.header.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("%s %s: %s = %q, want %q", c.method, c.path, k, got, v)
			}
		}
	}
}

// TestHeaderDirective: operators change and remove headers with Apache's
// Header directive, per location, "always" reaching error responses.
func TestHeaderDirective(t *testing.T) {
	t.Parallel()
	conf := cgiConf + `Alias /files/ www/
Header always set X-Frame-Options SAMEORIGIN
Header set X-Site "websession demo"
<Location /files>
    Header always unset Content-Security-Policy
    Header append X-Site files
</Location>
`
	base := start(t, conf, map[string]string{"www/hello.txt": "hello\n"}, clock)
	for _, c := range []struct {
		path string
		want map[string]string // "" means absent
	}{
		{"/cgi-bin/session-demo", map[string]string{"X-Frame-Options": "SAMEORIGIN", "X-Site": "websession demo", "Content-Security-Policy": headers.ContentSecurityPolicy}},
		{"/nowhere", map[string]string{"X-Frame-Options": "SAMEORIGIN", "X-Site": ""}},
		{"/files/hello.txt", map[string]string{"X-Site": "websession demo, files", "Content-Security-Policy": ""}},
		{"/files/missing", map[string]string{"Content-Security-Policy": "", "X-Site": ""}},
	} {
		res := do(t, "GET", base+c.path, nil)
		for k, v := range c.want {
			if got := res.header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", c.path, k, got, v)
			}
		}
	}
}

// loginCSRFConf protects /private with form authentication; the CGI demo
// writes through the SessionHeader, as in the shipped configurations.
const loginCSRFConf = cgiConf + `SessionEnv On
SessionCryptoPassphrase a-long-enough-test-passphrase
<Location /private>
    AuthType form
    AuthName site
    AuthUserFile users
    Require valid-user
</Location>
`

// TestCGICannotWriteCredentials is issue 15.1's attack: a link to the CGI
// demo with ?set=site-user=bob&site-pw=... logged the visitor in as the
// attacker. The demo no longer writes on GET, and no SessionHeader output
// may write the credential keys unless the location opts in.
func TestCGICannotWriteCredentials(t *testing.T) {
	t.Parallel()
	const set = "/cgi-bin/session-demo?set=site-user=bob&site-pw=builder1&colour=blue"
	for _, c := range []struct {
		name, conf, method string
		wantCreds, wantSet bool
	}{
		{"GET writes nothing", loginCSRFConf, "GET", false, false},
		{"POST cannot write credentials", loginCSRFConf, "POST", false, true},
		{"opt-in location may", loginCSRFConf + "<Location /cgi-bin>\nSessionHeaderAllowCredentials On\n</Location>\n", "POST", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			base := start(t, c.conf, map[string]string{"users": ""}, clock)
			res := do(t, c.method, base+set, nil)
			if res.status != 200 {
				t.Fatalf("status %d", res.status)
			}
			if (len(res.cookies) == 1) != c.wantSet {
				t.Fatalf("Set-Cookie %q, want a cookie: %v", res.cookies, c.wantSet)
			}
			if !c.wantSet {
				return
			}
			cookie, _, _ := strings.Cut(res.cookies[0], ";")
			res = do(t, "GET", base+"/cgi-bin/session-demo", map[string]string{"Cookie": cookie})
			if !strings.Contains(res.body, "colour=blue") {
				t.Fatalf("the harmless key was not written: %q", res.body)
			}
			if got := strings.Contains(res.body, "site-user=bob"); got != c.wantCreds {
				t.Fatalf("credentials written: %v, want %v; CGI saw %q", got, c.wantCreds, res.body)
			}
		})
	}
}

// TestOneCacheControl is issue 15.14's finding: protected pages carried
// two Cache-Control headers, "no-store" and "no-cache, private".
func TestOneCacheControl(t *testing.T) {
	t.Parallel()
	base := start(t, cgiConf+"SessionCryptoPassphrase a-long-enough-test-passphrase\n", nil, clock)
	res := do(t, "POST", base+"/cgi-bin/session-demo?set=a%3D1", nil)
	if got := res.header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-cache, private" {
		t.Fatalf("session response: Cache-Control %q", got)
	}
}

// TestHealthReportsDependencies is issue 15.11's finding: /healthz said
// "ok" while the database was down. It now checks what the configuration
// needs; /livez still says only that the process answers.
func TestHealthReportsDependencies(t *testing.T) {
	t.Parallel()
	conf := cgiConf + `SessionCryptoPassphrase a-long-enough-test-passphrase
<Location /private>
    AuthType form
    AuthName site
    AuthUserFile users
    Require valid-user
</Location>
`
	t.Run("user file", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		base := startIn(t, root, conf, map[string]string{"users": ""}, server.Deps{Now: clock})
		if res := do(t, "GET", base+"/healthz", nil); res.status != 200 || res.body != "ok\n" {
			t.Fatalf("healthy: %d %q", res.status, res.body)
		}
		if err := os.Remove(filepath.Join(root, "users")); err != nil {
			t.Fatal(err)
		}
		res := do(t, "GET", base+"/healthz", nil)
		if res.status != 503 || !strings.Contains(res.body, "user store (file): failing") || strings.Contains(res.body, root) {
			t.Fatalf("user file gone: %d %q", res.status, res.body)
		}
		if res := do(t, "GET", base+"/livez", nil); res.status != 200 {
			t.Fatalf("livez: %d", res.status)
		}
	})
	t.Run("database down", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Open(t)
		if err := database.Migrate(t.Context(), db, "up", io.Discard); err != nil {
			t.Fatal(err)
		}
		dbConf := strings.ReplaceAll(conf, "AuthUserFile users", "AuthFormProvider dbd")
		base := startIn(t, t.TempDir(), dbConf, nil, server.Deps{Now: clock, DB: db})
		if res := do(t, "GET", base+"/healthz", nil); res.status != 200 {
			t.Fatalf("healthy: %d %q", res.status, res.body)
		}
		pgtest.TakeDown(t, db)
		res := do(t, "GET", base+"/healthz", nil)
		if res.status != 503 || !strings.Contains(res.body, "database: unreachable") || !strings.Contains(res.body, "user store (dbd): failing") {
			t.Fatalf("database down: %d %q", res.status, res.body)
		}
	})
}

// startIn is start with a given ServerRoot and Deps.
func startIn(t *testing.T, root, conf string, files map[string]string, deps server.Deps) string {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cgiDir := demoCGI(t)
	cfg, err := config.Parse("test.conf", []byte(conf), config.Options{ServerRoot: root, Getenv: func(k string) string {
		if k == "CGI" {
			return cgiDir
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(t.Context(), cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL
}
