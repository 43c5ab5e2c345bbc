package authform

import (
	"context"
	"errors"
	"fmt"
	"html"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/users"
)

// LoginHandler returns mod_auth_form's form-login-handler (spec §6.4): a
// POSTed login form is checked against the providers and, when right, the
// credentials are stored in the session. Its AuthName must be the one of
// the locations it logs into. It must run inside session.Middleware.
func LoginHandler(opts Options) (http.Handler, error) {
	c, err := opts.compile("LoginHandler", true)
	if err != nil {
		return nil, err
	}
	return &loginHandler{c}, nil
}

type loginHandler struct{ c *config }

func (h *loginHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.c
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		page(w, http.StatusMethodNotAllowed, "Method not allowed", "Log in by submitting the login form.")
		return
	}
	c.noStore(w)
	sess, err := session.Load(r)
	if err != nil {
		c.sessionError(w, r, err)
		return
	}
	f, user, pw, ok := c.login(w, r)
	if !ok {
		return
	}
	c.store(r, sess, user, pw)
	// The session is saved under this user with SessionDBDPerUser.
	r = withUser(r, user)
	if c.redirectAfterLogin(w, r, f) {
		return
	}
	page(w, http.StatusOK, "Logged in", "You are now logged in.")
}

// redirectAfterLogin answers a successful login with 302 to the form's
// location field (same-site paths only) or else to
// AuthFormLoginSuccessLocation; it reports false when neither applies.
func (c *config) redirectAfterLogin(w http.ResponseWriter, r *http.Request, f form) bool {
	if loc, ok := f.get(c.LocationField); ok && SameSitePath(loc) {
		c.redirect(w, r, http.StatusFound, loc)
		return true
	}
	if c.success != nil {
		c.redirect(w, r, http.StatusFound, c.success.eval(r))
		return true
	}
	return false
}

// loginRequired answers an unauthenticated request or a failed login:
// 302 to the login-required location, else 401. The location field is
// never used here.
func (c *config) loginRequired(w http.ResponseWriter, r *http.Request) {
	if c.required != nil {
		c.redirect(w, r, http.StatusFound, c.required.eval(r))
		return
	}
	c.unauthorized(w, r)
}

// LogoutHandler returns mod_auth_form's form-logout-handler (spec §6.5),
// POST only: it removes the realm's credentials from the session. It must
// run inside session.Middleware.
func LogoutHandler(opts Options) (http.Handler, error) {
	c, err := opts.compile("LogoutHandler", false)
	if err != nil {
		return nil, err
	}
	return &logoutHandler{c}, nil
}

type logoutHandler struct{ c *config }

func (h *logoutHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.c
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		page(w, http.StatusMethodNotAllowed, "Method not allowed", "Log out with the logout button.")
		return
	}
	sess, err := loadSession(r)
	if err != nil {
		c.sessionError(w, r, err)
		return
	}
	switch {
	case c.Logins == nil:
		if err := Logout(r, c.AuthName); err != nil && !errors.Is(err, session.ErrNoSession) {
			c.sessionError(w, r, err)
			return
		}
	case sess != nil:
		if err := c.Logins.endLogin(r.Context(), sess, c.AuthName, c.Now()); err != nil {
			// This server refuses the login already; others and a restart
			// may not. The user is logged out here either way.
			c.Logger.Error("logout not recorded", "realm", c.AuthName, "err", err)
		}
	}
	c.noStore(w)
	if c.logout != nil {
		c.redirect(w, r, http.StatusTemporaryRedirect, c.logout.eval(r))
		return
	}
	page(w, http.StatusOK, "Logged out", "You are now logged out.")
}

// unauthorized answers 401 with no WWW-Authenticate (there is no
// challenge a browser could answer), rendered by ErrorPage401.
func (c *config) unauthorized(w http.ResponseWriter, r *http.Request) {
	c.noStore(w)
	if c.ErrorPage401 == nil {
		page(w, http.StatusUnauthorized, "Login required", "Please log in to see this page.")
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusUnauthorized}
	c.ErrorPage401.ServeHTTP(sw, r)
	if !sw.wrote {
		sw.WriteHeader(http.StatusUnauthorized)
	}
}

func (c *config) noStore(w http.ResponseWriter) {
	if !c.DisableNoStore {
		w.Header().Set("Cache-Control", "no-store")
	}
}

// redirect answers status with Location set verbatim (the caller checked
// it); unlike http.Redirect it does not rewrite the target.
func (c *config) redirect(w http.ResponseWriter, r *http.Request, status int, loc string) {
	if hasCTL(loc) {
		c.serverError(w, r, fmt.Errorf("redirect target %q contains a control character", loc))
		return
	}
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, "<!doctype html><title>Redirect</title><p><a href=\"%s\">Continue</a></p>\n", html.EscapeString(loc))
	}
}

