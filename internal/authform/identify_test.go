package authform_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
	"github.com/websession/websession/internal/users"
)

// TestIdentify: outside protected locations Identify decides who is
// logged in from the session's credentials, for pages to show, without
// making anyone REMOTE_USER (a per-user store or a CGI program must not
// take a page visitor for an authenticated user), and a request that
// authentication has already decided is left as it is.
func TestIdentify(t *testing.T) {
	t.Parallel()
	_, store := userFile(t, "alice", "wonderland")
	identify, err := authform.Identify(authform.Options{AuthName: "site", Providers: []users.Store{store}})
	if err != nil {
		t.Fatal(err)
	}
	protect, err := authform.Protect(authform.Options{AuthName: "site", Providers: []users.Store{store}, Require: authform.Require{ValidUser: true}})
	if err != nil {
		t.Fatal(err)
	}
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, remote := authform.User(r)
		fmt.Fprintf(w, "shown=%q remote=%q,%v", authform.LoggedIn(r), user, remote)
	})
	st, err := cookie.NewStore(cookie.Options{Name: "session", Attrs: "path=/"})
	if err != nil {
		t.Fatal(err)
	}
	mw, err := session.Middleware(session.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", identify(show))
	mux.Handle("/private/", protect(identify(show)))
	h := authform.RecordUser(mw(mux))
	for _, tc := range []struct {
		name, path, cookie, want string
	}{
		{"right password", "/", "site-user=alice&site-pw=wonderland", `shown="alice" remote="",false`},
		{"wrong password", "/", "site-user=alice&site-pw=nope", `shown="" remote="",false`},
		{"no password", "/", "site-user=alice", `shown="" remote="",false`},
		{"no session", "/", "", `shown="" remote="",false`},
		{"protected", "/private/", "site-user=alice&site-pw=wonderland", `shown="alice" remote="alice",true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.cookie != "" {
				r.Header.Set("Cookie", "session="+tc.cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("%s %q: %s, want %s", tc.path, tc.cookie, got, tc.want)
			}
		})
	}
}
