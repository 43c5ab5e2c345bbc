package authform

import "net/http"

// Identify returns the middleware of pages outside protected locations
// that show who is logged in (the reference site's navigation): it decides
// from the session's credentials of the realm, as Protect would but
// without requiring anyone, and records the answer for LoggedIn. A request
// that Protect or the login handler has already decided is passed on as
// it is, so that one request checks its credentials once. It never answers
// itself: credentials that cannot be checked (a user store down or busy)
// leave the page showing nobody, with one warning in the log. It must run
// inside session.Middleware and the RecordUser slot.
func Identify(opts Options) (func(http.Handler) http.Handler, error) {
	c, err := opts.compile("Identify", true)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, c.identify(r))
		})
	}, nil
}

// identify records who is logged in on r, unless that is decided already.
// Unlike Protect it does not clear an ended login from the session: a
// page outside protected locations only shows it as logged out.
func (c *config) identify(r *http.Request) *http.Request {
	if decided(r) {
		return r
	}
	sess, err := loadSession(r)
	if err != nil || sess == nil {
		// Sessions off, or a store down: the page itself loads the
		// session and answers that failure.
		return withNobody(r)
	}
	user, _ := sess.Get(c.userKey)
	pw, _ := sess.Get(c.pwKey)
	if user == "" || pw == "" || c.Logins.ended(sess, c.AuthName, user, c.Now()) != "" {
		return withNobody(r)
	}
	// Counted like Protect's check (storedOK): a planted session must not
	// guess passwords through the pages outside protected locations.
	ok, _, err := c.storedOK(r, sess, user, pw)
	if err != nil {
		c.Logger.Warn("credentials not checked; the page shows nobody logged in", "realm", c.AuthName, "path", r.URL.Path, "err", err)
	}
	if !ok {
		return withNobody(r)
	}
	return withIdentified(r, user)
}
