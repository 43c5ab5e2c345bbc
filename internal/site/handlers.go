package site

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/remoteip"
	"github.com/websession/websession/internal/revocation"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
	"github.com/websession/websession/internal/users"
)

// Messages shown next to form fields.
const (
	msgLoginFailed        = "The user name or password is not right."
	msgEnterUser          = "Enter your user name."
	msgEnterLoginPassword = "Enter your password."
	msgEnterPassword      = "Enter a password."
	msgEnterCurrent       = "Enter your current password."
	msgWrongCurrent       = "The current password is not right."
	msgMismatch           = "The two passwords are not the same."
	msgTaken              = "That user name is taken."
	msgNoSession          = "Your account was created. Sessions are off for this page, so please log in."

	msgTooManyAccounts = "Too many accounts were created from your network. Please try again later."
)

// registerKey prefixes the client address as the registration throttle's
// user key; no user name can begin with a NUL.
const registerKey = "\x00register "

func (a *app) home(w http.ResponseWriter, r *http.Request) error {
	d := &pageData{}
	if r.URL.Query().Get("loggedout") == "1" {
		d.Notice = "You are logged out."
	}
	a.render(w, r, http.StatusOK, "home.html", d)
	return nil
}

// loginPage shows the form that posts to the form-login-handler at
// /login. httpd_location is filled from ?next= only for same-site paths.
// Rendered as a protected page's ErrorDocument 401 (?inline=PATH), the form
// posts back to that page instead: mod_auth_form's inline login. Someone
// already logged in is told so rather than offered a second login, except
// inline, where the protected page has just refused their session.
func (a *app) loginPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := &pageData{Form: newForm("httpd_username", "httpd_password"), RegisterEnabled: a.opts.Users != nil, Action: "/login"}
	if q.Get("failed") == "1" {
		d.Form.fail("httpd_username", msgLoginFailed)
	}
	if next := q.Get("next"); authform.SameSitePath(next) {
		d.Next = next
	}
	if inline := q.Get("inline"); authform.SameSitePath(inline) {
		d.Action, d.Next, d.Inline = inline, "", true
	}
	if q.Get("registered") == "1" {
		d.Notice = msgNoSession
	}
	status := http.StatusOK
	if ref, ok := authform.RefusalOf(r); ok {
		// A refused login, rendered by the login handler or, inline, by
		// the protected page: keep what was typed and where the user was
		// going, never the password.
		d.Username = ref.User
		if !d.Inline {
			d.Next = ref.Location
		}
		status = http.StatusUnauthorized
		switch {
		case ref.RetryAfter > 0:
			d.Form.fail("httpd_username", "Too many failed logins for this user name or from this address. Please try again "+authform.InWords(ref.RetryAfter)+".")
			status = http.StatusTooManyRequests
		case ref.User == "":
			d.Form.fail("httpd_username", msgEnterUser)
		case ref.Empty:
			d.Form.fail("httpd_password", msgEnterLoginPassword)
		default:
			d.Form.fail("httpd_username", msgLoginFailed)
		}
	}
	noStore(w)
	a.render(w, r, status, "login.html", d)
	return nil
}

func (a *app) registerPage(w http.ResponseWriter, r *http.Request) error {
	if a.opts.Users == nil {
		return &Error{Code: errNotConfigured}
	}
	noStore(w)
	a.render(w, r, http.StatusOK, "register.html", &pageData{})
	return nil
}

