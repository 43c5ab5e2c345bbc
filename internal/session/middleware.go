package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// MaxEncodedSize bounds the urlencoded session. A larger session is not
// saved (httpd r1900335 guards its length arithmetic for the same reason).
const MaxEncodedSize = 64 << 10

// ErrNoSession is returned by Load when sessions are off for the request
// (Session Off, or the path is excluded). Callers then behave as if no
// session existed, as ap_session_load returning NULL.
var ErrNoSession = errors.New("no session for this request")

// Config is the mod_session configuration of one location.
type Config struct {
	// Store keeps the session; required.
	Store Store
	// Cipher encrypts the stored form (SessionCryptoPassphrase); nil keeps
	// it plain.
	Cipher Cipher
	// MaxAge is SessionMaxAge in seconds; 0 means no expiry.
	MaxAge int64
	// ExpiryUpdateInterval is SessionExpiryUpdateInterval in seconds.
	ExpiryUpdateInterval int64
	// Env is SessionEnv: the plain session is exported before the handler
	// runs (EnvValue, and HTTP_SESSION for CGI programs).
	Env bool
	// Header is SessionHeader: a response header merged into the session
	// and removed before the response is sent.
	Header string
	// ProtectedKeys are session keys the Header may not set or delete:
	// mod_auth_form's credential keys (<AuthName>-user, -pw, -site), so
	// that a handler's output, a CGI script's for example, cannot log the
	// visitor in or out (login CSRF through a link). A handler in this
	// process lifts it for one request with AllowProtectedHeader.
	ProtectedKeys []string
	// HeaderMayWriteProtected lets the Header write ProtectedKeys, for a
	// location whose external application logs users in itself (the
	// manual's example). websession extension: SessionHeaderAllowCredentials.
	HeaderMayWriteProtected bool
	// LoadBeforeHandler loads the session before the handler runs, as
	// httpd's fixups hook does. Set it when the store takes its cookie out
	// of the request (SessionCookieRemove, SessionDBDCookieRemove), so the
	// handler never sees that cookie. SessionEnv implies it.
	LoadBeforeHandler bool
	// Include and Exclude are SessionInclude and SessionExclude path
	// prefixes, matched on cleaned paths at segment boundaries.
	Include, Exclude []string
	// Fail answers a request whose session store cannot be reached (an
	// error wrapping ErrUnavailable), in place of the handler's response.
	// It is the integrator's one failure renderer, which also logs the
	// error; the middleware itself does not log it. nil writes a bare 503
	// page and logs nothing.
	Fail func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives one line per problem the request survives
	// (undecodable cookie, a session too large to save); nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Observe, when set, is told the outcome of every load ("found",
	// "absent", "undecryptable", "invalid", "unavailable") and every write
	// ("saved", "failed", "unavailable") of a session, for metrics.
	Observe func(op, outcome string)
}

// Middleware returns the mod_session middleware for one location. It never
// writes a response of its own: when the store is unavailable it hands the
// request to Config.Fail.
func Middleware(cfg Config) (func(http.Handler) http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("Session On: no session store configured (add SessionCookieName or SessionDBDCookieName)")
	}
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("SessionMaxAge: %d is negative", cfg.MaxAge)
	}
	if cfg.ExpiryUpdateInterval < 0 {
		return nil, fmt.Errorf("SessionExpiryUpdateInterval: %d is negative", cfg.ExpiryUpdateInterval)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Fail == nil {
		cfg.Fail = unavailable
	}
	spoofed := []string{cgiName("Session")}
	if cfg.Header != "" {
		spoofed = append(spoofed, cgiName(cfg.Header))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			stripSpoofed(r.Header, spoofed)
			if !included(r.URL.Path, cfg.Include, cfg.Exclude) {
				next.ServeHTTP(w, r)
				return
			}
			st := &state{cfg: &cfg, r: r}
			r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
			st.r = r
			if cfg.Env || cfg.LoadBeforeHandler {
				if _, err := st.load(); errors.Is(err, ErrUnavailable) {
					cfg.Fail(w, r, err)
					return
				}
			}
			sw := &saveWriter{ResponseWriter: w, st: st}
			next.ServeHTTP(sw, r)
			if !sw.started {
				sw.WriteHeader(http.StatusOK)
			}
		})
	}, nil
}

type stateKey struct{}

// state is the session of one request, shared by everything that handles
// it (httpd caches it in the request notes).
type state struct {
	cfg          *Config
	r            *http.Request
	sess         *Session
	loadErr      error
	loaded       bool
	loadedExpiry int64
	loadedLogin  string // the ProtectedKeys' values as loaded
	expired      bool   // the request brought a session past its expiry
	saveGaveUp   bool   // SaveNow failed and the handler answers for itself
	env          string
	envTaken     bool
	// headerTrusted: AllowProtectedHeader was called for this request.
	headerTrusted bool
}

