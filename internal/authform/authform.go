package authform

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/users"
)

// AuthType is the value integrators export as AUTH_TYPE for requests
// authenticated by this package.
const AuthType = "form"

// UserKey is the session key holding the login name for realm authName
// (mod_auth_form's "<AuthName>-user").
func UserKey(authName string) string { return authName + "-user" }

// PasswordKey is the session key holding the password, in clear inside
// the session: "<AuthName>-pw". Use encrypted cookies or a database store.
func PasswordKey(authName string) string { return authName + "-pw" }

// SiteKey is the session key holding the site passphrase hash:
// "<AuthName>-site".
func SiteKey(authName string) string { return authName + "-site" }

// SiteHash is the value stored under SiteKey: lowercase hex
// MD5(user ":" passphrase), as mod_auth_form computes it.
func SiteHash(user, passphrase string) string {
	sum := md5.Sum([]byte(user + ":" + passphrase))
	return hex.EncodeToString(sum[:])
}

// Login writes credentials into the request's session, as a successful
// form login does (without a site passphrase hash, which it removes): for
// the site's own pages that log a user in after registration or a password
// change. Logins.Login also starts a new login id. The caller must have verified the password. It returns
// session.ErrNoSession when sessions are off for the request.
func Login(r *http.Request, authName, user, password string) error {
	if authName == "" {
		return errors.New("authform: Login: AuthName is required")
	}
	s, err := session.Load(r)
	if err != nil {
		return err
	}
	s.Set(UserKey(authName), user)
	s.Set(PasswordKey(authName), password)
	s.Delete(SiteKey(authName))
	return nil
}

// Logout removes the credentials of realm authName from the request's
// session, as the logout handler does without a record of ended logins.
func Logout(r *http.Request, authName string) error {
	if authName == "" {
		return errors.New("authform: Logout: AuthName is required")
	}
	s, err := session.Load(r)
	if err != nil {
		return err
	}
	s.Delete(UserKey(authName))
	s.Delete(PasswordKey(authName))
	s.Delete(SiteKey(authName))
	return nil
}

// contextKey is the type of the request-context key carrying the user.
type contextKey struct{ name string }

var userContextKey = &contextKey{"authform user"}

// userSlot is where authentication records what it decided for one
// request, so that nothing after it decides again.
type userSlot struct {
	// decided is set once Protect, the login handler or Identify has
	// looked at the request's credentials.
	decided bool
	// user is whom they accepted; "" for nobody.
	user string
	// remote marks user as REMOTE_USER: accepted where authentication
	// applies (Protect, the login handler), not only identified for a
	// page outside protected locations.
	remote bool
}

// RecordUser puts a slot in the request context where Protect and the
// login handler record whom they authenticated. Put it outside
// session.Middleware: code that holds the request as the session
// middleware received it, such as a per-user session store saving at the
// end of the request (SessionDBDPerUser), then learns the user too, as
// every httpd module of a request sees r->user.
func RecordUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userContextKey, &userSlot{})))
	})
}

// User returns the user authenticated for this request (REMOTE_USER): by
// Protect, or by the login handler on a successful login. false when there
// is none.
func User(r *http.Request) (string, bool) {
	u, ok := r.Context().Value(userContextKey).(*userSlot)
	if !ok || !u.remote {
		return "", false
	}
	return u.user, true
}

// LoggedIn returns who is logged in on this request, as decided once by
// Protect, the login handler or Identify: for pages that show it. "" when
// nobody is, or nothing decided.
func LoggedIn(r *http.Request) string {
	u, ok := r.Context().Value(userContextKey).(*userSlot)
	if !ok {
		return ""
	}
	return u.user
}

// decided reports whether authentication has already decided who the
// request's user is.
func decided(r *http.Request) bool {
	u, ok := r.Context().Value(userContextKey).(*userSlot)
	return ok && u.decided
}

// withUser records user as the request's authenticated user: in the
// RecordUser slot when there is one, else in a new one.
func withUser(r *http.Request, user string) *http.Request {
	return record(r, userSlot{decided: true, user: user, remote: true})
}

