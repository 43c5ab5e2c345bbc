package session_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
)

// fixedNow is the test clock: 2026-11-21 12:00:00 UTC.
var fixedNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func nowMicros(offset time.Duration) int64 { return fixedNow.Add(offset).UnixMicro() }

// echo is the test backend, standing in for the manual's CGI program: it
// prints the exported session and, for ?set=..., answers with that value in
// X-Replace-Session; ?put=k:v sets a key through the Go API.
func echo(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("set"); v != "" {
			w.Header().Set("X-Replace-Session", v)
		}
		if kv := r.URL.Query().Get("put"); kv != "" {
			s, err := session.Load(r)
			if err != nil {
				t.Errorf("Load: %v", err)
			} else {
				k, v, _ := strings.Cut(kv, ":")
				s.Set(k, v)
			}
		}
		env, ok := session.EnvValue(r)
		fmt.Fprintf(w, "HTTP_SESSION=%s exported=%v session-header=%q cookie=%q", env, ok, r.Header.Get("Session"), r.Header.Get("Cookie"))
	})
}

type setup struct {
	cfg    session.Config
	cookie cookie.Options
	now    time.Time
}

func serve(t *testing.T, su setup, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	if su.cookie.Name == "" && su.cookie.Name2 == "" {
		su.cookie.Name, su.cookie.Attrs = "session", "path=/"
	}
	st, err := cookie.NewStore(su.cookie)
	if err != nil {
		t.Fatal(err)
	}
	su.cfg.Store = st
	now := su.now
	if now.IsZero() {
		now = fixedNow
	}
	su.cfg.Now = func() time.Time { return now }
	mw, err := session.Middleware(su.cfg)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	mw(echo(t)).ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestScenarios(t *testing.T) {
	header := session.Config{Header: "X-Replace-Session"}
	env := session.Config{Header: "X-Replace-Session", Env: true}
	tests := []struct {
		name        string
		su          setup
		target      string
		hdr         map[string]string
		wantStatus  int
		wantCookies []string
		wantBody    string // substring
		wantCache   string
	}{
		{name: "1 first visit: no cookie written", target: "/", wantStatus: 200, wantCache: "no-cache, private"},
		{name: "2 write via response header", su: setup{cfg: header}, target: "/?set=key1%3Dfoo%26key2%3D%26key3%3Dbar",
			wantStatus: 200, wantCookies: []string{"session=key1=foo&key3=bar;path=/"}},
		{name: "3 read via SessionEnv", su: setup{cfg: env}, target: "/", hdr: map[string]string{"Cookie": "session=key1=foo&key3=bar"},
			wantStatus: 200, wantBody: "HTTP_SESSION=key1=foo&key3=bar exported=true"},
		{name: "4 delete keys: removal cookie", su: setup{cfg: env}, target: "/?set=key1%3D%26key3%3D", hdr: map[string]string{"Cookie": "session=key1=foo&key3=bar"},
			wantStatus: 200, wantCookies: []string{"session=;Max-Age=0;path=/"}},
		{name: "7 default attributes", su: setup{cookie: cookie.Options{Name: "s4"}}, target: "/?put=a:1",
			wantStatus: 200, wantCookies: []string{"s4=a=1;HttpOnly;Secure;Version=1"}},
		{name: "7 default removal", su: setup{cookie: cookie.Options{Name: "s4"}, cfg: header}, target: "/?set=a%3D", hdr: map[string]string{"Cookie": "s4=a=1"},
			wantStatus: 200, wantCookies: []string{"s4=;Max-Age=0;"}},
		{name: "8 SessionCookieRemove", su: setup{cookie: cookie.Options{Name: "session", Attrs: "path=/", Remove: true}, cfg: env},
			target: "/", hdr: map[string]string{"Cookie": "session=a=1; other=1"}, wantStatus: 200, wantBody: `HTTP_SESSION=a=1 exported=true session-header="" cookie=" other=1"`},
		{name: "9a max age on first visit", su: setup{cfg: session.Config{MaxAge: 300}, cookie: cookie.Options{Name: "s2", Attrs: "path=/s2/"}},
			target: "/s2/", wantStatus: 200, wantCookies: []string{fmt.Sprintf("s2=expiry=%d;Max-Age=300;path=/s2/", nowMicros(300*time.Second))}},
		{name: "9b sliding expiry", su: setup{cfg: session.Config{MaxAge: 300}, cookie: cookie.Options{Name: "s2", Attrs: "path=/s2/"}},
			target: "/s2/", hdr: map[string]string{"Cookie": fmt.Sprintf("s2=a=1&expiry=%d", nowMicros(100*time.Second))},
			wantStatus: 200, wantCookies: []string{fmt.Sprintf("s2=a=1&expiry=%d;Max-Age=300;path=/s2/", nowMicros(300*time.Second))}},
		{name: "9c expired cookie starts anew", su: setup{cfg: session.Config{MaxAge: 300}, cookie: cookie.Options{Name: "s2", Attrs: "path=/s2/"}},
			target: "/s2/", hdr: map[string]string{"Cookie": fmt.Sprintf("s2=a=1&expiry=%d", nowMicros(-time.Second))},
			wantStatus: 200, wantCookies: []string{fmt.Sprintf("s2=expiry=%d;Max-Age=300;path=/s2/", nowMicros(300*time.Second))}},
		{name: "10a interval: first visit not written", su: setup{cfg: session.Config{MaxAge: 300, ExpiryUpdateInterval: 60}},
			target: "/", wantStatus: 200},
		{name: "10b interval: written 10s ago", su: setup{cfg: session.Config{MaxAge: 300, ExpiryUpdateInterval: 60}},
			target: "/", hdr: map[string]string{"Cookie": fmt.Sprintf("session=a=1&expiry=%d", nowMicros(290*time.Second))}, wantStatus: 200},
		{name: "10c interval: written 100s ago", su: setup{cfg: session.Config{MaxAge: 300, ExpiryUpdateInterval: 60}},
			target: "/", hdr: map[string]string{"Cookie": fmt.Sprintf("session=a=1&expiry=%d", nowMicros(200*time.Second))},
			wantStatus: 200, wantCookies: []string{fmt.Sprintf("session=a=1&expiry=%d;Max-Age=300;path=/", nowMicros(300*time.Second))}},
		{name: "10d interval: dirty is written", su: setup{cfg: session.Config{MaxAge: 300, ExpiryUpdateInterval: 60}},
			target: "/?put=b:2", hdr: map[string]string{"Cookie": fmt.Sprintf("session=a=1&expiry=%d", nowMicros(290*time.Second))},
			wantStatus: 200, wantCookies: []string{fmt.Sprintf("session=a=1&b=2&expiry=%d;Max-Age=300;path=/", nowMicros(300*time.Second))}},
		{name: "11 include: in scope", su: setup{cfg: session.Config{Env: true, Include: []string{"/app"}, Exclude: []string{"/app/public"}}},
			target: "/app/x", hdr: map[string]string{"Cookie": "session=a=1"}, wantStatus: 200, wantBody: "HTTP_SESSION=a=1 exported=true"},
		{name: "11 exclude wins", su: setup{cfg: session.Config{Env: true, Header: "X-Replace-Session", Include: []string{"/app"}, Exclude: []string{"/app/public"}}},
			target: "/app/public/x?set=a%3D2", hdr: map[string]string{"Cookie": "session=a=1"}, wantStatus: 200, wantBody: "HTTP_SESSION= exported=false"},
		{name: "11 outside include", su: setup{cfg: session.Config{Env: true, Include: []string{"/app"}}},
			target: "/apple", hdr: map[string]string{"Cookie": "session=a=1"}, wantStatus: 200, wantBody: "exported=false"},
		{name: "11 cleaned path", su: setup{cfg: session.Config{Env: true, Include: []string{"/app"}, Exclude: []string{"/app/public"}}},
			target: "/app/x/../public/y", hdr: map[string]string{"Cookie": "session=a=1"}, wantStatus: 200, wantBody: "exported=false"},
		{name: "27 Session request header stripped", su: setup{cfg: env}, target: "/",
			hdr: map[string]string{"Cookie": "session=a=1", "Session": "evil=1"}, wantStatus: 200, wantBody: `HTTP_SESSION=a=1 exported=true session-header=""`},
		{name: "28 SessionHeader as request header ignored", su: setup{cfg: env}, target: "/",
			hdr: map[string]string{"Cookie": "session=a=1", "X-Replace-Session": "injected=1", "X_Replace_Session": "injected=2"}, wantStatus: 200, wantBody: "HTTP_SESSION=a=1 "},
		{name: "29 different duplicates: no session", su: setup{cfg: env}, target: "/",
			hdr: map[string]string{"Cookie": "s1=a=1; s1=a=2; session=a=1; session=a=2"}, wantStatus: 200, wantBody: "HTTP_SESSION= exported=true"},
		{name: "29 identical duplicates", su: setup{cfg: env}, target: "/",
			hdr: map[string]string{"Cookie": "session=a=1; session=a=1"}, wantStatus: 200, wantBody: "HTTP_SESSION=a=1 exported=true"},
		{name: "CVE-2018-17199 expired cookie", su: setup{cfg: env}, target: "/",
			hdr: map[string]string{"Cookie": fmt.Sprintf("session=a=1&expiry=%d", nowMicros(-time.Second))}, wantStatus: 200, wantBody: "HTTP_SESSION= exported=true"},
		{name: "CVE-2018-17199 seconds-sized expiry", su: setup{cfg: env}, target: "/",
			hdr: map[string]string{"Cookie": fmt.Sprintf("session=a=1&expiry=%d", fixedNow.Unix())}, wantStatus: 200, wantBody: "HTTP_SESSION= exported=true"},
		{name: "CVE-2018-17199 future expiry accepted", su: setup{cfg: env}, target: "/",
			hdr: map[string]string{"Cookie": fmt.Sprintf("session=a=1&expiry=%d", nowMicros(100*time.Second))}, wantStatus: 200,
			wantBody: fmt.Sprintf("HTTP_SESSION=a=1&expiry=%d exported=true", nowMicros(100*time.Second))},
		{name: "header on a 302 still saves", su: setup{cfg: header}, target: "/?set=a%3D1", wantStatus: 200, wantCookies: []string{"session=a=1;path=/"}},
		{name: "session header with expiry in the past: not saved", su: setup{cfg: header}, target: "/?set=expiry%3D1", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := serve(t, tt.su, "GET", tt.target, tt.hdr)
			b := body(t, res)
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if got := res.Header.Values("Set-Cookie"); strings.Join(got, "\n") != strings.Join(tt.wantCookies, "\n") {
				t.Errorf("Set-Cookie %q, want %q", got, tt.wantCookies)
			}
			if res.Header.Get("X-Replace-Session") != "" && !strings.Contains(tt.name, "exclude") {
				t.Errorf("X-Replace-Session reached the client")
			}
			if !strings.Contains(b, tt.wantBody) {
				t.Errorf("body %q does not contain %q", b, tt.wantBody)
			}
			if tt.wantCache != "" && res.Header.Get("Cache-Control") != tt.wantCache {
				t.Errorf("Cache-Control %q, want %q", res.Header.Get("Cache-Control"), tt.wantCache)
			}
		})
	}
}

