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
// change. The caller must have verified the password. It returns
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
// session, as the logout handler does.
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

// User returns the user authenticated by Protect for this request
// (REMOTE_USER), and false when there is none.
func User(r *http.Request) (string, bool) {
	u, ok := r.Context().Value(userContextKey).(*string)
	if !ok {
		return "", false
	}
	return *u, true
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
			ok := c.siteOK(sess, user)
			if !ok {
				if ok, err = c.verify(r.Context(), user, pw); err != nil {
					c.serverError(w, r, err)
					return
				}
			}
			if ok {
				if !c.permits(user) {
					c.unauthorized(w, r)
					return
				}
				p.serve(w, r, user, pw)
				return
			}
		}
	}
	if r.Method == http.MethodPost {
		p.inline(w, r, sess)
		return
	}
	c.loginRequired(w, r)
}

// inline is the inline login of spec §6.2 step 6: a POST to a protected
// URL carrying a login form.
func (p *protected) inline(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	c := p.c
	f, user, pw, ok := c.login(w, r)
	if !ok {
		return
	}
	c.store(sess, user, pw)
	if !c.permits(user) {
		c.unauthorized(w, r)
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
	p.next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userContextKey, &user)))
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

// attempt checks a login attempt from a form under the throttle. done
// means the answer (429 or 500) has been written.
func (c *config) attempt(w http.ResponseWriter, r *http.Request, user, pw string) (granted, done bool) {
	keys := throttleKeys(r, user)
	if d := c.Throttle.wait(keys); d > 0 {
		c.tooMany(w, d)
		return false, true
	}
	ok, err := c.verify(r.Context(), user, pw)
	if err != nil {
		c.serverError(w, r, err)
		return false, true
	}
	if !ok {
		c.Throttle.fail(keys)
		return false, false
	}
	c.Throttle.succeed(keys)
	return true, false
}

// permits is the authorization step: Require valid-user or user NAME...
func (c *config) permits(user string) bool {
	return c.allowed == nil || c.allowed[user]
}

// store writes the credentials after a successful form login.
func (c *config) store(sess *session.Session, user, pw string) {
	if sess == nil {
		return
	}
	sess.Set(c.userKey, user)
	sess.Set(c.pwKey, pw)
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
		c.loginRequired(w, r)
		return nil, "", "", false
	}
	granted, done := c.attempt(w, r, user, pw)
	if done {
		return nil, "", "", false
	}
	if !granted {
		c.loginRequired(w, r)
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
