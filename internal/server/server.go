package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/authzhost"
	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/headers"
	"github.com/websession/websession/internal/logconfig"
	"github.com/websession/websession/internal/logins"
	"github.com/websession/websession/internal/metrics"
	"github.com/websession/websession/internal/revocation"
	"github.com/websession/websession/internal/rowcache"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
	"github.com/websession/websession/internal/session/dbd"
	"github.com/websession/websession/internal/session/sessioncrypto"
	"github.com/websession/websession/internal/users"
)

// Deps are what the server needs from outside the configuration file.
type Deps struct {
	Logger *slog.Logger
	// DB is the pool for DBDParams; nil when the configuration has no DBD.
	// The caller opened it and closes it after the server's Close.
	DB *sqlx.DB
	// Site builds the handler of the paths no Alias, ScriptAlias or
	// handler claims, given the login realm it shares with the server. When
	// the handler is also Pages, failure pages are rendered by it. nil
	// answers 404 there.
	Site func(SiteDeps) (http.Handler, error)
	// Record is the record of ended logins every form-auth location
	// consults and the logout handler writes; nil keeps none (a logout
	// then only removes the credentials from the session, as httpd does).
	Record *revocation.Record
	// LoginTable lists the active logins for the site's sessions page, on
	// the database; nil lists none (the page shows only this session).
	LoginTable *logins.Table
	// Now is the clock for session expiry; nil means time.Now.
	Now func() time.Time
	// Cache makes the read caches of the database stores (DBDCache); nil
	// reads every row from the database. Run it after New.
	Cache *rowcache.Listener
	// Metrics receives the counts of sessions, logins and queries and
	// answers SetHandler metrics; nil counts nothing.
	Metrics *metrics.Metrics
}

// The URLs the reference site's forms post to. New checks that the
// configuration serves them as the site expects, so a configuration that
// moves the login handler fails at start-up instead of sending people to a
// page that is not there.
const (
	SiteLoginPath  = "/login"
	SiteLogoutPath = "/logout"
)

// SiteDeps are what the server hands the site it serves: the realm of the
// login page, so that the site's own password checks (registration,
// password change) use the same users and the same throttle as the login
// handler.
type SiteDeps struct {
	// Login is the settings of SiteLoginPath.
	Login *config.Settings
	// Users is the first user store of that realm; nil when the login
	// location has none.
	Users users.Store
	// Throttle is the login handler's throttle (AuthFormThrottle).
	Throttle *authform.Throttle
	// Fail is the server's one failure renderer: give it the site's
	// internal errors and store outages, so they are logged once and
	// shown like every other failure.
	Fail func(w http.ResponseWriter, r *http.Request, err error)
	// Logins is the login handler's record of logins, so that the site's
	// own logins (registration, password change) are recorded alike.
	Logins *authform.Logins
	// DB is the configuration's database (nil without DBD), for what the
	// site keeps that every server on it must share: the registration
	// throttle's counters.
	DB     *sqlx.DB
	Logger *slog.Logger
}

// Server is the handler of one configuration. It owns what it opened
// for it and releases it in Close: the user stores, the session stores on
// the database and their prepared statements; Serve owns the cleanup loop.
type Server struct {
	cfg     *config.Config
	logger  *slog.Logger
	pages   Pages
	db      *sqlx.DB        // checked by /healthz; nil without DBD
	users   *users.Registry // checked by /healthz
	chains  map[*config.Settings]http.Handler
	handler http.Handler
	// dbdStores are the session stores on the database, closed by Close.
	dbdStores []*dbd.Store
	// cleaner deletes expired rows every SessionDBDCleanupInterval; nil
	// when no location keeps sessions in the database or the interval is 0.
	cleaner *dbd.Store
}

// New builds every location's handler chain and prepares the database
// statements of its session stores, so that every mistake it can find
// stops start-up. Call Close when done, also when Serve was never called.
func New(ctx context.Context, cfg *config.Config, deps Deps) (*Server, error) {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{cfg: cfg, logger: deps.Logger, db: deps.DB, chains: map[*config.Settings]http.Handler{}, users: users.NewRegistry(deps.DB, deps.Cache)}
	if m := deps.Metrics; m != nil {
		s.users.WithObservers(m.CredentialCache, m.PasswordHash, m.UserQuery)
	}
	if err := s.build(ctx, deps); err != nil {
		s.Close()
		return nil, err
	}
	protect := http.NewCrossOriginProtection()
	protect.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.page(w, r, http.StatusForbidden, nil)
	}))
	// The security headers go on every response, the recovered panic's
	// 500 and CrossOriginProtection's 403 included.
	secure := headers.Middleware(headers.Defaults(), func(r *http.Request) []headers.Rule {
		return cfg.Resolve(cleanPath(r.URL.Path)).Headers
	})
	s.handler = secure(s.recoverPanics(protect.Handler(http.HandlerFunc(s.route))))
	return s, nil
}

