package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/users"
)

// authBuilder makes the mod_auth_form parts of each location. Locations
// with the same throttle limits share one throttle, so failures at the
// login handler and at inline logins add up.
type authBuilder struct {
	deps      Deps
	users     *users.Registry
	fail      func(http.ResponseWriter, *http.Request, error)
	throttles map[config.Throttle]*authform.Throttle
	logins    map[[2]time.Duration]*authform.Logins
}

// throttle shares one throttle per limit; with a database its counters
// live there, so every server on the database enforces one limit.
func (a *authBuilder) throttle(t config.Throttle) *authform.Throttle {
	if th, ok := a.throttles[t]; ok {
		return th
	}
	th := authform.NewThrottle(authform.ThrottleOptions{Failures: t.Attempts, Window: t.Window, DB: a.deps.DB, Now: a.deps.Now, Off: t.Attempts == 0})
	a.throttles[t] = th
	return th
}

// loginsFor is the login record of a location: the shared record of ended
// logins with the location's lifetime and idle timeout.
func (a *authBuilder) loginsFor(set *config.Settings) *authform.Logins {
	k := [2]time.Duration{set.Auth.LoginLifetime, time.Duration(set.Session.MaxAge) * time.Second}
	if l, ok := a.logins[k]; ok {
		return l
	}
	l := &authform.Logins{Record: a.deps.Record, Lifetime: k[0], MaxAge: k[1], Table: a.deps.LoginTable, Logger: a.deps.Logger}
	a.logins[k] = l
	return l
}

// siteDeps is the login realm the site shares: its first user store and
// its throttle, the very ones the login handler at that path uses.
func (a *authBuilder) siteDeps(login *config.Settings) (SiteDeps, error) {
	sd := SiteDeps{Login: login, Logger: a.deps.Logger, Fail: a.fail, Throttle: a.throttle(login.Auth.Throttle), Logins: a.loginsFor(login), DB: a.deps.DB}
	if login.Auth.Name == "" || login.Handler != "form-login-handler" {
		return sd, nil
	}
	stores, err := Providers(a.users, login.Auth, a.deps.Logger)
	if err != nil {
		return sd, err
	}
	if len(stores) > 0 {
		sd.Users = stores[0]
	}
	return sd, nil
}

// identify decides, for the site's pages, who is logged in where no
// protected location or login handler has: the realm of the site's login
// page, checked against that handler's user stores. nil when the login
// page has no login handler (nobody is shown logged in outside protected
// locations then).
func (a *authBuilder) identify(login *config.Settings) (func(http.Handler) http.Handler, error) {
	if login.Auth.Name == "" || login.Handler != "form-login-handler" {
		return nil, nil
	}
	// Identify renders no page, so the options need no content.
	opts, err := a.options(login, nil)
	if err != nil {
		return nil, err
	}
	return authform.Identify(opts)
}

// handler wraps content with the SetHandler or protection of a location.
// newPlan has already refused the combinations that cannot work.
func (a *authBuilder) handler(p *plan, content http.Handler) (http.Handler, error) {
	if !p.auth() {
		return content, nil
	}
	set := p.set
	opts, err := a.options(set, content)
	if err != nil {
		return nil, err
	}
	switch set.Handler {
	case "form-login-handler":
		h, err := authform.LoginHandler(opts)
		if err != nil {
			return nil, err
		}
		return pageOnGet(h, content, a.deps.Site != nil), nil
	case "form-logout-handler":
		h, err := authform.LogoutHandler(opts)
		if err != nil {
			return nil, err
		}
		return pageOnGet(h, content, a.deps.Site != nil), nil
	}
	protect, err := authform.Protect(opts)
	if err != nil {
		return nil, err
	}
	return protect(content), nil
}

// pageOnGet lets the page that lives at a handler's URL answer GET and
// HEAD (the reference site's login form and logout button), while the
// handler acts on everything else.
func pageOnGet(handler, page http.Handler, hasPages bool) http.Handler {
	if !hasPages {
		return handler
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			page.ServeHTTP(w, r)
			return
		}
		handler.ServeHTTP(w, r)
	})
}

