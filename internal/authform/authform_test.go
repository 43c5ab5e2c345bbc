package authform_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/users"
)

const aliceCookie = "%2fadmin-user=alice&%2fadmin-pw=wonderland"

// want is what a response must show; zero fields are not checked.
type want struct {
	status    int
	location  string
	cookie    string   // exact session Set-Cookie line; "-" means none
	cookieHas []string // substrings of the session cookie value
	cache     string   // Cache-Control, joined with ", "
	body      []string // substrings of the body
	notBody   []string
	header    map[string]string
}

func check(t *testing.T, res *http.Response, w want) {
	t.Helper()
	body := readBody(t, res)
	if w.status != 0 && res.StatusCode != w.status {
		t.Errorf("status %d, want %d (body %q)", res.StatusCode, w.status, body)
	}
	if w.location != "" && res.Header.Get("Location") != w.location {
		t.Errorf("Location %q, want %q", res.Header.Get("Location"), w.location)
	}
	value, line, hasCookie := cookieValue(res)
	switch {
	case w.cookie == "-" && hasCookie:
		t.Errorf("unexpected Set-Cookie %q", line)
	case w.cookie != "" && w.cookie != "-" && line != w.cookie:
		t.Errorf("Set-Cookie %q, want %q", line, w.cookie)
	}
	if n := len(res.Header.Values("Set-Cookie")); n > 1 {
		t.Errorf("%d Set-Cookie headers, want at most one", n)
	}
	for _, s := range w.cookieHas {
		if !strings.Contains(value, s) {
			t.Errorf("session cookie %q lacks %q", value, s)
		}
	}
	if w.cache != "" {
		if got := strings.Join(res.Header.Values("Cache-Control"), ", "); got != w.cache {
			t.Errorf("Cache-Control %q, want %q", got, w.cache)
		}
	}
	for _, s := range w.body {
		if !strings.Contains(body, s) {
			t.Errorf("body %q lacks %q", body, s)
		}
	}
	for _, s := range w.notBody {
		if strings.Contains(body, s) {
			t.Errorf("body %q contains %q", body, s)
		}
	}
	for k, v := range w.header {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

const loginPage = "http://example.com/login.html"

// loginForm is the ErrorDocument 401 of the inline login scenarios.
var loginForm = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK) // the status is forced to 401
	fmt.Fprint(w, `<form method="post"><input name="httpd_username" autocomplete="username"></form>`)
})

