package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/revocation"
	"github.com/websession/websession/internal/site"
	"github.com/websession/websession/internal/users"
)

// newSite builds the reference site for a configuration. The site logs
// people in under the realm of the /login location (its AuthName and user
// store), so registration writes exactly the keys the login handler would.
func newSite(a *app, record *revocation.Record) (http.Handler, error) {
	login := a.cfg.Resolve("/login")
	t := login.Auth.Throttle
	opts := site.Options{
		AuthName:      login.Auth.Name,
		SessionHeader: login.Session.Header,
		Logger:        a.logger,
		Throttle:      authform.NewThrottle(authform.ThrottleOptions{Failures: t.Attempts, Window: t.Window, DB: a.db, Off: t.Attempts == 0}),
		Logins: &authform.Logins{
			Record:   record,
			Lifetime: login.Auth.LoginLifetime,
			MaxAge:   time.Duration(login.Session.MaxAge) * time.Second,
		},
	}
	switch {
	case login.Cookie.Name != "":
		opts.CookieName = login.Cookie.Name
		opts.StoreName = fmt.Sprintf("cookie %q", login.Cookie.Name)
		if len(login.Crypto.Passphrases) > 0 {
			opts.StoreName = fmt.Sprintf("encrypted cookie %q (%s)", login.Cookie.Name, login.Crypto.Cipher)
		}
	case login.DBD.CookieName != "":
		opts.CookieName = login.DBD.CookieName
		opts.StoreName = fmt.Sprintf("PostgreSQL session table, id in cookie %q", login.DBD.CookieName)
	}
	if login.Auth.Name == "" {
		// A configuration without form login (the cookie and crypto
		// examples): the pages still run; registration says it is off.
		opts.AuthName = "site"
	} else if login.Handler == "form-login-handler" {
		stores, err := a.users.For(login.Auth)
		if err != nil {
			return nil, fmt.Errorf("%s: <Location /login>: %w", a.cfg.File, err)
		}
		opts.Users = firstStore(stores)
	}
	return site.New(opts)
}

func firstStore(stores []users.Store) users.Store {
	if len(stores) == 0 {
		return nil
	}
	return stores[0]
}
