package main

import (
	"fmt"
	"net/http"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/server"
	"github.com/websession/websession/internal/site"
)

// newSite builds the reference site for the realm of the login page the
// server hands it (its AuthName, user store, throttle and record of
// logins), so registration writes exactly the keys the login handler would
// and password changes count against the login handler's own throttle.
func newSite(d server.SiteDeps) (http.Handler, error) {
	login := d.Login
	opts := site.Options{
		AuthName:      login.Auth.Name,
		SessionHeader: login.Session.Header,
		Users:         d.Users,
		Throttle:      d.Throttle,
		Logins:        d.Logins,
		// Counted in the database when there is one, so that several
		// servers together allow one limit per address.
		RegisterThrottle: authform.NewThrottle(authform.ThrottleOptions{
			Name: "register", Failures: site.DefaultRegistrations, Window: site.DefaultRegistrationWindow, DB: d.DB,
		}),
		Fail:   d.Fail,
		Logger: d.Logger,
	}
	switch {
	case login.Cookie.Name != "":
		opts.CookieName, opts.CookieAttrs = login.Cookie.Name, login.Cookie.Attrs
		opts.StoreName = fmt.Sprintf("cookie %q", login.Cookie.Name)
		if len(login.Crypto.Passphrases) > 0 {
			opts.StoreName = fmt.Sprintf("encrypted cookie %q (%s)", login.Cookie.Name, login.Crypto.Cipher)
		}
	case login.DBD.CookieName != "":
		opts.CookieName, opts.CookieAttrs = login.DBD.CookieName, login.DBD.CookieAttrs
		opts.StoreName = fmt.Sprintf("PostgreSQL session table, id in cookie %q", login.DBD.CookieName)
	}
	if login.Auth.Name == "" {
		// A configuration without form login (the cookie and crypto
		// examples): the pages still run; registration says it is off.
		opts.AuthName = "site"
	}
	return site.New(opts)
}
