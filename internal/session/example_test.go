package session_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
)

// The mod_session manual's basic example:
//
//	Session On
//	SessionCookieName session path=/
//	SessionHeader X-Replace-Session
//
// A handler writes the session through the response header, as the
// manual's CGI program does; the header never reaches the client.
func ExampleMiddleware() {
	store, _ := cookie.NewStore(cookie.Options{Name: "session", Attrs: "path=/"})
	mw, _ := session.Middleware(session.Config{Store: store, Header: "X-Replace-Session"})
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Replace-Session", "key1=foo&key2=&key3=bar")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Header().Get("Set-Cookie"))
	fmt.Println(rec.Header().Get("X-Replace-Session") == "")
	// Output:
	// session=key1=foo&key3=bar;path=/
	// true
}

// Handlers use the session through the Go API, never through cookies:
// ap_session_get and ap_session_set.
func ExampleLoad() {
	store, _ := cookie.NewStore(cookie.Options{Name: "session", Attrs: "path=/;HttpOnly"})
	mw, _ := session.Middleware(session.Config{Store: store})
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := session.Load(r)
		if err != nil {
			http.Error(w, "no session", http.StatusInternalServerError)
			return
		}
		visits, _ := s.Get("visits")
		s.Set("visits", visits+"I")
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "session=visits=II")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Header().Get("Set-Cookie"))
	// Output: session=visits=III;path=/;HttpOnly
}
