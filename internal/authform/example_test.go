package authform_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
	"github.com/websession/websession/internal/users"
)

// exampleUsers returns an htpasswd store holding alice/wonderland, and
// what removes it again.
func exampleUsers() (users.Store, func()) {
	dir, err := os.MkdirTemp("", "authform-example")
	if err != nil {
		log.Fatal(err)
	}
	remove := func() { os.RemoveAll(dir) }
	st, err := users.OpenFile(filepath.Join(dir, "passwd"), users.Options{Cost: users.MinCost, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Add(context.Background(), "alice", "wonderland"); err != nil {
		log.Fatal(err)
	}
	return st, func() { st.Close(); remove() }
}

// exampleSessions is "Session On" with "SessionCookieName session path=/".
// (A real site encrypts the cookie: session.Config.Cipher.)
func exampleSessions() func(http.Handler) http.Handler {
	st, err := cookie.NewStore(cookie.Options{Name: "session", Attrs: "path=/"})
	if err != nil {
		log.Fatal(err)
	}
	mw, err := session.Middleware(session.Config{Store: st})
	if err != nil {
		log.Fatal(err)
	}
	return mw
}

// The manual's basic example, a protected area:
//
//	<Location "/admin">
//	    AuthFormProvider file
//	    AuthUserFile "conf/passwd"
//	    AuthType form
//	    AuthName "/admin"
//	    AuthFormLoginRequiredLocation "http://example.com/login.html"
//	    Session On
//	    SessionCookieName session path=/
//	    Require valid-user
//	</Location>
func ExampleProtect() {
	store, done := exampleUsers()
	defer done()
	protect, err := authform.Protect(authform.Options{
		AuthName:              "/admin",
		Providers:             []users.Store{store},
		LoginRequiredLocation: "http://example.com/login.html",
		Require:               authform.Require{ValidUser: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := authform.User(r)
		fmt.Fprintf(w, "hello %s", user)
	})
	h := exampleSessions()(protect(admin))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/admin/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))

	r := httptest.NewRequest("GET", "/admin/", nil)
	r.Header.Set("Cookie", "session=%2fadmin-user=alice&%2fadmin-pw=wonderland")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 302 http://example.com/login.html
	// 200 hello alice
}

// A standalone login handler:
//
//	<Location "/dologin.html">
//	    SetHandler form-login-handler
//	    AuthFormLoginRequiredLocation "http://example.com/login.html"
//	    AuthFormLoginSuccessLocation "http://example.com/admin/index.html"
//	    AuthFormProvider file
//	    AuthUserFile "conf/passwd"
//	    AuthType form
//	    AuthName /admin
//	    Session On
//	    SessionCookieName session path=/
//	</Location>
func ExampleLoginHandler() {
	store, done := exampleUsers()
	defer done()
	login, err := authform.LoginHandler(authform.Options{
		AuthName:              "/admin",
		Providers:             []users.Store{store},
		LoginRequiredLocation: "http://example.com/login.html",
		LoginSuccessLocation:  "http://example.com/admin/index.html",
	})
	if err != nil {
		log.Fatal(err)
	}
	h := exampleSessions()(login)

	for _, body := range []string{
		"httpd_username=alice&httpd_password=wonderland",
		"httpd_username=alice&httpd_password=guess",
	} {
		r := httptest.NewRequest("POST", "/dologin.html", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Header().Get("Location"), rec.Header().Get("Set-Cookie"))
	}
	// Output:
	// 302 http://example.com/admin/index.html session=%2fadmin-user=alice&%2fadmin-pw=wonderland;path=/
	// 302 http://example.com/login.html
}

// A logout handler (POST only):
//
//	<Location "/logout">
//	    SetHandler form-logout-handler
//	    AuthName realm
//	    AuthFormLogoutLocation "http://example.com/loggedout.html"
//	    Session On
//	    SessionCookieName session path=/
//	</Location>
func ExampleLogoutHandler() {
	logout, err := authform.LogoutHandler(authform.Options{
		AuthName:       "realm",
		LogoutLocation: "http://example.com/loggedout.html",
	})
	if err != nil {
		log.Fatal(err)
	}
	h := exampleSessions()(logout)

	r := httptest.NewRequest("POST", "/logout", nil)
	r.Header.Set("Cookie", "session=realm-user=alice&realm-pw=x&other=keep")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Header().Get("Location"), rec.Header().Get("Set-Cookie"))
	// Output:
	// 307 http://example.com/loggedout.html session=other=keep;path=/
}