func TestScenarios(t *testing.T) {
	t.Parallel()
	_, store := userFile(t, "alice", "wonderland", "bob", "builder1")
	protected := siteConfig{provider: store, opts: authform.Options{LoginRequiredLocation: loginPage}}
	plain401 := siteConfig{provider: store}
	standalone := siteConfig{provider: store, opts: authform.Options{
		LoginRequiredLocation: loginPage,
		LoginSuccessLocation:  "http://example.com/admin/index.html",
	}}
	inline := siteConfig{provider: store, opts: authform.Options{ErrorPage401: loginForm}}
	maxAge := inline
	maxAge.sess.MaxAge = 300
	realm := authform.Options{AuthName: "realm", LogoutLocation: "http://example.com/loggedout.html"}
	logout := siteConfig{provider: store, opts: realm}
	logoutNoLoc := siteConfig{provider: store, opts: authform.Options{AuthName: "realm"}}
	logoutMaxAge1 := siteConfig{provider: store, opts: realm, sess: session.Config{MaxAge: 1}}
	siteLogin := siteConfig{provider: store, opts: authform.Options{AuthName: "realm", SitePassphrase: "sitesecret"}, prefix: "/site/"}
	siteArea := siteConfig{provider: store, opts: authform.Options{AuthName: "realm", SitePassphrase: "sitesecret"}, prefix: "/realm/"}
	otherArea := siteConfig{provider: store, opts: authform.Options{AuthName: "realm"}, prefix: "/realm/"}
	fake := siteConfig{provider: store, opts: authform.Options{FakeBasicAuth: true}}
	onlyBob := siteConfig{provider: store, protect: &authform.Options{Require: authform.Require{Users: []string{"bob"}}}}
	replay := url.Values{
		"httpd_username": {"alice"}, "httpd_password": {"wonderland"},
		"httpd_method": {"POST"}, "httpd_mimetype": {"application/x-www-form-urlencoded"},
		"httpd_body": {"name1=value1&name2=value2"},
	}

	tests := []struct {
		name string
		sc   siteConfig
		req  req
		want want
	}{
		{"16 unauthenticated: 302 to the login-required location", protected,
			req{target: "/admin/"},
			want{status: 302, location: loginPage, cookie: "-"}},
		{"16 unauthenticated without location: 401, no-store, no WWW-Authenticate", plain401,
			req{target: "/admin/"},
			want{status: 401, cache: "no-store", cookie: "-", header: map[string]string{"WWW-Authenticate": ""}}},
		{"17a login: 302 to the success location with the credentials", standalone,
			req{target: "/dologin", form: creds("alice", "wonderland")},
			want{status: 302, location: "http://example.com/admin/index.html", cookie: "session=" + aliceCookie + ";path=/"}},
		{"17b wrong password: 302 to the login page, no cookie", standalone,
			req{target: "/dologin", form: creds("alice", "wrong-password")},
			want{status: 302, location: loginPage, cookie: "-"}},
		{"17c GET: 405 with Allow: POST", standalone,
			req{target: "/dologin"},
			want{status: 405, header: map[string]string{"Allow": "POST"}, cookie: "-"}},
		{"17d no locations: a real 200 page", plain401,
			req{target: "/dologin", form: creds("alice", "wonderland")},
			want{status: 200, cookie: "session=" + aliceCookie + ";path=/", body: []string{"logged in"}, notBody: []string{"internal error"}, cache: "no-store"}},
		{"17 failure without location: 401", plain401,
			req{target: "/dologin", form: creds("alice", "wrong-password", "httpd_location", "/admin/x")},
			want{status: 401, cookie: "-", header: map[string]string{"Location": ""}}},
		{"17 missing password: failure", standalone,
			req{target: "/dologin", form: url.Values{"httpd_username": {"alice"}}},
			want{status: 302, location: loginPage, cookie: "-"}},
		{"17 text/plain body has no fields", plain401,
			req{method: "POST", target: "/dologin", body: "httpd_username=alice&httpd_password=wonderland", ct: "text/plain"},
			want{status: 401, cookie: "-"}},
		{"17 first occurrence of a field wins", plain401,
			req{method: "POST", target: "/dologin", body: "httpd_username=alice&httpd_password=wonderland&httpd_password=wrong", ct: "application/x-www-form-urlencoded; charset=UTF-8"},
			want{status: 200, cookieHas: []string{"%2fadmin-pw=wonderland"}}},
		{"18 location field overrides the success location", standalone,
			req{target: "/dologin", form: creds("alice", "wonderland", "httpd_location", "/admin/success.html")},
			want{status: 302, location: "/admin/success.html", cookieHas: []string{"%2fadmin-user=alice"}}},
		{"18 absolute location field not followed", standalone,
			req{target: "/dologin", form: creds("alice", "wonderland", "httpd_location", "https://evil.example/")},
			want{status: 302, location: "http://example.com/admin/index.html"}},
		{"18 scheme-relative location field not followed", standalone,
			req{target: "/dologin", form: creds("alice", "wonderland", "httpd_location", "//evil.example")},
			want{status: 302, location: "http://example.com/admin/index.html"}},
		{"18 backslash location field not followed", plain401,
			req{target: "/dologin", form: creds("alice", "wonderland", "httpd_location", `/\evil.example`)},
			want{status: 200, header: map[string]string{"Location": ""}}},
		{"18 location field with a line break not followed", plain401,
			req{target: "/dologin", form: creds("alice", "wonderland", "httpd_location", "/x\r\nSet-Cookie: a=b")},
			want{status: 200, header: map[string]string{"Location": ""}}},
		{"19 session reuse: 200 as alice", protected,
			req{target: "/admin/", cookie: aliceCookie},
			want{status: 200, cache: "no-store", body: []string{`user="alice" ok=true`}, cookie: "-"}},
		{"20a inline: 401 with the login form and no-store", inline,
			req{target: "/admin/page"},
			want{status: 401, cache: "no-store", body: []string{`<form method="post">`}}},
		{"20b inline login: handler runs as GET with an empty body", inline,
			req{target: "/admin/page", form: creds("alice", "wonderland")},
			want{status: 200, cookie: "session=" + aliceCookie + ";path=/", body: []string{`method=GET ct="" cl=0 body="" auth="" user="alice" ok=true`}}},
		{"20c inline login with location field: 302 there", inline,
			req{target: "/admin/page", form: creds("alice", "wonderland", "httpd_location", "/admin/page")},
			want{status: 302, location: "/admin/page", cookie: "session=" + aliceCookie + ";path=/"}},
		{"20 inline wrong password: location field ignored, 401", inline,
			req{target: "/admin/page", form: creds("alice", "nope-nope", "httpd_location", "/somewhere")},
			want{status: 401, cookie: "-", cache: "no-store", header: map[string]string{"Location": ""}, body: []string{"<form"}}},
		{"20 inline wrong password with login-required location", protected,
			req{target: "/admin/page", form: creds("alice", "nope-nope", "httpd_location", "/somewhere")},
			want{status: 302, location: loginPage, cookie: "-"}},
		{"21 body replay", inline,
			req{target: "/admin/page", form: replay},
			want{status: 200, cookie: "session=" + aliceCookie + ";path=/", body: []string{`method=POST ct="application/x-www-form-urlencoded" cl=25 body="name1=value1&name2=value2" auth="" user="alice"`}}},
		{"21 method without mimetype: 500 with the credentials saved", inline,
			req{target: "/admin/page", form: creds("alice", "wonderland", "httpd_method", "GET")},
			want{status: 500, cookie: "session=" + aliceCookie + ";path=/"}},
		{"21 replay as GET with a body", inline,
			req{target: "/admin/page", form: creds("alice", "wonderland", "httpd_method", "GET", "httpd_mimetype", "text/plain", "httpd_body", "hello")},
			want{status: 200, body: []string{`method=GET ct="text/plain" cl=5 body="hello"`}}},
		{"21 oversize form: 413", inline,
			req{target: "/admin/page", form: creds("alice", "wonderland", "httpd_body", strings.Repeat("x", authform.DefaultSize))},
			want{status: 413, cookie: "-"}},
		{"22 expired session then inline login keeps the credentials", maxAge,
			req{target: "/admin/page", form: creds("alice", "wonderland"), cookie: "expiry=1000"},
			want{status: 200, cookieHas: []string{"%2fadmin-user=alice", "%2fadmin-pw=wonderland", "expiry=" + strconv.FormatInt(fixedNow.Add(300*time.Second).UnixMicro(), 10)}}},
		{"23 logout: 307, no-store, other keys kept", logout,
			req{method: "POST", target: "/logout", cookie: "realm-user=alice&realm-pw=x&other=keep"},
			want{status: 307, location: "http://example.com/loggedout.html", cache: "no-store", cookie: "session=other=keep;path=/"}},
		{"23 logout of a credentials-only session: removal cookie", logout,
			req{method: "POST", target: "/logout", cookie: "realm-user=alice&realm-pw=x"},
			want{status: 307, cookie: "session=;Max-Age=0;path=/"}},
		{"23 logout without a session: removal cookie", logout,
			req{method: "POST", target: "/logout"},
			want{status: 307, cookie: "session=;Max-Age=0;path=/"}},
		{"23 logout without location: 200", logoutNoLoc,
			req{method: "POST", target: "/logout", cookie: "realm-user=alice&realm-pw=x&other=keep"},
			want{status: 200, cookie: "session=other=keep;path=/", body: []string{"logged out"}}},
		{"23 logout by GET: 405", logout,
			req{target: "/logout", cookie: "realm-user=alice&realm-pw=x"},
			want{status: 405, cookie: "-", header: map[string]string{"Allow": "POST"}}},
		{"23 logout by HEAD: 405", logout,
			req{method: "HEAD", target: "/logout", cookie: "realm-user=alice&realm-pw=x"},
			want{status: 405, cookie: "-", header: map[string]string{"Allow": "POST"}}},
		{"24 logout with SessionMaxAge 1", logoutMaxAge1,
			req{method: "POST", target: "/logout", cookie: "realm-user=alice&realm-pw=x&other=keep"},
			want{status: 307, cookie: "session=other=keep&expiry=" + strconv.FormatInt(fixedNow.Add(time.Second).UnixMicro(), 10) + ";Max-Age=1;path=/"}},
		{"25 login with a site passphrase stores the hash", siteLogin,
			req{target: "/dologin", form: creds("alice", "wonderland")},
			want{status: 200, cookie: "session=realm-user=alice&realm-pw=wonderland&realm-site=425c8039f5e99b171a656c6e8c9b297c;path=/"}},
		{"25 site passphrase accepts a wrong stored password", siteArea,
			req{target: "/realm/", cookie: "realm-user=alice&realm-pw=WRONG&realm-site=425c8039f5e99b171a656c6e8c9b297c"},
			want{status: 200, body: []string{`user="alice" ok=true`}}},
		{"25 wrong site hash falls back to the password", siteArea,
			req{target: "/realm/", cookie: "realm-user=alice&realm-pw=WRONG&realm-site=425c8039f5e99b171a656c6e8c9b297d"},
			want{status: 401}},
		{"25 area without the passphrase checks the password", otherArea,
			req{target: "/realm/", cookie: "realm-user=alice&realm-pw=WRONG&realm-site=425c8039f5e99b171a656c6e8c9b297c"},
			want{status: 401, cache: "no-store"}},
		{"26 fake basic auth replaces the client's Authorization", fake,
			req{target: "/admin/", cookie: aliceCookie, hdr: map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}},
			want{status: 200, body: []string{`auth="Basic YWxpY2U6d29uZGVybGFuZA=="`}}},
		{"forged Authorization and Session headers do not authenticate", plain401,
			req{target: "/admin/", hdr: map[string]string{"Authorization": "Basic YWxpY2U6d29uZGVybGFuZA==", "Session": aliceCookie}},
			want{status: 401, notBody: []string{"alice"}}},
		{"forged headers on the fake-basic area do not authenticate", fake,
			req{target: "/admin/", hdr: map[string]string{"Authorization": "Basic YWxpY2U6d29uZGVybGFuZA==", "Session": aliceCookie}},
			want{status: 401}},
		{"73-byte password: the normal failure answer", standalone,
			req{target: "/dologin", form: creds("alice", strings.Repeat("a", 73))},
			want{status: 302, location: loginPage, cookie: "-"}},
		{"unknown user: the same failure answer", standalone,
			req{target: "/dologin", form: creds("mallory", "wonderland")},
			want{status: 302, location: loginPage, cookie: "-"}},
		{"Require user: another user gets 401", onlyBob,
			req{target: "/admin/", cookie: aliceCookie},
			want{status: 401, cache: "no-store"}},
		{"Require user: the named user enters", onlyBob,
			req{target: "/admin/", cookie: "%2fadmin-user=bob&%2fadmin-pw=builder1"},
			want{status: 200, body: []string{`user="bob"`}}},
		{"session for another realm does not count", plain401,
			req{target: "/admin/", cookie: "realm-user=alice&realm-pw=wonderland"},
			want{status: 401}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			check(t, newSite(t, tt.sc).do(tt.req), tt.want)
		})
	}
}