// Load returns the request's session, loading it on first use:
// ap_session_load. It returns ErrNoSession when sessions are off for the
// request, and an error wrapping ErrUnavailable when the store cannot be
// reached; an absent, expired or undecodable session is an empty one.
func Load(r *http.Request) (*Session, error) {
	st, ok := r.Context().Value(stateKey{}).(*state)
	if !ok {
		return nil, ErrNoSession
	}
	return st.load()
}

// SaveNow saves the request's session at once, with the SessionHeader
// merge, instead of when the response starts, so that a handler whose
// other work is already done (a password changed) can tell the user
// exactly what happened when the session cannot be written. After a
// failure the response is the handler's own, not the store's 503 page,
// and the session is not tried again; after a success, later changes
// are saved when the response starts, as usual.
func SaveNow(w http.ResponseWriter, r *http.Request) error {
	st, ok := r.Context().Value(stateKey{}).(*state)
	if !ok {
		return ErrNoSession
	}
	if err := st.save(w.Header(), http.StatusOK); err != nil {
		st.saveGaveUp = true
		return err
	}
	return nil
}

// Expired reports whether the request brought a session that had expired
// (and so was loaded as an empty one), for a page to tell the user why
// they are logged out. It loads the session. A store that drops expired
// sessions itself (the database store's select) makes them look absent.
func Expired(r *http.Request) bool {
	st, ok := r.Context().Value(stateKey{}).(*state)
	if !ok {
		return false
	}
	st.load()
	return st.expired
}

// EnvValue returns the plain session that SessionEnv exports to the handler
// (HTTP_SESSION), and whether it is exported. The value is taken at the
// first call, which the CGI gateway makes before the program starts: after
// authentication (an inline login's credentials are in it, as httpd's
// fixups hook runs after authentication) and before the handler's own
// changes.
func EnvValue(r *http.Request) (string, bool) {
	st, ok := r.Context().Value(stateKey{}).(*state)
	if !ok || !st.cfg.Env {
		return "", false
	}
	if !st.envTaken {
		if s, err := st.load(); err == nil {
			st.env = Encode(s)
		}
		st.envTaken = true
	}
	return st.env, true
}

func (st *state) load() (*Session, error) {
	if st.loaded {
		return st.sess, st.loadErr
	}
	st.loaded = true
	s := New()
	st.sess = s
	stored, found, err := st.cfg.Store.Load(st.r)
	switch {
	case errors.Is(err, ErrUnavailable):
		// Returned, not logged: whoever answers the request logs it once.
		st.sess, st.loadErr = nil, err
		st.observe("load", "unavailable")
		return nil, err
	case err != nil:
		st.cfg.Logger.Warn("session ignored", "path", st.r.URL.Path, "err", err)
		st.observe("load", "invalid")
	case found:
		s.ID = stored.ID
		if !st.decode(s, stored.Encoded) {
			s.reset()
			st.observe("load", "undecryptable")
		} else {
			st.observe("load", "found")
		}
	default:
		st.expired = stored.Expired
		st.observe("load", "absent")
	}
	now := st.cfg.Now().UnixMicro()
	if s.Expiry != 0 && s.Expiry < now {
		st.expired = s.Len() > 0
		s.reset()
	}
	if st.cfg.MaxAge > 0 {
		if s.Expiry == 0 {
			s.Expiry = now + st.cfg.MaxAge*1e6
		}
		s.MaxAge = st.cfg.MaxAge
	}
	st.loadedExpiry = s.Expiry
	st.loadedLogin = login(s, st.cfg.ProtectedKeys)
	return s, nil
}