// build reads the configuration top to bottom: every location's plan,
// then the site, then every location's chain.
func (s *Server) build(ctx context.Context, deps Deps) error {
	cfg := s.cfg
	b := &builder{cfg: cfg, deps: deps, ciphers: map[string]*sessioncrypto.Codec{},
		refused: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.page(w, r, http.StatusForbidden, nil) }),
		auth:    &authBuilder{deps: deps, users: s.users, fail: s.fail, throttles: map[config.Throttle]*authform.Throttle{}, logins: map[[2]time.Duration]*authform.Logins{}}}
	defer func() { s.dbdStores = b.dbdStores }()
	plans := make([]*plan, 0, len(cfg.AllSettings()))
	for _, set := range cfg.AllSettings() {
		p, err := newPlan(cfg, set)
		if err != nil {
			return err
		}
		plans = append(plans, p)
	}
	var site http.Handler
	if deps.Site != nil {
		if err := siteContract(cfg, plans); err != nil {
			return err
		}
		sd, err := b.auth.siteDeps(cfg.Resolve(SiteLoginPath))
		if err != nil {
			return fmt.Errorf("%s: <Location %s> (the site's login page): %w", cfg.File, SiteLoginPath, err)
		}
		if site, err = deps.Site(sd); err != nil {
			return err
		}
		s.pages, _ = site.(Pages)
		identify, err := b.auth.identify(cfg.Resolve(SiteLoginPath))
		if err != nil {
			return fmt.Errorf("%s: <Location %s> (the site's login page): %w", cfg.File, SiteLoginPath, err)
		}
		if identify != nil {
			site = identify(site)
		}
	}
	content := newContent(cfg, site, deps.Logger, func(w http.ResponseWriter, r *http.Request) {
		s.page(w, r, http.StatusNotFound, nil)
	})
	for _, p := range plans {
		h, err := b.chain(ctx, p, content)
		if err != nil {
			var ce *config.Error
			if errors.As(err, &ce) {
				return err
			}
			return fmt.Errorf("%s: %s: %w", cfg.File, p.where, err)
		}
		s.chains[p.set] = h
	}
	if cfg.SessionDBDCleanupInterval > 0 && len(b.dbdStores) > 0 {
		if b.ownStatements && cfg.DBD.PrepareSQL[cleanupLabel] == "" {
			return fmt.Errorf("%s: SessionDBDCleanupInterval: the session statements come from DBDPrepareSQL, so the cleanup cannot assume table session; "+
				"add DBDPrepareSQL \"delete from TABLE where expiry != 0 and expiry < %%lld\" %s, or SessionDBDCleanupInterval 0", cfg.File, cleanupLabel)
		}
		// Every store runs the same cleanup statement: one loop serves
		// them all.
		s.cleaner = b.dbdStores[0]
	}
	return nil
}

// siteContract checks that the configuration serves the URLs the
// reference site's forms post to: its login form posts to SiteLoginPath,
// its logout button to SiteLogoutPath, in the same realm. Login handlers
// elsewhere (Apache's manual puts one at /dologin.html) may stand beside
// that one, not instead of it.
func siteContract(cfg *config.Config, plans []*plan) error {
	login := cfg.Resolve(SiteLoginPath)
	if login.Handler != "form-login-handler" {
		for _, p := range plans {
			if p.handler == "form-login-handler" {
				return fmt.Errorf("%s: %s: SetHandler form-login-handler: the site's login form posts to %s; put a login handler in <Location %s> too", cfg.File, p.where, SiteLoginPath, SiteLoginPath)
			}
		}
		return nil // no login handler: the site's pages run without one (inline login, or no login at all)
	}
	logout := cfg.Resolve(SiteLogoutPath)
	if logout.Handler != "form-logout-handler" || logout.Auth.Name != login.Auth.Name {
		return fmt.Errorf("%s: <Location %s>: the site's logout button posts here; add SetHandler form-logout-handler with AuthName %s, the realm of <Location %s>", cfg.File, SiteLogoutPath, login.Auth.Name, SiteLoginPath)
	}
	return nil
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if clean := cleanPath(r.URL.Path); clean != r.URL.Path {
		// Locations, Alias and the site must all see one spelling of a
		// path: "/x/../private/" must not escape <Location /private>.
		// Redirect as net/http's ServeMux does.
		u := *r.URL
		u.Path, u.RawPath = clean, ""
		http.Redirect(w, r, u.RequestURI(), http.StatusMovedPermanently)
		return
	}
	switch r.URL.Path {
	case "/livez":
		// The process answers: enough for a restart decision.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
		return
	case "/healthz":
		s.health(w, r)
		return
	}
	h, ok := s.chains[s.cfg.Resolve(r.URL.Path)]
	if !ok {
		s.page(w, r, http.StatusNotFound, nil)
		return
	}
	h.ServeHTTP(w, r)
}