// TestExcludedLeavesSessionHeader: outside the session's scope the header
// is not consumed and reaches the client, as in httpd.
func TestExcludedLeavesSessionHeader(t *testing.T) {
	res := serve(t, setup{cfg: session.Config{Header: "X-Replace-Session", Exclude: []string{"/pub"}}}, "GET", "/pub/x?set=a%3D1", nil)
	if res.Header.Get("X-Replace-Session") != "a=1" || len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("headers %v", res.Header)
	}
}

// TestMalformedInputIsLogged: skipped pairs leave a log line, and the
// well-formed rest of the session is kept.
func TestMalformedInputIsLogged(t *testing.T) {
	var logs strings.Builder
	st, _ := cookie.NewStore(cookie.Options{Name: "session", Attrs: "path=/"})
	mw, _ := session.Middleware(session.Config{Store: st, Env: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "session=a=1&%zz=2&b=%00")
	rec := httptest.NewRecorder()
	mw(echo(t)).ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), "HTTP_SESSION=a=1 ") {
		t.Errorf("body %q", rec.Body.String())
	}
	if !strings.Contains(logs.String(), "malformed session pairs skipped") || !strings.Contains(logs.String(), "pairs=2") {
		t.Errorf("log %q", logs.String())
	}
}

func TestMalformedCookiesAreEmptySessions(t *testing.T) {
	bad := []string{"=", "&=&", "%zz", "a=%zz", strings.Repeat("a=1&", 5000), "a=\x00", "\xff\xfe=\xfd", "session"}
	for _, c := range bad {
		res := serve(t, setup{cfg: session.Config{Env: true}}, "GET", "/", map[string]string{"Cookie": "session=" + c})
		if res.StatusCode != 200 {
			t.Errorf("cookie %.20q: status %d", c, res.StatusCode)
		}
	}
}