// login is the values of keys in s, in order, length-prefixed ("-" for
// an absent key): what LoginKept compares.
func login(s *Session, keys []string) string {
	var b strings.Builder
	for _, k := range keys {
		v, ok := s.Get(k)
		if !ok {
			b.WriteString("-")
			continue
		}
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String()
}

// decode turns the stored form into the table; anything that does not
// decrypt leaves the session empty, exactly as if there were no cookie.
func (st *state) decode(s *Session, encoded string) bool {
	if st.cfg.Cipher != nil && encoded != "" {
		plain, err := st.cfg.Cipher.Decrypt(encoded)
		if err != nil {
			st.cfg.Logger.Info("session did not decrypt; treated as absent", "path", st.r.URL.Path)
			return false
		}
		encoded = plain
	}
	if n := Decode(s, encoded); n > 0 {
		st.cfg.Logger.Info("malformed session pairs skipped", "path", st.r.URL.Path, "pairs", n)
	}
	return true
}

// save runs just before the response headers are sent: the SessionHeader
// merge, then ap_session_save. It returns an error wrapping ErrUnavailable
// when the store is down and the response must become the failure page;
// other problems are logged and the response goes out without the session.
func (st *state) save(h http.Header, status int) error {
	cfg := st.cfg
	merge, hasMerge := "", false
	if cfg.Header != "" {
		if v := h.Values(cfg.Header); len(v) > 0 {
			merge, hasMerge = v[0], true
			h.Del(cfg.Header)
		}
	}
	if status >= 200 && status < 300 {
		cacheControl(h)
	}
	if hasMerge && len(cfg.ProtectedKeys) > 0 && !cfg.HeaderMayWriteProtected && !st.headerTrusted {
		var dropped []string
		if merge, dropped = withoutKeys(merge, cfg.ProtectedKeys); len(dropped) > 0 {
			cfg.Logger.Warn("session header tried to write credential keys; ignored", "header", cfg.Header, "path", st.r.URL.Path, "keys", dropped)
		}
	}
	if !st.loaded && !hasMerge && cfg.MaxAge == 0 {
		return nil // untouched and nothing forces a write: skip the load
	}
	s, err := st.load()
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	if err != nil {
		return nil
	}
	if hasMerge {
		s.MarkDirty()
		if n := Decode(s, merge); n > 0 {
			cfg.Logger.Warn("malformed pairs skipped in the session header", "header", cfg.Header, "path", st.r.URL.Path, "pairs", n)
		}
	}
	now := cfg.Now().UnixMicro()
	if s.Expiry != 0 && s.Expiry < now {
		cfg.Logger.Warn("session expired before it was saved; not saved", "path", st.r.URL.Path)
		return nil
	}
	if cfg.MaxAge > 0 {
		s.Expiry = now + cfg.MaxAge*1e6
		s.MaxAge = cfg.MaxAge
	}
	if !s.dirty {
		if cfg.MaxAge == 0 {
			return nil
		}
		if cfg.ExpiryUpdateInterval > 0 && s.Expiry-st.loadedExpiry < cfg.ExpiryUpdateInterval*1e6 {
			return nil
		}
	}
	encoded := Encode(s)
	if len(encoded) > MaxEncodedSize {
		cfg.Logger.Error("session too large; not saved", "path", st.r.URL.Path, "bytes", len(encoded), "limit", MaxEncodedSize)
		st.observe("save", "failed")
		return nil
	}
	if cfg.Cipher != nil && encoded != "" {
		if encoded, err = cfg.Cipher.Encrypt(encoded); err != nil {
			cfg.Logger.Error("session not encrypted; not saved", "path", st.r.URL.Path, "err", err)
			st.observe("save", "failed")
			return nil
		}
	}
	s.LoginKept = login(s, cfg.ProtectedKeys) == st.loadedLogin
	if err := cfg.Store.Save(st.r, h, s, encoded); err != nil {
		if errors.Is(err, ErrUnavailable) {
			st.observe("save", "unavailable")
			return err
		}
		cfg.Logger.Error("session not saved", "path", st.r.URL.Path, "err", err)
		st.observe("save", "failed")
		return nil
	}
	s.dirty = false
	st.observe("save", "saved")
	return nil
}

func (st *state) observe(op, outcome string) {
	if st.cfg.Observe != nil {
		st.cfg.Observe(op, outcome)
	}
}

// saveWriter saves the session when the handler starts its response.
type saveWriter struct {
	http.ResponseWriter
	st      *state
	started bool
	failed  bool
}

func (w *saveWriter) WriteHeader(status int) {
	if w.started {
		return
	}
	w.started = true
	if w.st.saveGaveUp {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	if err := w.st.save(w.Header(), status); err != nil {
		w.failed = true
		w.st.cfg.Fail(w.ResponseWriter, w.st.r, err)
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *saveWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	if w.failed {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Flush lets streaming handlers work; the session is saved first.
func (w *saveWriter) Flush() {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok && !w.failed {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *saveWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// unavailable is the failure page when the integrator gives none.
func unavailable(w http.ResponseWriter, _ *http.Request, _ error) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Retry-After", "5")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprint(w, "<!doctype html><title>Service unavailable</title><h1>Service unavailable</h1><p>Sessions cannot be read right now. Please try again in a moment.</p>\n")
}

// cgiName maps a header name to the CGI variable a CGI gateway would make
// of it, so that every spelling that collides is recognised.
func cgiName(header string) string {
	return "HTTP_" + strings.ToUpper(strings.ReplaceAll(header, "-", "_"))
}

// stripSpoofed removes request headers that would reach a handler or CGI
// program as HTTP_SESSION or as the SessionHeader (CVE-2018-1283 class).
func stripSpoofed(h http.Header, names []string) {
	for k := range h {
		c := cgiName(k)
		for _, n := range names {
			if c == n {
				delete(h, k)
			}
		}
	}
}

// included reports whether the session applies to urlPath: SessionInclude
// and SessionExclude prefixes at segment boundaries on the cleaned path;
// exclude wins.
func included(urlPath string, include, exclude []string) bool {
	if len(include) == 0 && len(exclude) == 0 {
		return true
	}
	p := path.Clean("/" + urlPath)
	if strings.HasSuffix(urlPath, "/") && p != "/" {
		p += "/"
	}
	for _, x := range exclude {
		if hasPathPrefix(p, x) {
			return false
		}
	}
	if len(include) == 0 {
		return true
	}
	for _, in := range include {
		if hasPathPrefix(p, in) {
			return true
		}
	}
	return false
}

// hasPathPrefix matches prefix at a path segment boundary: "/app" matches
// "/app" and "/app/x" but not "/apple"; "/app/" matches "/app/x".
func hasPathPrefix(p, prefix string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/'
}
