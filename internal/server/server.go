package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
	"github.com/websession/websession/internal/session/dbd"
	"github.com/websession/websession/internal/session/sessioncrypto"
)

// Deps are what the server needs from outside the configuration file.
type Deps struct {
	Logger *slog.Logger
	// DB is the pool for DBDParams; nil when the configuration has no DBD.
	DB *sqlx.DB
	// Users opens and shares the user stores; nil opens a fresh set.
	Users *UserStores
	// Site serves the paths no Alias, ScriptAlias or handler claims; nil
	// answers 404 there.
	Site http.Handler
	// Now is the clock for session expiry; nil means time.Now.
	Now func() time.Time
}

// Server is the handler of one configuration.
type Server struct {
	cfg     *config.Config
	chains  map[*config.Settings]http.Handler
	handler http.Handler
	// DBDStores are the session stores on the database, for the periodic
	// cleanup of expired rows.
	DBDStores []*dbd.Store
}

// New builds every location's handler chain.
func New(cfg *config.Config, deps Deps) (*Server, error) {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Users == nil {
		deps.Users = NewUserStores(deps.DB, deps.Logger)
	}
	b := &builder{cfg: cfg, deps: deps, ciphers: map[string]*sessioncrypto.Codec{}, auth: &authBuilder{deps: deps, throttles: map[config.Throttle]*authform.Throttle{}}}
	s := &Server{cfg: cfg, chains: map[*config.Settings]http.Handler{}}
	content := newContent(cfg, deps.Site, deps.Logger)
	for _, set := range cfg.AllSettings() {
		h, err := b.chain(set, content)
		if err != nil {
			where := "server configuration"
			if set.Location != "" {
				where = fmt.Sprintf("<Location %s>", set.Location)
			}
			return nil, fmt.Errorf("%s: %s: %w", cfg.File, where, err)
		}
		s.chains[set] = h
	}
	s.DBDStores = b.dbdStores
	protect := http.NewCrossOriginProtection()
	s.handler = protect.Handler(http.HandlerFunc(s.route))
	return s, nil
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
	if r.URL.Path == "/healthz" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
		return
	}
	h, ok := s.chains[s.cfg.Resolve(r.URL.Path)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.ServeHTTP(w, r)
}

type builder struct {
	cfg       *config.Config
	deps      Deps
	ciphers   map[string]*sessioncrypto.Codec
	dbdStores []*dbd.Store
	auth      *authBuilder
}

// chain is session -> authentication -> handler, as httpd runs its hooks.
func (b *builder) chain(set *config.Settings, content http.Handler) (http.Handler, error) {
	h, err := b.auth.handler(set, content)
	if err != nil {
		return nil, err
	}
	if !set.Session.Enabled {
		if set.Auth.IsForm() && set.Auth.Require.Any() || set.Handler != "" {
			return nil, errors.New("Session: form authentication keeps its credentials in the session; add Session On and a session store")
		}
		return h, nil
	}
	cfg, err := b.sessionConfig(set)
	if err != nil {
		return nil, err
	}
	mw, err := session.Middleware(cfg)
	if err != nil {
		return nil, err
	}
	return mw(h), nil
}

func (b *builder) sessionConfig(set *config.Settings) (session.Config, error) {
	cfg := session.Config{
		MaxAge:               set.Session.MaxAge,
		ExpiryUpdateInterval: set.Session.ExpiryUpdateInterval,
		Env:                  set.Session.Env,
		Header:               set.Session.Header,
		Include:              set.Session.Include,
		Exclude:              set.Session.Exclude,
		Logger:               b.deps.Logger,
		Now:                  b.deps.Now,
	}
	hasCookie := set.Cookie.Name != "" || set.Cookie.Name2 != ""
	hasDBD := set.DBD.CookieName != "" || set.DBD.CookieName2 != "" || set.DBD.PerUser
	switch {
	case hasCookie && hasDBD:
		return cfg, errors.New("SessionCookieName and SessionDBDCookieName: both stores are configured for the same location; keep one")
	case hasCookie:
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
	case hasDBD:
		st, err := b.dbdStore(set)
		if err != nil {
			return cfg, err
		}
		cfg.Store = st
		cfg.LoadBeforeHandler = set.DBD.CookieRemove
	default:
		return cfg, errors.New("Session On: no session store; add SessionCookieName (browser cookie) or SessionDBDCookieName (database)")
	}
	if len(set.Crypto.Passphrases) > 0 {
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
		}
	}
	st, err := dbd.New(dbd.Options{
		DB:         b.deps.DB,
		CookieName: set.DBD.CookieName, CookieAttrs: set.DBD.CookieAttrs,
		CookieName2: set.DBD.CookieName2, CookieAttrs2: set.DBD.CookieAttrs2,
		CookieRemove: set.DBD.CookieRemove,
		PerUser:      set.DBD.PerUser,
		User:         remoteUser,
		Statements:   stmts,
		OmitMaxAge:   !set.Cookie.MaxAgeAttr,
		Now:          b.deps.Now,
	})
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