// withNobody records that the request's credentials were looked at and
// nobody is logged in, so that the page rendered next (an ErrorDocument
// 401, say) does not check them a second time.
func withNobody(r *http.Request) *http.Request {
	return record(r, userSlot{decided: true})
}

// withIdentified records user as logged in without making them
// REMOTE_USER: their credentials are right, but this location does not
// accept them (Require user) or does not ask (Identify).
func withIdentified(r *http.Request, user string) *http.Request {
	return record(r, userSlot{decided: true, user: user})
}

func record(r *http.Request, s userSlot) *http.Request {
	if u, ok := r.Context().Value(userContextKey).(*userSlot); ok {
		*u = s
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), userContextKey, &s))
}

// Protect returns the middleware of a protected location (AuthType form
// with Require): every request must carry credentials in its session that
// the providers accept (or a matching site passphrase hash), or log in
// inline with a POSTed login form. It must run inside session.Middleware.
func Protect(opts Options) (func(http.Handler) http.Handler, error) {
	c, err := opts.compile("Protect", true)
	if err != nil {
		return nil, err
	}
	if !c.Require.ValidUser && len(c.Require.Users) == 0 {
		return nil, errNoRequire
	}
	return func(next http.Handler) http.Handler {
		return &protected{c: c, next: next}
	}, nil
}

type protected struct {
	c    *config
	next http.Handler
}

func (p *protected) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := p.c
	sess, err := loadSession(r)
	if err != nil {
		c.sessionError(w, r, err)
		return
	}
	if sess != nil {
		user, _ := sess.Get(c.userKey)
		pw, _ := sess.Get(c.pwKey)
		if user != "" && pw != "" {
			if why := c.Logins.ended(sess, c.AuthName, user, c.Now()); why != "" {
				clearLogin(sess, c.AuthName)
				sess.Set(NoticeKey(c.AuthName), why)
			} else if ok, done := c.checkStored(w, r, sess, user, pw); done {
				return
			} else if ok {
				if !c.permits(user) {
					// Authenticated, not authorized: the 401 page may say
					// who is logged in.
					c.unauthorized(w, withIdentified(r, user))
					return
				}
				now := c.Now()
				lg := readLogin(sess, c.AuthName)
				force := false
				if c.Logins != nil && (lg.sid == "" || lg.since.IsZero()) {
					// A session logged in by httpd, or before login ids:
					// it gets one now, so that it can be logged out.
					lg = loginOf{sid: startLogin(sess, c.AuthName, now), since: now}
					force = true
				}
				c.Logins.seen(r, user, lg.sid, lg.since, now, force)
				p.serve(w, r, user, pw)
				return
			}
		} else if session.Expired(r) {
			sess.Set(NoticeKey(c.AuthName), NoticeExpired)
		}
	}
	r = withNobody(r)
	if r.Method == http.MethodPost {
		p.inline(w, r, sess)
		return
	}
	c.loginRequired(w, r)
}

// checkStored checks credentials found in the session (storedOK),
// answering a throttled or failed check. done means the answer has been
// written.
func (c *config) checkStored(w http.ResponseWriter, r *http.Request, sess *session.Session, user, pw string) (ok, done bool) {
	ok, wait, err := c.storedOK(r, sess, user, pw)
	return ok, c.unchecked(w, r, nil, wait, err)
}

// storedOK checks credentials found in the session. Credentials this
// process has seen right before are checked directly (the user store
// answers from its cache); others are counted by the throttle like a
// login form's, so that credentials planted in a session (a forged
// cookie, a SessionHeader) cannot guess passwords unthrottled. wait and
// err are counted's.
func (c *config) storedOK(r *http.Request, sess *session.Session, user, pw string) (ok bool, wait time.Duration, err error) {
	if c.siteOK(sess, user) {
		return true, 0, nil
	}
	if c.good.has(user, pw) {
		ok, err := c.verify(r.Context(), user, pw)
		if err == nil && !ok {
			c.good.remove(user, pw) // changed or deleted since
		}
		return ok, 0, err
	}
	ok, wait, err = c.counted(r, user, pw)
	if ok {
		c.good.add(user, pw)
	}
	return ok, wait, err
}