// register creates the account and logs the new user in by writing the
// credentials into the session (the seamless transition).
func (a *app) register(w http.ResponseWriter, r *http.Request) error {
	if a.opts.Users == nil {
		return &Error{Code: errNotConfigured}
	}
	// Learn first whether the session can be written: an unavailable store
	// must not leave an account behind whose creator sees an error.
	canLogin, err := a.sessionWritable(r)
	if err != nil {
		return err
	}
	values, err := readForm(w, r)
	if err != nil {
		return err
	}
	f := newForm("username", "password", "confirm")
	name, pw, confirm := values.Get("username"), values.Get("password"), values.Get("confirm")
	f.Values["username"] = name
	canonical, err := users.CanonicalName(name)
	if err != nil {
		f.fail("username", userMessage(err))
	}
	checkNewPassword(f, name, pw, confirm)
	if f.ok() {
		// The throttle's user key is the address too: it counts per client,
		// never for all registrations together.
		key := registerKey + hostOf(r.RemoteAddr)
		d, err := a.registers.Begin(r.Context(), r, key)
		if err != nil {
			return err
		}
		if d > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
			f.fail("username", msgTooManyAccounts)
			noStore(w)
			a.render(w, r, http.StatusTooManyRequests, "register.html", &pageData{Form: f})
			return nil
		}
		err = a.opts.Users.Add(r.Context(), name, pw)
		var invalid *users.InvalidError
		switch {
		case errors.Is(err, users.ErrExists):
			f.fail("username", msgTaken)
		case errors.As(err, &invalid):
			f.fail(fieldOf(invalid, "username"), invalid.Message)
		case err != nil:
			return err
		}
	}
	if !f.ok() {
		noStore(w)
		a.render(w, r, http.StatusUnprocessableEntity, "register.html", &pageData{Form: f})
		return nil
	}
	// The store keeps the canonical form ("Alice" becomes "alice"); the
	// session holds what the store holds.
	name = canonical
	a.logger.Info("site: user registered", "user", name)
	if !canLogin {
		http.Redirect(w, r, "/login?registered=1", http.StatusSeeOther)
		return nil
	}
	if err := a.logIn(w, r, name, pw); err != nil {
		return err
	}
	http.Redirect(w, r, "/private/", http.StatusSeeOther)
	return nil
}

// requireUser returns the logged-in user, or redirects to the login page
// (the configuration normally does that before the site sees the request).
func (a *app) requireUser(w http.ResponseWriter, r *http.Request) (string, bool) {
	if u := authform.LoggedIn(r); u != "" {
		return u, true
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	return "", false
}

func (a *app) passwordPage(w http.ResponseWriter, r *http.Request) error {
	if a.opts.Users == nil {
		return &Error{Code: errNotConfigured}
	}
	user, ok := a.requireUser(w, r)
	if !ok {
		return nil
	}
	noStore(w)
	a.render(w, r, http.StatusOK, "password.html", &pageData{User: user})
	return nil
}

// changePassword checks the current password, stores the new one and
// writes it into this session, so this session stays logged in while
// every other session of the user fails its next check.
func (a *app) changePassword(w http.ResponseWriter, r *http.Request) error {
	if a.opts.Users == nil {
		return &Error{Code: errNotConfigured}
	}
	user, ok := a.requireUser(w, r)
	if !ok {
		return nil
	}
	if _, err := a.sessionWritable(r); err != nil {
		return err
	}
	values, err := readForm(w, r)
	if err != nil {
		return err
	}
	f := newForm("current", "password", "confirm")
	current, pw, confirm := values.Get("current"), values.Get("password"), values.Get("confirm")
	if current == "" {
		f.fail("current", msgEnterCurrent)
	}
	checkNewPassword(f, user, pw, confirm)
	status := http.StatusUnprocessableEntity
	if f.ok() {
		d, err := a.throttle.Begin(r.Context(), r, user)
		if err != nil {
			return err
		}
		if d > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
			f.fail("current", "Too many wrong passwords. Please try again "+authform.InWords(d)+".")
			status = http.StatusTooManyRequests
		}
	}
	if f.ok() {
		res, err := a.opts.Users.Check(r.Context(), user, current)
		if err != nil {
			return err
		}
		if res != users.Granted {
			a.logger.Warn("site: wrong current password", "user", user, "client", r.RemoteAddr)
			f.fail("current", msgWrongCurrent)
		} else if err := a.throttle.Succeed(r.Context(), r, user); err != nil {
			a.logger.Warn("site: throttle not updated after a right password", "err", err)
		}
	}
	if f.ok() {
		err := a.opts.Users.SetPassword(r.Context(), user, pw)
		var invalid *users.InvalidError
		switch {
		case errors.Is(err, users.ErrNotFound):
			// Deleted since the check: the session is no longer valid.
			http.Redirect(w, r, "/login?failed=1", http.StatusSeeOther)
			return nil
		case errors.As(err, &invalid):
			f.fail(fieldOf(invalid, "password"), invalid.Message)
		case err != nil:
			return err
		}
	}
	if !f.ok() {
		noStore(w)
		a.render(w, r, status, "password.html", &pageData{User: user, Form: f})
		return nil
	}
	a.logger.Info("site: password changed", "user", user)
	if a.opts.Logins != nil && a.opts.Logins.Record != nil {
		// The other sessions fail their next check anyway (their password
		// is wrong now); the record lets them say why.
		if err := a.opts.Logins.EndOthers(r, a.opts.AuthName, revocation.PasswordChanged, a.opts.Now()); err != nil {
			a.logger.Warn("site: other sessions not recorded as ended after a password change", "user", user, "err", err)
		}
	}
	if err := a.updatePassword(w, r, user, pw); err != nil {
		return err
	}
	// Save now: the password is already changed, so if this session cannot
	// take it, say exactly that instead of the store's generic page.
	if err := session.SaveNow(w, r); err != nil && !errors.Is(err, session.ErrNoSession) {
		a.logger.Error("site: password changed but the session not updated", "user", user, "err", err)
		noStore(w)
		w.Header().Set("Retry-After", "5")
		a.render(w, r, http.StatusServiceUnavailable, "error.html", &pageData{
			Title:   "Password changed, session not updated",
			Message: "Your password was changed, but this session could not be updated, so it is logged out. Log in again with your new password.",
		})
		return nil
	}
	http.Redirect(w, r, "/private/?changed=1", http.StatusSeeOther)
	return nil
}

