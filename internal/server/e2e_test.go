package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/server"
	"github.com/websession/websession/internal/site"
)

// demoCGI is the repository's CGI fixture (the manual's example program).
func demoCGI(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../cgi-bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p, "session-demo")); err != nil {
		t.Fatalf("CGI fixture missing: %v", err)
	}
	return p
}

// start runs a server for a configuration text on a loopback port. The
// text may use ${CGI} for the fixture folder. Files are written under the
// ServerRoot first.
func start(t *testing.T, conf string, files map[string]string, now func() time.Time) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cgiDir := demoCGI(t)
	cfg, err := config.Parse("test.conf", []byte(conf), config.Options{
		ServerRoot: root,
		Getenv: func(k string) string {
			if k == "CGI" {
				return cgiDir
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(t.Context(), cfg, server.Deps{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL
}

type response struct {
	status  int
	header  http.Header
	body    string
	cookies []string
}

func do(t *testing.T, method, url string, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = []string{v}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(b), res.Header.Values("Set-Cookie")}
}

const cgiConf = `
Session On
SessionCookieName session path=/
SessionHeader X-Replace-Session
ScriptAlias /cgi-bin/ ${CGI}/
`

var testNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return testNow }

func micros(d time.Duration) int64 { return testNow.Add(d).UnixMicro() }

// TestScenariosEndToEnd runs the documented examples of spec §9 against a
// real server and the manual's CGI program.
func TestScenariosEndToEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		conf     string
		path     string
		hdr      map[string]string
		status   int
		cookies  []string
		inBody   []string
		notBody  []string
		cacheCtl string
	}{
		{name: "1 first visit", conf: "Session On\nSessionCookieName session path=/\nScriptAlias /cgi-bin/ ${CGI}/\n",
			path: "/cgi-bin/session-demo", status: 200, cacheCtl: "no-cache, private"},
		{name: "2 write via X-Replace-Session", conf: cgiConf, path: "/cgi-bin/session-demo?set=key1=foo&key2=&key3=bar",
			status: 200, cookies: []string{"session=key1=foo&key3=bar;path=/"}},
		{name: "3 read via SessionEnv", conf: cgiConf + "SessionEnv On\n", path: "/cgi-bin/session-demo",
			hdr: map[string]string{"Cookie": "session=key1=foo&key3=bar"}, status: 200, inBody: []string{"HTTP_SESSION=key1=foo&key3=bar\n"}},
		{name: "4 delete keys", conf: cgiConf + "SessionEnv On\n", path: "/cgi-bin/session-demo?set=key1=&key3=",
			hdr: map[string]string{"Cookie": "session=key1=foo&key3=bar"}, status: 200, cookies: []string{"session=;Max-Age=0;path=/"}},
		{name: "6 attributes verbatim", conf: "Session On\nSessionCryptoPassphrase secret\nSessionCookieName session path=/private;domain=example.com;httponly;secure;\nSessionHeader X-Replace-Session\nScriptAlias /cgi-bin/ ${CGI}/\n",
			path: "/cgi-bin/session-demo?set=a=1", status: 200, cookies: []string{"session=*;path=/private;domain=example.com;httponly;secure;"}},
		{name: "7 default attributes", conf: "Session On\nSessionCookieName s4\nSessionHeader X-Replace-Session\nScriptAlias /cgi-bin/ ${CGI}/\n",
			path: "/cgi-bin/session-demo?set=a=1", status: 200, cookies: []string{"s4=a=1;HttpOnly;Secure;Version=1"}},
		{name: "7 default removal", conf: "Session On\nSessionCookieName s4\nSessionHeader X-Replace-Session\nScriptAlias /cgi-bin/ ${CGI}/\n",
			path: "/cgi-bin/session-demo?set=a=", hdr: map[string]string{"Cookie": "s4=a=1"}, status: 200, cookies: []string{"s4=;Max-Age=0;"}},
		{name: "8 SessionCookieRemove", conf: cgiConf + "SessionEnv On\nSessionCookieRemove On\n", path: "/cgi-bin/session-demo",
			hdr: map[string]string{"Cookie": "session=a=1; other=1"}, status: 200, inBody: []string{"HTTP_SESSION=a=1\n"}},
		{name: "9a MaxAge first visit", conf: "Session On\nSessionMaxAge 300\nSessionCookieName s2 path=/\nScriptAlias /cgi-bin/ ${CGI}/\n",
			path: "/cgi-bin/session-demo", status: 200, cookies: []string{fmt.Sprintf("s2=expiry=%d;Max-Age=300;path=/", micros(300*time.Second))}},
		{name: "9c expired cookie treated as new", conf: "Session On\nSessionMaxAge 300\nSessionCookieName s2 path=/\nSessionEnv On\nScriptAlias /cgi-bin/ ${CGI}/\n",
			path: "/cgi-bin/session-demo", hdr: map[string]string{"Cookie": fmt.Sprintf("s2=a=1&expiry=%d", micros(-time.Second))},
			status: 200, cookies: []string{fmt.Sprintf("s2=expiry=%d;Max-Age=300;path=/", micros(300*time.Second))}, notBody: []string{"a=1"}},
		{name: "10b interval spares the write", conf: "Session On\nSessionMaxAge 300\nSessionExpiryUpdateInterval 60\nSessionCookieName s2 path=/\nScriptAlias /cgi-bin/ ${CGI}/\n",
			path: "/cgi-bin/session-demo", hdr: map[string]string{"Cookie": fmt.Sprintf("s2=a=1&expiry=%d", micros(290*time.Second))}, status: 200},
		{name: "10c interval passed", conf: "Session On\nSessionMaxAge 300\nSessionExpiryUpdateInterval 60\nSessionCookieName s2 path=/\nScriptAlias /cgi-bin/ ${CGI}/\n",
			path: "/cgi-bin/session-demo", hdr: map[string]string{"Cookie": fmt.Sprintf("s2=a=1&expiry=%d", micros(200*time.Second))},
			status: 200, cookies: []string{fmt.Sprintf("s2=a=1&expiry=%d;Max-Age=300;path=/", micros(300*time.Second))}},
		{name: "11 included", conf: cgiConf + "SessionEnv On\nSessionInclude /cgi-bin/session-demo\nSessionExclude /cgi-bin/session-demo/public\n",
			path: "/cgi-bin/session-demo/x", hdr: map[string]string{"Cookie": "session=a=1"}, status: 200, inBody: []string{"HTTP_SESSION=a=1\n"}},
		{name: "11 excluded", conf: cgiConf + "SessionEnv On\nSessionInclude /cgi-bin/session-demo\nSessionExclude /cgi-bin/session-demo/public\n",
			path: "/cgi-bin/session-demo/public/x", hdr: map[string]string{"Cookie": "session=a=1"}, status: 200, inBody: []string{"HTTP_SESSION=\n"}},
		{name: "27 Session header spoofing", conf: cgiConf + "SessionEnv On\n", path: "/cgi-bin/session-demo",
			hdr: map[string]string{"Cookie": "session=a=1", "Session": "evil=1", "session": "evil=2", "SESSION": "evil=3"}, status: 200,
			inBody: []string{"HTTP_SESSION=a=1\n"}, notBody: []string{"evil"}},
		{name: "28 SessionHeader as request header", conf: cgiConf + "SessionEnv On\n", path: "/cgi-bin/session-demo",
			hdr: map[string]string{"Cookie": "session=a=1", "X-Replace-Session": "injected=1", "X_Replace_Session": "injected=2"}, status: 200,
			inBody: []string{"HTTP_SESSION=a=1\n"}, notBody: []string{"injected"}},
		{name: "29 different duplicates", conf: cgiConf + "SessionEnv On\n", path: "/cgi-bin/session-demo",
			hdr: map[string]string{"Cookie": "session=a=1; session=a=2"}, status: 200, inBody: []string{"HTTP_SESSION=\n"}},
		{name: "29 identical duplicates", conf: cgiConf + "SessionEnv On\n", path: "/cgi-bin/session-demo",
			hdr: map[string]string{"Cookie": "session=a=1; session=a=1"}, status: 200, inBody: []string{"HTTP_SESSION=a=1\n"}},
		{name: "malformed cookie", conf: cgiConf + "SessionEnv On\n", path: "/cgi-bin/session-demo",
			hdr: map[string]string{"Cookie": "session=&=&%zz=\xff"}, status: 200, inBody: []string{"HTTP_SESSION=\n"}},
		{name: "huge cookie", conf: cgiConf + "SessionEnv On\n", path: "/cgi-bin/session-demo",
			hdr: map[string]string{"Cookie": "session=" + strings.Repeat("a=1&", 3000)}, status: 200, inBody: []string{"HTTP_SESSION=\n"}},
		{name: "malformed SessionHeader", conf: cgiConf, path: "/cgi-bin/session-demo?set==&%zz=1&ok=1", status: 200, cookies: []string{"session=ok=1;path=/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := start(t, tt.conf, nil, clock)
			method := "GET"
			if strings.Contains(tt.path, "set=") {
				method = "POST" // the demo writes the session on POST only
			}
			res := do(t, method, base+tt.path, tt.hdr)
			if res.status != tt.status {
				t.Errorf("status %d, want %d; body %q", res.status, tt.status, res.body)
			}
			if len(res.cookies) != len(tt.cookies) {
				t.Fatalf("Set-Cookie %q, want %q", res.cookies, tt.cookies)
			}
			for i, want := range tt.cookies {
				got := res.cookies[i]
				if pre, post, wild := strings.Cut(want, "*"); wild {
					if !strings.HasPrefix(got, pre) || !strings.HasSuffix(got, post) || len(got) <= len(pre)+len(post) {
						t.Errorf("Set-Cookie %q, want %q", got, want)
					}
				} else if got != want {
					t.Errorf("Set-Cookie %q, want %q", got, want)
				}
			}
			if res.header.Get("X-Replace-Session") != "" {
				t.Error("X-Replace-Session reached the client")
			}
			for _, s := range tt.inBody {
				if !strings.Contains(res.body, s) {
					t.Errorf("body %q lacks %q", res.body, s)
				}
			}
			for _, s := range tt.notBody {
				if strings.Contains(res.body, s) {
					t.Errorf("body %q contains %q", res.body, s)
				}
			}
			if tt.cacheCtl != "" && res.header.Get("Cache-Control") != tt.cacheCtl {
				t.Errorf("Cache-Control %q, want %q", res.header.Get("Cache-Control"), tt.cacheCtl)
			}
		})
	}
}

// TestCookieRemoveHidesCookieFromCGI checks scenario 8's backend view: the
// CGI program sees only the other cookie.
func TestCookieRemoveHidesCookieFromCGI(t *testing.T) {
	t.Parallel()
	root := start(t, "Session On\nSessionCookieName session path=/\nSessionCookieRemove On\nScriptAlias /c/ cgi/\n",
		map[string]string{"cgi/env": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nHTTP_COOKIE=[%s]\\n' \"$HTTP_COOKIE\"\n"}, clock)
	res := do(t, "GET", root+"/c/env", map[string]string{"Cookie": "session=a=1; other=1"})
	if !strings.Contains(res.body, "HTTP_COOKIE=[ other=1]") {
		t.Fatalf("CGI saw %q", res.body)
	}
}

func TestStartupErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ conf, want string }{
		{"Session On\n", "no session store"},
		{"Session On\nSessionCookieName s path=/\nSessionDBDCookieName d path=/\n", "both stores"},
		{"Session On\nSessionCookieName s path=/\n<Location /p>\nAuthType form\nAuthName x\nAuthUserFile u\nRequire valid-user\n</Location>\n", "SessionCryptoPassphrase"},
		{"Session On\nSessionDBDCookieName s path=/\n", "DBDriver"},
		// SessionCookieName2 is as plain a cookie as SessionCookieName.
		{"Session On\nSessionCookieName2 s path=/\n<Location /p>\nAuthType form\nAuthName x\nAuthUserFile u\nRequire valid-user\n</Location>\n", "<Location /p>: AuthType form: the password would travel in a plain cookie"},
		{"Session On\nSessionCookieName2 s path=/\n<Location /login>\nSetHandler form-login-handler\nAuthType form\nAuthName x\nAuthUserFile u\n</Location>\n", "<Location /login>: AuthType form: the password would travel in a plain cookie"},
	}
	for _, tt := range tests {
		cfg, err := config.Parse("bad.conf", []byte(tt.conf), config.Options{ServerRoot: t.TempDir()})
		if err != nil {
			t.Fatalf("%q: parse: %v", tt.conf, err)
		}
		_, err = server.New(t.Context(), cfg, server.Deps{})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "bad.conf: ") {
			t.Errorf("%q: error %v, want one naming the file and %q", tt.conf, err, tt.want)
		}
	}
}