// health answers /healthz with the state of what the configuration needs:
// the database (when DBDParams is set) and every user store. 200 "ok" when
// all answer, else 503 naming what failed; the causes go to the log only.
// /livez says only that the process runs.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	var failed []string
	if s.db != nil {
		if err := s.db.PingContext(ctx); err != nil {
			s.logger.Error("health: database unreachable", "err", err)
			failed = append(failed, "database: unreachable")
		}
	}
	for _, u := range s.users.All() {
		if _, err := u.Store.Exists(ctx, "health check"); err != nil {
			// The public answer names the kind only, not paths or SQL.
			s.logger.Error("health: user store failed", "store", u.Key, "err", err)
			failed = append(failed, "user store ("+u.Kind+"): failing")
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, strings.Join(failed, "\n"))
		return
	}
	fmt.Fprintln(w, "ok")
}

// healthTimeout bounds the checks of one /healthz request.
const healthTimeout = 3 * time.Second

type builder struct {
	cfg       *config.Config
	deps      Deps
	ciphers   map[string]*sessioncrypto.Codec
	dbdStores []*dbd.Store
	// ownStatements is set when some store runs statements from
	// DBDPrepareSQL, whose table the built-in cleanup cannot know.
	ownStatements bool
	auth          *authBuilder
	// refused answers a client address that Require ip refuses, with the
	// server's failure page.
	refused http.Handler
}

// chain is session -> authentication -> handler, as httpd runs its hooks.
func (b *builder) chain(ctx context.Context, p *plan, content http.Handler) (http.Handler, error) {
	h, err := b.auth.handler(p, content)
	if err != nil {
		return nil, err
	}
	if p.metrics {
		if b.deps.Metrics == nil {
			return nil, errors.New("SetHandler metrics: this server was started without metrics")
		}
		h = b.deps.Metrics.Handler()
	}
	if p.store != noStore {
		cfg, err := b.sessionConfig(ctx, p)
		if err != nil {
			return nil, err
		}
		mw, err := session.Middleware(cfg)
		if err != nil {
			return nil, err
		}
		h = mw(h)
	}
	if ips := p.set.Auth.Require.IP; len(ips) > 0 {
		h = authzhost.Handler(ips, b.refused, h)
	}
	// The slot outside the session middleware lets a per-user store see,
	// when it saves, the user authentication found inside.
	return authform.RecordUser(logUser(h)), nil
}