// checkNewPassword validates a new password for user and its
// confirmation.
func checkNewPassword(f *form, user, pw, confirm string) {
	switch {
	case pw == "":
		f.fail("password", msgEnterPassword)
	default:
		if err := users.ValidatePassword(user, pw); err != nil {
			f.fail("password", userMessage(err))
		}
	}
	if confirm != pw {
		f.fail("confirm", msgMismatch)
	}
}

// userMessage is the user-facing message of a users.InvalidError.
func userMessage(err error) string {
	var invalid *users.InvalidError
	if errors.As(err, &invalid) {
		return invalid.Message
	}
	return err.Error()
}

// fieldOf names the form field an InvalidError is about.
func fieldOf(e *users.InvalidError, passwordField string) string {
	if e.Field == users.FieldName {
		return "username"
	}
	return passwordField
}

// sessionWritable reports whether this request has a session the new
// credentials can go into; an unavailable store is an error (503).
func (a *app) sessionWritable(r *http.Request) (bool, error) {
	_, err := session.Load(r)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, session.ErrNoSession):
		return false, nil
	}
	return false, err
}

// logIn writes the credentials of a new login into the session as the
// login handler would: through the SessionHeader response header, which
// the session middleware merges into the session and removes before the
// response leaves (keys and values escaped exactly as Apache does), or
// directly.
func (a *app) logIn(w http.ResponseWriter, r *http.Request, user, pw string) error {
	if a.opts.SessionHeader == "" {
		return a.opts.Logins.Login(r, a.opts.AuthName, user, pw, a.opts.Now())
	}
	a.setSessionHeader(w, r, a.opts.Logins.LoginEntries(r, a.opts.AuthName, user, pw, a.opts.Now()))
	return nil
}

// updatePassword writes the new password into this session, keeping its
// login (the one a password change keeps).
func (a *app) updatePassword(w http.ResponseWriter, r *http.Request, user, pw string) error {
	if a.opts.SessionHeader == "" {
		return authform.Login(r, a.opts.AuthName, user, pw)
	}
	a.setSessionHeader(w, r, [][2]string{{a.userKey, user}, {a.pwKey, pw}})
	return nil
}

func (a *app) setSessionHeader(w http.ResponseWriter, r *http.Request, entries [][2]string) {
	// The site checked these credentials itself: let its own header write
	// them, which a CGI program's header may not.
	session.AllowProtectedHeader(r)
	var b strings.Builder
	for i, e := range entries {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(session.Escape(e[0]) + "=" + session.Escape(e[1]))
	}
	w.Header().Set(a.opts.SessionHeader, b.String())
}