// inline is the inline login of spec §6.2 step 6: a POST to a protected
// URL carrying a login form.
func (p *protected) inline(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	c := p.c
	f, user, pw, ok := c.login(w, r)
	if !ok {
		return
	}
	c.store(r, sess, user, pw)
	if !c.permits(user) {
		c.unauthorized(w, withIdentified(r, user))
		return
	}
	if c.redirectAfterLogin(w, r, f) {
		return
	}
	r2, status := c.replay(r, f)
	if status != 0 {
		// The credentials are saved all the same, as httpd does.
		page(w, status, "The saved request cannot be replayed", "The login succeeded, but the form asked to replay a request without saying how. Please go back and try again.")
		return
	}
	p.serve(w, r2, user, pw)
}

// replay rebuilds the request the login form interrupted. With the method
// field, the method, Content-Type and body come from the form (httpd's
// form-redirect-handler); without it the handler runs as GET with an empty
// body (the manual's promise; httpd runs POST with an empty body).
func (c *config) replay(r *http.Request, f form) (*http.Request, int) {
	method, hasMethod := f.get(c.MethodField)
	mimetype, hasMimetype := f.get(c.MimetypeField)
	body, hasBody := f.get(c.BodyField)
	r2 := r.Clone(r.Context())
	r2.Form, r2.PostForm, r2.MultipartForm = nil, nil, nil
	r2.Header.Del("Content-Length")
	switch {
	case !hasMethod:
		r2.Method = http.MethodGet
		hasMimetype, hasBody = false, false
	case method != r.Method:
		if !hasMimetype || !hasBody {
			return nil, http.StatusInternalServerError
		}
		if !validMethod(method) {
			return nil, http.StatusBadRequest
		}
		r2.Method = method
	}
	if hasMimetype && hasBody {
		r2.Header.Set("Content-Type", mimetype)
		r2.Header.Set("Content-Length", strconv.Itoa(len(body)))
		r2.Body = io.NopCloser(strings.NewReader(body))
		r2.ContentLength = int64(len(body))
	} else {
		r2.Header.Del("Content-Type")
		r2.Body = http.NoBody
		r2.ContentLength = 0
	}
	return r2, 0
}

// validMethod reports whether m is an HTTP token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// serve passes an authenticated request on.
func (p *protected) serve(w http.ResponseWriter, r *http.Request, user, pw string) {
	if p.c.FakeBasicAuth {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pw)))
	}
	if !p.c.DisableNoStore {
		w.Header().Set("Cache-Control", "no-store")
	}
	p.next.ServeHTTP(w, withUser(r, user))
}

// loadSession returns the request's session, nil when sessions are off.
func loadSession(r *http.Request) (*session.Session, error) {
	s, err := session.Load(r)
	if errors.Is(err, session.ErrNoSession) {
		return nil, nil
	}
	return s, err
}

// siteOK is the site passphrase shortcut (check_site), compared in
// constant time.
func (c *config) siteOK(sess *session.Session, user string) bool {
	if c.SitePassphrase == "" {
		return false
	}
	stored, ok := sess.Get(c.siteKey)
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(stored), []byte(SiteHash(user, c.SitePassphrase))) == 1
}

// verify asks the providers in order; the first answer other than
// NotFound decides.
func (c *config) verify(ctx context.Context, user, pw string) (bool, error) {
	for _, p := range c.Providers {
		res, err := p.Check(ctx, user, pw)
		if err != nil {
			if c.NonAuthoritative {
				c.Logger.Warn("user store failed; trying the next one", "realm", c.AuthName, "err", err)
				continue
			}
			return false, err
		}
		switch res {
		case users.Granted:
			return true, nil
		case users.Denied:
			return false, nil
		}
	}
	return false, nil
}

// attempt checks a password under the throttle (counted), answering a
// throttled or failed check. done means the answer (429, 503 or 500) has
// been written.
func (c *config) attempt(w http.ResponseWriter, r *http.Request, f form, user, pw string) (granted, done bool) {
	granted, wait, err := c.counted(r, user, pw)
	return granted, c.unchecked(w, r, f, wait, err)
}