func (a *authBuilder) options(set *config.Settings, content http.Handler) (authform.Options, error) {
	au := set.Auth
	var providers []users.Store
	if set.Handler != "form-logout-handler" {
		var err error
		if providers, err = Providers(a.users, au, a.deps.Logger); err != nil {
			return authform.Options{}, err
		}
	}
	opts := authform.Options{
		AuthName:              au.Name,
		Require:               authform.Require{ValidUser: au.Require.ValidUser, Users: au.Require.Users},
		Providers:             providers,
		NonAuthoritative:      !au.Authoritative,
		UsernameField:         au.UsernameField,
		PasswordField:         au.PasswordField,
		LocationField:         au.LocationField,
		MethodField:           au.MethodField,
		MimetypeField:         au.MimetypeField,
		BodyField:             au.BodyField,
		Size:                  au.Size,
		LoginRequiredLocation: au.LoginRequiredLocation,
		LoginSuccessLocation:  au.LoginSuccessLocation,
		LogoutLocation:        au.LogoutLocation,
		FakeBasicAuth:         au.FakeBasicAuth,
		DisableNoStore:        au.DisableNoStore,
		SitePassphrase:        au.SitePassphrase,
		Throttle:              a.throttle(au.Throttle),
		Logins:                a.loginsFor(set),
		Fail:                  a.fail,
		Logger:                a.deps.Logger,
		Now:                   a.deps.Now,
	}
	if a.deps.Metrics != nil {
		opts.ObserveLogin = a.deps.Metrics.Login
	}
	if doc, ok := set.ErrorDocuments[http.StatusUnauthorized]; ok && strings.HasPrefix(doc, "/") {
		opts.ErrorPage401 = errorDocument(doc, content)
		if a.deps.Site != nil {
			// An inline login refused: the site's form again, keeping the
			// typed name and saying why, rather than a blank one.
			opts.RefusalPage = opts.ErrorPage401
		}
	}
	if set.Handler == "form-login-handler" && a.deps.Site != nil {
		opts.RefusalPage = refusalPage(SiteLoginPath, content)
	}
	return opts, nil
}

// Providers returns the user stores of a location's AuthFormProvider
// list, in order, from reg, which shares one store per file and per query.
func Providers(reg *users.Registry, au config.AuthSettings, logger *slog.Logger) ([]users.Store, error) {
	var out []users.Store
	for _, p := range au.Providers {
		uo := users.Options{Cost: au.BcryptCost, Logger: logger}
		var st users.Store
		var err error
		switch p {
		case "file":
			if au.UserFile == "" {
				return nil, errors.New("AuthUserFile: AuthFormProvider file needs AuthUserFile")
			}
			if st, err = reg.File(au.UserFile, uo); err != nil {
				return nil, fmt.Errorf("AuthUserFile: %w", err)
			}
		case "dbd":
			uo.Query = au.DBDUserPWQuery
			if st, err = reg.DB(uo); err != nil {
				return nil, fmt.Errorf("AuthDBDUserPWQuery: %w", err)
			}
		default:
			return nil, fmt.Errorf("AuthFormProvider: unknown provider %q (use file or dbd)", p)
		}
		out = append(out, st)
	}
	return out, nil
}

// errorDocument renders the local ErrorDocument path, as httpd's internal
// redirect to an ErrorDocument does (authform forces the 401 status). The
// page learns the protected URL from ?inline=, so a login form there can
// post back to it.
func errorDocument(path string, content http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.Method = http.MethodGet
		r2.URL.Path, r2.URL.RawQuery = path, "inline="+url.QueryEscape(r.URL.RequestURI())
		r2.Body, r2.ContentLength = http.NoBody, 0
		content.ServeHTTP(w, r2)
	})
}

// refusalPage renders a refused login with the site's login form at path,
// as a GET, whichever login handler refused it (one may stand beside the
// site's, at /dologin.html say, whose URL the site has no page for): the
// page learns the typed user name and the destination from
// authform.RefusalOf.
func refusalPage(path string, content http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.Method = http.MethodGet
		r2.URL.Path, r2.URL.RawPath, r2.URL.RawQuery = path, "", ""
		r2.Body, r2.ContentLength = http.NoBody, 0
		content.ServeHTTP(w, r2)
	})
}

// remoteUser is the authenticated user, for per-user DBD sessions.
func remoteUser(r *http.Request) string {
	u, _ := authform.User(r)
	return u
}