// tooMany answers a throttled login attempt: RefusalPage when there is
// one, else a small page; both say when to try again.
func (c *config) tooMany(w http.ResponseWriter, r *http.Request, f form, d time.Duration) {
	c.noStore(w)
	w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10))
	if c.refused(w, r, f, http.StatusTooManyRequests, d) {
		return
	}
	page(w, http.StatusTooManyRequests, "Too many login attempts", "Too many failed logins. Please try again "+InWords(d)+".")
}

// InWords says when a wait of d ends, for people: "in 1 minute", "in
// about 5 minutes", "in 30 seconds".
func InWords(d time.Duration) string {
	switch s := int(math.Ceil(d.Seconds())); {
	case s <= 1:
		return "in a second"
	case s < 60:
		return fmt.Sprintf("in %d seconds", s)
	case s < 90:
		return "in 1 minute"
	case s < 3600:
		return fmt.Sprintf("in about %d minutes", (s+30)/60)
	default:
		return fmt.Sprintf("in about %d hours", (s+1800)/3600)
	}
}

// Refusal is what RefusalPage learns about the login it renders.
type Refusal struct {
	// User is the user name typed into the form.
	User string
	// Location is the form's location field when it is a same-site path:
	// where the user was going.
	Location string
	// RetryAfter is how long to wait, for a throttled attempt; 0 for a
	// wrong password.
	RetryAfter time.Duration
	// Empty is set when the user name or the password was left empty, so
	// nothing was checked.
	Empty bool
}

var refusalContextKey = &contextKey{"authform refusal"}

// RefusalOf returns the refused login a RefusalPage is rendering.
func RefusalOf(r *http.Request) (Refusal, bool) {
	f, ok := r.Context().Value(refusalContextKey).(*Refusal)
	if !ok {
		return Refusal{}, false
	}
	return *f, true
}

// refused renders RefusalPage with status forced; false when there is
// none.
func (c *config) refused(w http.ResponseWriter, r *http.Request, f form, status int, d time.Duration) bool {
	if c.RefusalPage == nil {
		return false
	}
	ref := &Refusal{RetryAfter: d}
	ref.User = f[c.UsernameField]
	ref.Empty = ref.User == "" || f[c.PasswordField] == ""
	if loc := f[c.LocationField]; SameSitePath(loc) {
		ref.Location = loc
	}
	sw := &statusWriter{ResponseWriter: w, status: status}
	c.RefusalPage.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), refusalContextKey, ref)))
	if !sw.wrote {
		sw.WriteHeader(status)
	}
	return true
}

// serverError reports err to Fail, the integrator's one failure
// renderer, when there is one. Without it, it logs err once and answers
// 500 without details, or 503 when the user store refused to start
// another password hash (a login flood, users.ErrBusy).
func (c *config) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if c.Fail != nil {
		c.Fail(w, r, fmt.Errorf("form authentication (realm %s): %w", c.AuthName, err))
		return
	}
	if errors.Is(err, ErrThrottleUnavailable) {
		c.Logger.Error("login throttle unavailable", "realm", c.AuthName, "path", r.URL.Path, "err", err)
		c.noStore(w)
		w.Header().Set("Retry-After", "5")
		page(w, http.StatusServiceUnavailable, "Service unavailable", "Logins cannot be checked right now. Please try again in a moment.")
		return
	}
	if errors.Is(err, users.ErrBusy) {
		c.Logger.Warn("password checks saturated", "realm", c.AuthName, "path", r.URL.Path)
		c.noStore(w)
		w.Header().Set("Retry-After", strconv.Itoa(int(users.BusyRetryAfter.Seconds())))
		page(w, http.StatusServiceUnavailable, "Busy", "The server is checking too many passwords at once. Please try again in a few seconds.")
		return
	}
	c.Logger.Error("form authentication failed", "realm", c.AuthName, "path", r.URL.Path, "err", err)
	page(w, http.StatusInternalServerError, "Internal server error", "Something went wrong on our side. Please try again later.")
}

// sessionError answers a session that could not be loaded: 503 when the
// store is down, else 500.
func (c *config) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	if c.Fail != nil {
		c.Fail(w, r, err)
		return
	}
	if errors.Is(err, session.ErrUnavailable) {
		c.Logger.Error("session store unavailable", "realm", c.AuthName, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		page(w, http.StatusServiceUnavailable, "Service unavailable", "Sessions cannot be read right now. Please try again in a moment.")
		return
	}
	c.serverError(w, r, err)
}

// page writes a small HTML page.
func page(w http.ResponseWriter, status int, title, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>%s</title><h1>%s</h1><p>%s</p>\n", html.EscapeString(title), html.EscapeString(title), html.EscapeString(msg))
}

// statusWriter forces the status of an error page.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(int) {
	if w.wrote {
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(w.status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(w.status)
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
