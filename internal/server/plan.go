package server

import (
	"errors"
	"fmt"

	"github.com/websession/websession/internal/config"
)

// storeKind is where a location keeps its sessions.
type storeKind int

const (
	noStore     storeKind = iota // Session Off
	cookieStore                  // SessionCookieName or SessionCookieName2
	dbdStore                     // SessionDBDCookieName(2) or SessionDBDPerUser
)

// plan is what one location is, decided once from its merged settings.
// Every check and every builder reads the plan instead of looking at the
// directives again, so two places cannot disagree about, say, whether a
// location keeps its sessions in a cookie.
type plan struct {
	set   *config.Settings
	where string // the location, for error messages

	store     storeKind
	encrypted bool // SessionCryptoPassphrase: the stored session is encrypted
	// protected is AuthType form with a Require: requests must carry
	// accepted credentials.
	protected bool
	// handler is SetHandler form-login-handler or form-logout-handler, or "".
	handler string
	// metrics is SetHandler metrics: the Prometheus exposition.
	metrics bool
}

// auth reports whether the location runs any part of mod_auth_form.
func (p *plan) auth() bool { return p.protected || p.handler != "" }

// newPlan decides a location's plan and applies the rules that span
// directives. Its errors name the location.
func newPlan(cfg *config.Config, set *config.Settings) (*plan, error) {
	p := &plan{
		set:       set,
		where:     "server configuration",
		encrypted: len(set.Crypto.Passphrases) > 0,
		protected: set.Auth.IsForm() && set.Auth.Require.Any(),
		handler:   set.Handler,
	}
	if set.Handler == "metrics" {
		p.handler, p.metrics = "", true
	}
	if set.Location != "" {
		p.where = fmt.Sprintf("<Location %s>", set.Location)
	}
	fail := func(err error) (*plan, error) { return nil, fmt.Errorf("%s: %s: %w", cfg.File, p.where, err) }

	hasCookie := set.Cookie.Name != "" || set.Cookie.Name2 != ""
	hasDBD := set.DBD.CookieName != "" || set.DBD.CookieName2 != "" || set.DBD.PerUser
	if set.Session.Enabled {
		switch {
		case hasCookie && hasDBD:
			return fail(errors.New("SessionCookieName and SessionDBDCookieName: both stores are configured for the same location; keep one"))
		case hasCookie:
			p.store = cookieStore
		case hasDBD:
			p.store = dbdStore
		default:
			return fail(errors.New("Session On: no session store; add SessionCookieName (browser cookie) or SessionDBDCookieName (database)"))
		}
	}
	if p.store == dbdStore && cfg.DBD.Driver == "" {
		return fail(errors.New("SessionDBDCookieName: sessions in the database need DBDriver pgsql and DBDParams"))
	}
	if !p.auth() {
		return p, nil
	}
	if p.store == noStore {
		return fail(errors.New("Session: form authentication keeps its credentials in the session; add Session On and a session store"))
	}
	if set.Auth.Name == "" {
		return fail(errors.New("AuthName: form authentication needs an AuthName; it prefixes the session keys"))
	}
	if p.store == cookieStore && !p.encrypted && !set.Auth.AllowPlainCookie {
		return fail(errors.New("AuthType form: the password would travel in a plain cookie; add SessionCryptoPassphrase (or AuthFormAllowPlainCookie On to accept that)"))
	}
	return p, nil
}