// TestPasswordChangeEndsSession is scenario 19: a session made by a login
// keeps working until the password is changed in the user file by Apache's
// htpasswd; then the same cookie gets 401.
func TestPasswordChangeEndsSession(t *testing.T) {
	t.Parallel()
	path, store := userFile(t, "alice", "wonderland")
	s := newSite(t, siteConfig{provider: store})
	res := s.do(req{target: "/dologin", form: creds("alice", "wonderland")})
	value, _, ok := cookieValue(res)
	if res.StatusCode != 200 || !ok {
		t.Fatalf("login: %d, cookie %v", res.StatusCode, ok)
	}
	check(t, s.do(req{target: "/admin/", cookie: value}), want{status: 200, body: []string{`user="alice" ok=true`}})
	htpasswd(t, "-Bb", path, "alice", "looking-glass")
	check(t, s.do(req{target: "/admin/", cookie: value}), want{status: 401, cache: "no-store"})
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	_, store := userFile(t, "alice", "wonderland")
	th := func(s *site) *authform.Throttle {
		return authform.NewThrottle(authform.ThrottleOptions{Failures: 3, Window: time.Minute, Now: func() time.Time { return *s.now }})
	}
	setup := func(t *testing.T) *site {
		s := newSite(t, siteConfig{provider: store, noLogin: true})
		opts := authform.Options{AuthName: "/admin", Providers: []users.Store{store}, Throttle: th(s), Now: func() time.Time { return *s.now }}
		login, err := authform.LoginHandler(opts)
		if err != nil {
			t.Fatal(err)
		}
		opts.Require.ValidUser = true
		protect, err := authform.Protect(opts)
		if err != nil {
			t.Fatal(err)
		}
		mw, _ := session.Middleware(session.Config{Store: mustCookieStore(t)})
		mux := http.NewServeMux()
		mux.Handle("/dologin", login)
		mux.Handle("/admin/", protect(echo))
		s.handler = mw(mux)
		return s
	}
	tooMany := want{status: 429, header: map[string]string{"Retry-After": "60"}, cookie: "-"}

	// Failures 3: the pair (user, address) gets 3, the user name from all
	// addresses 3*UserFactor, one address under all names 3*AddressFactor.
	t.Run("per user name and address", func(t *testing.T) {
		t.Parallel()
		for _, user := range []string{"alice", "nobody"} {
			s := setup(t)
			for range 3 {
				check(t, s.do(req{target: "/dologin", form: creds(user, "wrong-password"), remote: "192.0.2.1:1000"}), want{status: 401})
			}
			// the right password is refused too from that address, at the
			// login handler and at the inline login
			check(t, s.do(req{target: "/dologin", form: creds(user, "wonderland"), remote: "192.0.2.1:1001"}), tooMany)
			check(t, s.do(req{target: "/admin/x", form: creds(user, "wonderland"), remote: "192.0.2.1:1002"}), tooMany)
			// another user from that address is not affected
			check(t, s.do(req{target: "/dologin", form: creds("bob", "wrong-password"), remote: "192.0.2.1:1003"}), want{status: 401})
			// nor the user from elsewhere: one attacker cannot lock them out
			wantRight := want{status: 401}
			if user == "alice" {
				wantRight = want{status: 200}
			}
			check(t, s.do(req{target: "/dologin", form: creds(user, "wonderland"), remote: "198.51.100.1:1000"}), wantRight)
			*s.now = s.now.Add(30 * time.Second)
			check(t, s.do(req{target: "/dologin", form: creds(user, "wonderland"), remote: "192.0.2.1:1000"}), want{status: 429, header: map[string]string{"Retry-After": "30"}})
			*s.now = s.now.Add(30 * time.Second)
			check(t, s.do(req{target: "/dologin", form: creds(user, "wonderland"), remote: "192.0.2.1:1000"}), wantRight)
		}
	})
	t.Run("per user name", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		for i := range 3 * authform.UserFactor {
			check(t, s.do(req{target: "/dologin", form: creds("alice", "wrong-password"), remote: fmt.Sprintf("192.0.2.%d:1000", i+1)}), want{status: 401})
		}
		// many attackers together: the right password is refused from a
		// fresh address
		check(t, s.do(req{target: "/dologin", form: creds("alice", "wonderland"), remote: "198.51.100.1:1000"}), tooMany)
		check(t, s.do(req{target: "/dologin", form: creds("bob", "wrong-password"), remote: "198.51.100.1:1000"}), want{status: 401})
	})
	t.Run("per client address", func(t *testing.T) {
		t.Parallel()
		s := setup(t)
		for i := range 3 * authform.AddressFactor {
			check(t, s.do(req{target: "/admin/x", form: creds(fmt.Sprintf("user%d", i), "wrong-password"), remote: "[2001:db8::1]:1000"}), want{status: 401})
		}
		// the same /64, another user
		check(t, s.do(req{target: "/dologin", form: creds("erin", "whatever1"), remote: "[2001:db8::2]:1000"}), tooMany)
		// another address is fine
		check(t, s.do(req{target: "/dologin", form: creds("alice", "wonderland"), remote: "[2001:db8:1::1]:1000"}), want{status: 200})
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	_, store := userFile(t, "alice", "wonderland")
	t.Run("user store error: 500 without internals", func(t *testing.T) {
		t.Parallel()
		s := newSite(t, siteConfig{opts: authform.Options{Providers: []users.Store{failingStore{}}}})
		check(t, s.do(req{target: "/admin/", cookie: aliceCookie}), want{status: 500, notBody: []string{"db.internal", "refused"}})
		check(t, s.do(req{target: "/dologin", form: creds("alice", "wonderland")}), want{status: 500, cookie: "-", notBody: []string{"db.internal"}})
	})
	t.Run("non-authoritative: a failing store counts as not found", func(t *testing.T) {
		t.Parallel()
		s := newSite(t, siteConfig{opts: authform.Options{NonAuthoritative: true, Providers: []users.Store{failingStore{}, store}}})
		check(t, s.do(req{target: "/admin/", cookie: aliceCookie}), want{status: 200})
	})
	t.Run("providers in order: first answer other than not found decides", func(t *testing.T) {
		t.Parallel()
		_, other := userFile(t, "alice", "other-password", "bob", "builder1")
		s := newSite(t, siteConfig{opts: authform.Options{Providers: []users.Store{other, store}}})
		check(t, s.do(req{target: "/admin/", cookie: aliceCookie}), want{status: 401})
		s = newSite(t, siteConfig{opts: authform.Options{Providers: []users.Store{store, other}}})
		check(t, s.do(req{target: "/admin/", cookie: "%2fadmin-user=bob&%2fadmin-pw=builder1"}), want{status: 200})
	})
	t.Run("session store down: 503", func(t *testing.T) {
		t.Parallel()
		s := newSite(t, siteConfig{provider: store, store: downStore{}})
		check(t, s.do(req{target: "/admin/"}), want{status: 503})
		check(t, s.do(req{target: "/dologin", form: creds("alice", "wonderland")}), want{status: 503})
		check(t, s.do(req{method: "POST", target: "/logout"}), want{status: 503})
	})
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	_, store := userFile(t, "alice", "wonderland")
	ok := authform.Options{AuthName: "a", Providers: []users.Store{store}, Require: authform.Require{ValidUser: true}}
	tests := []struct {
		name   string
		modify func(*authform.Options)
		errHas string
	}{
		{"no AuthName", func(o *authform.Options) { o.AuthName = "" }, "AuthName"},
		{"no provider", func(o *authform.Options) { o.Providers = nil }, "AuthFormProvider"},
		{"bad field", func(o *authform.Options) { o.UsernameField = "a=b" }, "AuthFormUsername"},
		{"negative size", func(o *authform.Options) { o.Size = -1 }, "AuthFormSize"},
		{"unknown variable", func(o *authform.Options) { o.LoginRequiredLocation = "/login?u=%{REMOTE_ADDR}" }, "REMOTE_ADDR"},
		{"unterminated variable", func(o *authform.Options) { o.LogoutLocation = "/x%{REQUEST_URI" }, "unterminated"},
		{"control character", func(o *authform.Options) { o.LoginSuccessLocation = "/x\ny" }, "control"},
		{"no Require", func(o *authform.Options) { o.Require = authform.Require{} }, "Require"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := ok
			tt.modify(&o)
			_, err := authform.Protect(o)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("Protect: %v, want an error mentioning %q", err, tt.errHas)
			}
		})
	}
	if _, err := authform.LogoutHandler(authform.Options{}); err == nil {
		t.Error("LogoutHandler without AuthName: no error")
	}
	if _, err := authform.LoginHandler(authform.Options{AuthName: "a"}); err == nil {
		t.Error("LoginHandler without provider: no error")
	}
}

