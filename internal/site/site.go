package site

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/users"
	"github.com/websession/websession/static"
)

// maxBodyBytes bounds every form the site reads.
const maxBodyBytes = 64 << 10

// commonPasswordsPath serves users.CommonPasswords to static/password.js.
const commonPasswordsPath = "/static/common-passwords.txt"

// Options configure the site. The integrator fills them from the
// configuration of the /login location.
type Options struct {
	// AuthName is the form-auth realm (e.g. "site"): registration and
	// password change write the session keys <AuthName>-user and
	// <AuthName>-pw, as the login handler does. Required.
	AuthName string
	// Users is the user store new accounts go into and passwords are
	// changed in. nil: registration and password change answer with a
	// page saying they are not configured.
	Users users.Store
	// SessionHeader is the SessionHeader response header (e.g.
	// "X-Replace-Session") through which new credentials reach the
	// session, as the manual's external applications do. "" writes them
	// through session.Load instead.
	SessionHeader string
	// StoreName describes the session store on the inspector, e.g.
	// `encrypted cookie "session"`.
	StoreName string
	// CookieName is the session cookie's name, so that the inspector can
	// show its raw value from the request; CookieAttrs its attributes as
	// configured, which decide its name over TLS (the __Host- prefix).
	CookieName, CookieAttrs string
	// Logger receives internal errors, once each; nil discards.
	Logger *slog.Logger
	// Fail answers the failures that are the server's (internal errors, an
	// unreachable session store): the integrator's one failure renderer,
	// which logs once and shows the page, usually through the site's
	// ErrorPage. nil logs to Logger and renders here.
	Fail func(w http.ResponseWriter, r *http.Request, err error)
	// Throttle limits wrong current passwords on the password change form,
	// as logins are limited; nil gives one with authform's defaults.
	Throttle *authform.Throttle
	// RegisterThrottle limits account creations per client address: every
	// registration that gets as far as hashing its password counts. nil
	// gives DefaultRegistrations per DefaultRegistrationWindow.
	RegisterThrottle *authform.Throttle
	// Logins is the realm's record of ended logins and lifetime: the
	// sessions page, log out everywhere, and a password change ending the
	// other sessions use it. nil: those pages say they are not configured.
	Logins *authform.Logins
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Registration limits per client address (IPv4 address or IPv6 /64): a
// person makes an account or two, a script makes thousands, each a bcrypt
// and a write to the user store.
const (
	DefaultRegistrations      = 10
	DefaultRegistrationWindow = time.Hour
)

// app holds what the handlers share.
type app struct {
	opts      Options
	throttle  *authform.Throttle
	registers *authform.Throttle
	userKey   string
	pwKey     string
	logger    *slog.Logger
	templates map[string]pageTemplate
}

// New returns the site's router. It parses every template once, so a
// broken template stops start-up instead of a request.
func New(opts Options) (http.Handler, error) {
	if opts.AuthName == "" {
		return nil, errors.New("site: AuthName is required (the realm of the login form)")
	}
	a := &app{
		opts:    opts,
		userKey: authform.UserKey(opts.AuthName),
		pwKey:   authform.PasswordKey(opts.AuthName),
		logger:  opts.Logger,
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.opts.Now == nil {
		a.opts.Now = time.Now
	}
	if a.throttle = opts.Throttle; a.throttle == nil {
		a.throttle = authform.NewThrottle(authform.ThrottleOptions{})
	}
	if a.registers = opts.RegisterThrottle; a.registers == nil {
		a.registers = authform.NewThrottle(authform.ThrottleOptions{Failures: DefaultRegistrations, Window: DefaultRegistrationWindow})
	}
	var err error
	if a.templates, err = parseTemplates(); err != nil {
		return nil, err
	}
	return pages{Handler: a.routes(), a: a}, nil
}

// routes is every page of the site in one place.
func (a *app) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.GetHead)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, &Error{Code: errNotFound})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		// chi sets Allow only in its own 405 handler, so list the methods
		// here (RFC 9110 §15.5.6: a 405 must say which ones work).
		w.Header().Set("Allow", strings.Join(allowedMethods(r, req.URL.Path), ", "))
		a.fail(w, req, &Error{Code: errMethod})
	})

	r.Get("/", a.handle(a.home))
	// The logout handler answers 307, as httpd does, so the browser repeats
	// its POST at AuthFormLogoutLocation (here /?loggedout=1): turn it into
	// a GET of the same page, which changes nothing.
	r.Post("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.RequestURI(), http.StatusSeeOther)
	})
	r.Get("/login", a.handle(a.loginPage))
	r.Get("/register", a.handle(a.registerPage))
	r.Post("/register", a.handle(a.register))
	r.Get("/password", a.handle(a.passwordPage))
	r.Post("/password", a.handle(a.changePassword))
	r.Get("/logout", a.handle(a.logoutPage))
	r.Get("/private", http.RedirectHandler("/private/", http.StatusMovedPermanently).ServeHTTP)
	r.Get("/private/", a.handle(a.private))
	r.Get("/session", a.handle(a.inspect))
	r.Get("/sessions", a.handle(a.sessionsPage))
	r.Post("/sessions/end-others", a.handle(a.endOthers))
	r.Post("/sessions/end", a.handle(a.endOne))

	// The live password feedback fetches the list ValidatePassword uses,
	// so that it marks exactly the passwords the server refuses.
	r.Get(commonPasswordsPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(users.CommonPasswords()))
	})
	files, _ := fs.Sub(static.FS, ".")
	r.Handle("/static/*", http.StripPrefix("/static/", http.FileServerFS(files)))
	return r
}

// allowedMethods lists the methods routes has for path. HEAD goes with
// GET, as the GetHead middleware answers it.
func allowedMethods(routes chi.Routes, path string) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if routes.Match(chi.NewRouteContext(), m, path) || m == http.MethodHead && slices.Contains(out, http.MethodGet) {
			out = append(out, m)
		}
	}
	return out
}

// handle adapts a handler that returns an error; every error goes through
// fail, the one place that maps errors to pages.
func (a *app) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	}
}