// TestOversizeSessionNotSaved: a session too large for a cookie is not
// saved, the page is still served, and nothing is half-written.
func TestOversizeSessionNotSaved(t *testing.T) {
	big := strings.Repeat("x", 5000)
	res := serve(t, setup{}, "GET", "/?put=big:"+big, nil)
	if res.StatusCode != 200 || len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("status %d, cookies %v", res.StatusCode, res.Header.Values("Set-Cookie"))
	}
}

func TestLoadWithoutMiddleware(t *testing.T) {
	if _, err := session.Load(httptest.NewRequest("GET", "/", nil)); err != session.ErrNoSession {
		t.Fatalf("err = %v", err)
	}
}

type downStore struct{}

func (downStore) Load(*http.Request) (session.Stored, bool, error) {
	return session.Stored{}, false, fmt.Errorf("dial: %w", session.ErrUnavailable)
}
func (downStore) Save(*http.Request, http.Header, *session.Session, string) error {
	return session.ErrUnavailable
}

// TestStoreUnavailable: a request that needs the session while the store
// is down gets a 503 page, not a blank session that would be saved over the
// real one.
func TestStoreUnavailable(t *testing.T) {
	mw, err := session.Middleware(session.Config{Store: downStore{}, Header: "X-Replace-Session"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mw(echo(t)).ServeHTTP(rec, httptest.NewRequest("GET", "/?set=a%3D1", nil))
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "HTTP_SESSION") {
		t.Fatalf("status %d body %q", rec.Code, rec.Body.String())
	}
}

// TestStoreUnavailableReportsOnce: the middleware hands an unreachable
// store to Config.Fail, the integrator's one failure renderer, both when it
// loads before the handler and when it saves, and logs nothing itself, so
// an outage is one log line, written by whoever renders it.
func TestStoreUnavailableReportsOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  session.Config
	}{
		{"load before the handler", session.Config{Store: downStore{}, LoadBeforeHandler: true}},
		{"save", session.Config{Store: downStore{}, Header: "X-Replace-Session"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs strings.Builder
			var failed []error
			cfg := tc.cfg
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			cfg.Fail = func(w http.ResponseWriter, r *http.Request, err error) {
				failed = append(failed, err)
				w.WriteHeader(http.StatusTeapot)
			}
			mw, err := session.Middleware(cfg)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			mw(echo(t)).ServeHTTP(rec, httptest.NewRequest("GET", "/?set=a%3D1", nil))
			if len(failed) != 1 || !errors.Is(failed[0], session.ErrUnavailable) || rec.Code != http.StatusTeapot {
				t.Fatalf("Fail called with %v, status %d; want once with ErrUnavailable", failed, rec.Code)
			}
			if strings.Contains(rec.Body.String(), "HTTP_SESSION") {
				t.Errorf("the handler's body went out after the failure: %q", rec.Body.String())
			}
			if logs.Len() != 0 {
				t.Errorf("the middleware logged the outage itself:\n%s", logs.String())
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := session.Middleware(session.Config{}); err == nil || !strings.Contains(err.Error(), "SessionCookieName") {
		t.Errorf("missing store: %v", err)
	}
	st, _ := cookie.NewStore(cookie.Options{Name: "s"})
	if _, err := session.Middleware(session.Config{Store: st, MaxAge: -1}); err == nil || !strings.Contains(err.Error(), "SessionMaxAge") {
		t.Errorf("negative max age: %v", err)
	}
}

func BenchmarkMiddlewareLoadSave(b *testing.B) {
	st, _ := cookie.NewStore(cookie.Options{Name: "session", Attrs: "path=/"})
	mw, _ := session.Middleware(session.Config{Store: st, MaxAge: 3600})
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.Load(r)
		s.Set("visits", "2")
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "session=user=alice&role=admin&theme=dark&lang=en-GB&cart=3&last=%2fshop%2fitem%2f42&tz=Europe%2fLondon&flag=1&name=Alice+Liddell&visits=1&expiry=1795301414392777")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// keptStore is a cookie store that records the LoginKept each save saw.
type keptStore struct {
	session.Store
	kept *[]bool
}

func (k keptStore) Save(r *http.Request, h http.Header, s *session.Session, encoded string) error {
	*k.kept = append(*k.kept, s.LoginKept)
	return k.Store.Save(r, h, s, encoded)
}

// TestLoginKept: a store is told whether a change kept the login (the
// protected keys hold what they held at load), so that only such a change
// may be reachable under the old id.
func TestLoginKept(t *testing.T) {
	t.Parallel()
	const login = "site-user=alice&site-pw=secret"
	for _, tt := range []struct {
		name, cookie, put string
		want              bool
	}{
		{"another key changed", login + "&n=1", "n:2", true},
		{"password changed", login, "site-pw:other", false},
		{"logged in", "n=1", "site-user:alice", false},
		{"no login before or after", "n=1", "n:2", true},
		{"same value written again", login, "site-user:alice", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs, err := cookie.NewStore(cookie.Options{Name: "session", Attrs: "path=/"})
			if err != nil {
				t.Fatal(err)
			}
			var kept []bool
			mw, err := session.Middleware(session.Config{Store: keptStore{cs, &kept}, ProtectedKeys: []string{"site-user", "site-pw"}})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/?put="+url.QueryEscape(tt.put), nil)
			req.Header.Set("Cookie", "session="+tt.cookie)
			mw(echo(t)).ServeHTTP(httptest.NewRecorder(), req)
			if len(kept) != 1 || kept[0] != tt.want {
				t.Fatalf("saves saw LoginKept %v, want one with %v", kept, tt.want)
			}
		})
	}
}