func (a *app) logoutPage(w http.ResponseWriter, r *http.Request) error {
	noStore(w)
	a.render(w, r, http.StatusOK, "logout.html", &pageData{})
	return nil
}

func (a *app) private(w http.ResponseWriter, r *http.Request) error {
	user, ok := a.requireUser(w, r)
	if !ok {
		return nil
	}
	d := &pageData{User: user}
	if r.URL.Query().Get("changed") == "1" {
		d.Notice = "Your password was changed. You are still logged in here; your other sessions have ended."
	}
	a.render(w, r, http.StatusOK, "private.html", d)
	return nil
}

// inspection is what the session inspector shows.
type inspection struct {
	Store      string
	CookieName string
	Raw        []string
	Expiry     *time.Time
	Entries    []inspected
	Off        bool
	// Client is the client address as mod_remoteip decided it (what the
	// throttle, the access log and CGI's REMOTE_ADDR see); Proxy is the
	// peer it came through when that differs.
	Client, Proxy string
}

type inspected struct {
	Key, Value string
	Masked     bool
}

const mask = "••••••••"

// inspect shows the session: the raw cookie, the decoded table with
// password values masked, the expiry and the store.
func (a *app) inspect(w http.ResponseWriter, r *http.Request) error {
	// The name the cookie has on this request: over TLS the store sends
	// and reads it with the __Host- prefix.
	name, _ := cookie.ForRequest(r, a.opts.CookieName, a.opts.CookieAttrs)
	in := &inspection{Store: a.opts.StoreName, CookieName: name, Client: hostOf(r.RemoteAddr)}
	if peer := hostOf(remoteip.Peer(r)); peer != in.Client {
		in.Proxy = peer
	}
	s, err := session.Load(r)
	var secrets []string
	switch {
	case errors.Is(err, session.ErrNoSession):
		in.Off = true
	case err != nil:
		return err
	default:
		for _, k := range s.Keys() {
			v, _ := s.Get(k)
			e := inspected{Key: k, Value: v}
			if isPasswordKey(k) {
				e.Value, e.Masked = "", true
				if v != "" {
					secrets = append(secrets, session.Escape(k)+"="+session.Escape(v))
				}
			}
			in.Entries = append(in.Entries, e)
		}
		if s.Expiry != 0 {
			t := time.UnixMicro(s.Expiry).UTC()
			in.Expiry = &t
		}
	}
	if in.CookieName != "" {
		for _, v := range cookieValues(r, in.CookieName) {
			// A plain (unencrypted) cookie carries the password in clear:
			// mask it in the raw value too.
			for _, sec := range secrets {
				k, _, _ := strings.Cut(sec, "=")
				v = strings.ReplaceAll(v, sec, k+"="+mask)
			}
			in.Raw = append(in.Raw, maskCookie(v))
		}
	}
	// The page shows the session's contents: no cache may keep it.
	noStore(w)
	a.render(w, r, http.StatusOK, "session.html", &pageData{Inspect: in})
	return nil
}

// hostOf is the address of a host:port, or all of it when it has no port.
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// maskCookie shows the start and length of a cookie value, never all of
// it: the cookie is HttpOnly so that scripts cannot read it, and printing
// it into the page would hand it to any script of this origin.
func maskCookie(v string) string {
	const shown = 8
	if len(v) <= shown {
		return mask + fmt.Sprintf(" (%d characters, hidden)", len(v))
	}
	return v[:shown] + mask + fmt.Sprintf(" (%d characters, the rest hidden)", len(v))
}

// isPasswordKey reports whether a session key holds a password
// (mod_auth_form's <AuthName>-pw), compared as APR tables compare keys.
func isPasswordKey(k string) bool {
	return len(k) >= 3 && strings.EqualFold(k[len(k)-3:], "-pw")
}

// cookieValues returns every value of the named cookie as the request
// sent it, read from the Cookie headers directly, so that values
// net/http would reject (Apache's cookies are not always RFC 6265 clean)
// are still shown.
func cookieValues(r *http.Request, name string) []string {
	var out []string
	for _, line := range r.Header.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && k == name {
				out = append(out, v)
			}
		}
	}
	return out
}