func TestCrossOriginPostRejected(t *testing.T) {
	t.Parallel()
	base := start(t, cgiConf, nil, clock)
	res := do(t, "POST", base+"/cgi-bin/session-demo?set=a=1", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if res.status != http.StatusForbidden || len(res.cookies) != 0 {
		t.Fatalf("cross-origin POST: status %d, cookies %q", res.status, res.cookies)
	}
	// A page saying why, not net/http's plain-text refusal.
	if !strings.Contains(res.body, "<h1>") || strings.Contains(res.body, "cross-origin request detected") {
		t.Errorf("cross-origin refusal body %q", res.body)
	}
}

// TestDotSegmentsCannotLeaveALocation: a path that walks out of one
// location into a protected one is redirected to its clean spelling, so
// the protected location's settings apply.
func TestDotSegmentsCannotLeaveALocation(t *testing.T) {
	t.Parallel()
	conf := cgiConf + `SessionCryptoPassphrase secret
<Location /cgi-bin/session-demo>
    AuthType form
    AuthName site
    AuthUserFile users
    Require valid-user
</Location>
`
	base := start(t, conf, map[string]string{"users": ""}, clock)
	for _, p := range []string{"/x/../cgi-bin/session-demo", "/cgi-bin/./session-demo", "//cgi-bin/session-demo"} {
		res := do(t, "GET", base+p, nil)
		if res.status != http.StatusMovedPermanently || res.header.Get("Location") != "/cgi-bin/session-demo" {
			t.Errorf("%s: status %d Location %q, want 301 to the clean path", p, res.status, res.header.Get("Location"))
		}
	}
	if res := do(t, "GET", base+"/cgi-bin/session-demo", nil); res.status != http.StatusUnauthorized {
		t.Errorf("the clean path: status %d, want 401", res.status)
	}
}

// TestAlias serves files under an Alias, without directory listings, as
// httpd does without Options Indexes.
func TestAlias(t *testing.T) {
	t.Parallel()
	base := start(t, "Alias /files/ www/\n", map[string]string{"www/hello.txt": "hello\n", "www/sub/x.txt": "x"}, clock)
	if res := do(t, "GET", base+"/files/hello.txt", nil); res.status != 200 || res.body != "hello\n" {
		t.Errorf("file: %d %q", res.status, res.body)
	}
	if res := do(t, "GET", base+"/files/sub/", nil); res.status != http.StatusNotFound {
		t.Errorf("directory listing: status %d", res.status)
	}
	if res := do(t, "GET", base+"/elsewhere.txt", nil); res.status != http.StatusNotFound {
		t.Errorf("outside the alias: status %d", res.status)
	}
}

// TestSiteURLContract: the URLs the site's forms post to are checked at
// start-up, so moving the login handler or dropping the logout handler
// stops the server instead of leaving forms that post into nothing.
func TestSiteURLContract(t *testing.T) {
	t.Parallel()
	const session = "Session On\nSessionCookieName s path=/\nSessionCryptoPassphrase a-long-enough-test-passphrase\n"
	handler := func(path, h string) string {
		return "<Location " + path + ">\nSetHandler " + h + "\nAuthType form\nAuthName site\nAuthUserFile u\n</Location>\n"
	}
	site := func(server.SiteDeps) (http.Handler, error) { return http.NotFoundHandler(), nil }
	tests := []struct{ name, conf, want string }{
		{"login handler elsewhere", session + handler("/signin", "form-login-handler"), "<Location /signin>: SetHandler form-login-handler: the site's login form posts to /login"},
		{"no logout handler", session + handler("/login", "form-login-handler"), "<Location /logout>: the site's logout button posts here"},
		{"both in place", session + handler("/login", "form-login-handler") + handler("/logout", "form-logout-handler"), ""},
		{"another login handler beside them", session + handler("/dologin.html", "form-login-handler") + handler("/login", "form-login-handler") + handler("/logout", "form-logout-handler"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			if err := os.WriteFile(filepath.Join(root, "u"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse("site.conf", []byte(tt.conf), config.Options{ServerRoot: root})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := server.New(t.Context(), cfg, server.Deps{Site: site})
			if srv != nil {
				srv.Close()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), "site.conf: "+tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestServerOwnPages: a server without the site answers a missing path,
// file or CGI program and a cross-origin post with a whole page (language,
// main landmark, title, description), not net/http's plain text; with the
// site, the missing program and file get the site's 404 page.
func TestServerOwnPages(t *testing.T) {
	t.Parallel()
	conf := cgiConf + "Alias /files/ www/\n"
	files := map[string]string{"www/hello.txt": "hello\n"}
	bare := start(t, conf, files, clock)
	for _, c := range []struct {
		method, path string
		hdr          map[string]string
		status       int
		title        string
	}{
		{"GET", "/nowhere", nil, 404, "Page not found"},
		{"GET", "/files/missing", nil, 404, "Page not found"},
		{"GET", "/cgi-bin/no-such-program", nil, 404, "Page not found"},
		{"POST", "/cgi-bin/session-demo", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403, "Request refused"},
	} {
		res := do(t, c.method, bare+c.path, c.hdr)
		if res.status != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, res.status, c.status)
		}
		for _, want := range []string{`<html lang="en">`, "<main>", "<title>" + c.title + "</title>", `<meta name="description" content="` + c.title + `: `, `name="viewport"`, "<h1>" + c.title + "</h1>"} {
			if !strings.Contains(res.body, want) {
				t.Errorf("%s %s: page lacks %s:\n%s", c.method, c.path, want, res.body)
			}
		}
		if ct := res.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
		}
	}

	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "www", "hello.txt"), "hello\n")
	cfg, err := config.Parse("test.conf", []byte(cgiConf+"Alias /files/ www/\n"), config.Options{ServerRoot: root,
		Getenv: func(k string) string { return map[string]string{"CGI": demoCGI(t)}[k] }})
	if err != nil {
		t.Fatal(err)
	}
	newSite := func(d server.SiteDeps) (http.Handler, error) {
		return site.New(site.Options{AuthName: "site", Fail: d.Fail, Logger: d.Logger, Throttle: d.Throttle})
	}
	srv, err := server.New(t.Context(), cfg, server.Deps{Site: newSite})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	for _, p := range []string{"/cgi-bin/no-such-program", "/files/missing"} {
		res := do(t, "GET", ts.URL+p, nil)
		if res.status != http.StatusNotFound || !strings.Contains(res.body, `href="/static/site.css"`) || !strings.Contains(res.body, "Page not found") {
			t.Errorf("%s with the site: %d %q, want the site's 404 page", p, res.status, res.body)
		}
	}
	if res := do(t, "GET", ts.URL+"/files/hello.txt", nil); res.status != 200 || res.body != "hello\n" {
		t.Errorf("file with the site: %d %q", res.status, res.body)
	}
}

func mustWrite(t *testing.T, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