func TestLocationExpressions(t *testing.T) {
	t.Parallel()
	s := newSite(t, siteConfig{opts: authform.Options{LoginRequiredLocation: "https://%{HTTP_HOST}/login?back=%{REQUEST_URI}&q=%{QUERY_STRING}"}})
	check(t, s.do(req{target: "http://example.org/admin/a%20b?x=1"}), want{status: 302, location: "https://example.org/login?back=/admin/a%20b&q=x=1"})
}

func TestLoginAndLogoutFunctions(t *testing.T) {
	t.Parallel()
	st := mustCookieStore(t)
	mw, _ := session.Middleware(session.Config{Store: st})
	var err error
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/in" {
			err = authform.Login(r, "/admin", "alice", "wonderland")
		} else {
			err = authform.Logout(r, "/admin")
		}
	}))
	s := &site{t: t, handler: h}
	check(t, s.do(req{target: "/in", cookie: "%2fadmin-site=stale"}), want{cookie: "session=" + aliceCookie + ";path=/"})
	if err != nil {
		t.Fatal(err)
	}
	check(t, s.do(req{target: "/out", cookie: aliceCookie + "&x=1"}), want{cookie: "session=x=1;path=/"})
	if authform.UserKey("/admin") != "/admin-user" || authform.PasswordKey("/admin") != "/admin-pw" || authform.SiteKey("/admin") != "/admin-site" {
		t.Error("session keys")
	}
	if got := authform.SiteHash("alice", "sitesecret"); got != "425c8039f5e99b171a656c6e8c9b297c" {
		t.Errorf("SiteHash = %s", got)
	}
	// Without the session middleware there is no session.
	if err := authform.Login(httpRequest(), "/admin", "alice", "x"); err != session.ErrNoSession {
		t.Errorf("Login without a session: %v", err)
	}
}