// unchecked answers a check that could not be made: err (503 or 500) or a
// throttle's wait (429, with f shown again when there is one). It reports
// whether it wrote an answer.
func (c *config) unchecked(w http.ResponseWriter, r *http.Request, f form, wait time.Duration, err error) bool {
	switch {
	case err != nil:
		c.serverError(w, r, err)
		return true
	case wait > 0:
		c.tooMany(w, r, f, wait)
		return true
	}
	return false
}

// counted checks a password under the throttle: the attempt is counted
// before the check, and a right password takes it back. A positive wait
// means a limit is reached and the password was not checked. Failures and
// throttled attempts are logged with the user name and client address.
func (c *config) counted(r *http.Request, user, pw string) (granted bool, wait time.Duration, err error) {
	d, err := c.Throttle.Begin(r.Context(), r, user)
	if err != nil {
		return false, 0, err
	}
	if d > 0 {
		c.Logger.Warn("login throttled", "realm", c.AuthName, "user", user, "client", clientAddr(r), "retry_after", d.Round(time.Second).String())
		c.observeLogin("throttled")
		return false, d, nil
	}
	ok, err := c.verify(r.Context(), user, pw)
	if err != nil {
		return false, 0, err
	}
	if !ok {
		c.Logger.Warn("login failed", "realm", c.AuthName, "user", user, "client", clientAddr(r))
		c.observeLogin("failure")
		return false, 0, nil
	}
	c.observeLogin("success")
	if err := c.Throttle.Succeed(r.Context(), r, user); err != nil {
		c.Logger.Warn("login throttle not updated after a right password", "realm", c.AuthName, "err", err)
	}
	return true, 0, nil
}

func (c *config) observeLogin(outcome string) {
	if c.ObserveLogin != nil {
		c.ObserveLogin(outcome)
	}
}

// permits is the authorization step: Require valid-user or user NAME...
func (c *config) permits(user string) bool {
	return c.allowed == nil || c.allowed[user]
}

// store writes the credentials after a successful form login.
func (c *config) store(r *http.Request, sess *session.Session, user, pw string) {
	if sess == nil {
		return
	}
	sess.Set(c.userKey, user)
	sess.Set(c.pwKey, pw)
	if c.Logins != nil {
		now := c.Now()
		c.Logins.seen(r, user, startLogin(sess, c.AuthName, now), now, now, true)
	}
	if c.SitePassphrase != "" {
		sess.Set(c.siteKey, SiteHash(user, c.SitePassphrase))
	} else {
		sess.Delete(c.siteKey)
	}
}

// login reads a login form and checks its credentials, throttled. ok is
// false when it has already answered: a bad form, an empty field, too many
// attempts, a provider error, or a refusal (then the location field is not
// followed, where httpd follows it even after a failure).
func (c *config) login(w http.ResponseWriter, r *http.Request) (f form, user, pw string, ok bool) {
	if f, ok = c.readForm(w, r); !ok {
		return nil, "", "", false
	}
	user, pw = f[c.UsernameField], f[c.PasswordField]
	if user == "" || pw == "" {
		// Nothing to check: the page can keep the name and say which
		// field is empty.
		if !c.refused(w, r, f, http.StatusUnauthorized, 0) {
			c.loginRequired(w, r)
		}
		return nil, "", "", false
	}
	granted, done := c.attempt(w, r, f, user, pw)
	if done {
		return nil, "", "", false
	}
	if !granted {
		if !c.refused(w, r, f, http.StatusUnauthorized, 0) {
			c.loginRequired(w, r)
		}
		return nil, "", "", false
	}
	return f, user, pw, true
}

// readForm reads the login form, answering 413 or 400 itself.
func (c *config) readForm(w http.ResponseWriter, r *http.Request) (form, bool) {
	f, err := readForm(r, c.Size)
	switch {
	case errors.Is(err, errFormTooLarge):
		page(w, http.StatusRequestEntityTooLarge, "Form too large", "The login form is larger than this server accepts.")
		return nil, false
	case err != nil:
		page(w, http.StatusBadRequest, "Bad request", "The login form could not be read.")
		return nil, false
	}
	return f, true
}