// logUser gives the access log's %u the user authentication found for the
// request, once the request is answered: the one Protect let in, and on a
// login POST the one that just logged in, as mod_auth_form sets r->user
// (it also sets it for a refused login; we do not, so that a password
// typed into the name field never reaches the log).
func logUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if user, ok := authform.User(r); ok {
				logconfig.SetUser(r, user)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (b *builder) sessionConfig(ctx context.Context, p *plan) (session.Config, error) {
	set := p.set
	cfg := session.Config{
		MaxAge:               set.Session.MaxAge,
		ExpiryUpdateInterval: set.Session.ExpiryUpdateInterval,
		Env:                  set.Session.Env,
		Header:               set.Session.Header,
		Include:              set.Session.Include,
		Exclude:              set.Session.Exclude,
		Fail:                 b.auth.fail,
		Logger:               b.deps.Logger,
		Now:                  b.deps.Now,

		ProtectedKeys:           credentialKeys(b.cfg),
		HeaderMayWriteProtected: set.Session.HeaderAllowCredentials,
	}
	if m := b.deps.Metrics; m != nil {
		cfg.Observe = m.Session(map[storeKind]string{cookieStore: "cookie", dbdStore: "dbd"}[p.store])
	}
	switch p.store {
	case cookieStore:
		st, err := cookie.NewStore(cookie.Options{
			Name: set.Cookie.Name, Attrs: set.Cookie.Attrs,
			Name2: set.Cookie.Name2, Attrs2: set.Cookie.Attrs2,
			Remove: set.Cookie.Remove, OmitMaxAge: !set.Cookie.MaxAgeAttr,
		})
		if err != nil {
			return cfg, err
		}
		cfg.Store = st
		cfg.LoadBeforeHandler = set.Cookie.Remove
	case dbdStore:
		st, err := b.dbdStore(set)
		if err != nil {
			return cfg, err
		}
		if err := b.prepare(ctx, p, st); err != nil {
			return cfg, err
		}
		cfg.Store = st
		cfg.LoadBeforeHandler = set.DBD.CookieRemove
	}
	if p.encrypted {
		c, err := b.cipher(set.Crypto)
		if err != nil {
			return cfg, err
		}
		cfg.Cipher = c
	}
	return cfg, nil
}

// cipher shares one Codec, and so one key cache, among the locations that
// use the same passphrases.
func (b *builder) cipher(cs config.CryptoSettings) (*sessioncrypto.Codec, error) {
	key := cs.Cipher + "\x00" + strings.Join(cs.Passphrases, "\x00")
	if c, ok := b.ciphers[key]; ok {
		return c, nil
	}
	c, err := sessioncrypto.New(cs.Passphrases, cs.Cipher, sessioncrypto.Options{Now: b.deps.Now})
	if err != nil {
		return nil, err
	}
	b.ciphers[key] = c
	return c, nil
}

func (b *builder) dbdStore(set *config.Settings) (*dbd.Store, error) {
	if b.deps.DB == nil {
		return nil, errors.New("SessionDBDCookieName: sessions in the database need DBDriver pgsql and DBDParams")
	}
	stmts := dbd.Statements{}
	for _, l := range []struct {
		label string
		dst   *string
	}{
		{set.DBD.SelectLabel, &stmts.Select}, {set.DBD.InsertLabel, &stmts.Insert},
		{set.DBD.UpdateLabel, &stmts.Update}, {set.DBD.DeleteLabel, &stmts.Delete},
	} {
		if sql, ok := b.cfg.DBD.PrepareSQL[l.label]; ok {
			*l.dst = sql
			b.ownStatements = true
		}
	}
	stmts.Cleanup = b.cfg.DBD.PrepareSQL[cleanupLabel]
	cache, err := b.deps.Cache.Cache(rowcache.SessionChannel, 0)
	if err != nil {
		return nil, err
	}
	o := dbd.Options{
		Cache:      cache,
		DB:         b.deps.DB,
		CookieName: set.DBD.CookieName, CookieAttrs: set.DBD.CookieAttrs,
		CookieName2: set.DBD.CookieName2, CookieAttrs2: set.DBD.CookieAttrs2,
		CookieRemove: set.DBD.CookieRemove,
		PerUser:      set.DBD.PerUser,
		User:         remoteUser,
		Statements:   stmts,
		OmitMaxAge:   !set.Cookie.MaxAgeAttr,
		Now:          b.deps.Now,
	}
	if b.deps.Metrics != nil {
		o.ObserveQuery = b.deps.Metrics.SessionQuery
	}
	st, err := dbd.New(o)
	if err != nil {
		return nil, err
	}
	b.dbdStores = append(b.dbdStores, st)
	return st, nil
}

// cleanPath is path.Clean that keeps a trailing slash, as ServeMux's.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// credentialKeys are the session keys of every AuthName in the
// configuration, which a SessionHeader may not write unless allowed: the
// credentials and the login id and time that make a login revocable.
func credentialKeys(cfg *config.Config) []string {
	var keys []string
	seen := map[string]bool{}
	for _, set := range cfg.AllSettings() {
		if n := set.Auth.Name; n != "" && !seen[n] {
			seen[n] = true
			keys = append(keys, authform.UserKey(n), authform.PasswordKey(n), authform.SiteKey(n),
				authform.SIDKey(n), authform.SinceKey(n))
		}
	}
	return keys
}
