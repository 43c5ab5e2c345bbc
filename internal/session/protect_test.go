package session_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
)

// TestProtectedHeaderKeys: a handler's SessionHeader cannot set or delete
// the protected keys, in any spelling, unless the handler was allowed by
// AllowProtectedHeader or the location opts in.
func TestProtectedHeaderKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, cookie string
		allow, optIn         bool
		want                 string
	}{
		{"set refused", "site-user=bob&site-pw=x&a=1", "", false, false, "a=1"},
		{"escaped and other case refused", "SITE%2duser=bob&Site-Pw=x&a=1", "", false, false, "a=1"},
		{"delete refused", "site-user=&a=1", "site-user=alice", false, false, "site-user=alice&a=1"},
		{"allowed handler", "site-user=bob&a=1", "", true, false, "site-user=bob&a=1"},
		{"opt-in location", "site-user=bob&a=1", "", false, true, "site-user=bob&a=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := cookie.NewStore(cookie.Options{Name: "s"})
			if err != nil {
				t.Fatal(err)
			}
			mw, err := session.Middleware(session.Config{Store: st, Header: "X-Replace-Session",
				ProtectedKeys: []string{"site-user", "site-pw", "site-site"}, HeaderMayWriteProtected: tt.optIn})
			if err != nil {
				t.Fatal(err)
			}
			h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.allow {
					session.AllowProtectedHeader(r)
				}
				w.Header().Set("X-Replace-Session", tt.header)
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if tt.cookie != "" {
				req.Header.Set("Cookie", "s="+tt.cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got := rec.Result().Header.Get("Set-Cookie"); !strings.HasPrefix(got, "s="+tt.want+";") {
				t.Fatalf("Set-Cookie %q, want s=%s;", got, tt.want)
			}
		})
	}
}

// TestCacheControlOneHeader: a handler's no-store stays the only
// Cache-Control (issue 15.14); otherwise the session's private one.
func TestCacheControlOneHeader(t *testing.T) {
	t.Parallel()
	st, _ := cookie.NewStore(cookie.Options{Name: "s"})
	mw, _ := session.Middleware(session.Config{Store: st})
	for set, want := range map[string]string{"no-store": "no-store", "private, no-store": "no-store", "public, max-age=60": "no-cache, private", "": "no-cache, private"} {
		rec := httptest.NewRecorder()
		mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if set != "" {
				w.Header().Set("Cache-Control", set)
			}
		})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if got := rec.Result().Header.Values("Cache-Control"); len(got) != 1 || got[0] != want {
			t.Errorf("handler %q: Cache-Control %q, want %q", set, got, want)
		}
	}
}
