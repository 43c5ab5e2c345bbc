package dbd

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/websession/websession/internal/rowcache"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
)

// The manual's statements (mod_session_dbd), with PostgreSQL placeholders.
// Parameters, in order: select(key, now), update(value, expiry, newkey,
// oldkey), insert(value, expiry, key), delete(key), cleanup(now); times in
// µs since the Unix epoch.
const (
	DefaultSelect  = "select value from session where key = $1 and (expiry = 0 or expiry > $2)"
	DefaultUpdate  = "update session set value = $1, expiry = $2, key = $3 where key = $4"
	DefaultInsert  = "insert into session (value, expiry, key) values ($1, $2, $3)"
	DefaultDelete  = "delete from session where key = $1"
	DefaultCleanup = "delete from session where expiry != 0 and expiry < $1"
)

// ForwardFor is how long a request with the old id of a renamed session
// still finds the new one (migrations/00008): long enough for the requests
// a browser already had on their way, short enough that a copied old id is
// worth nothing soon after.
const ForwardFor = 10 * time.Second

// The forwarding statements, used with the manual's statements when the
// session_forward table exists. forwardUpdate renames the row as the
// manual's update does and records where it went, in one statement; it
// affects one row when the session row existed. forwardSelect follows
// the records from the old key, a few renames deep, to a live row.
const (
	forwardUpdate = `with moved as (update session set value = $1, expiry = $2, key = $3 where key = $4 returning key)
insert into session_forward (old_key, new_key, until) select $4, key, $5 from moved
on conflict (old_key) do update set new_key = excluded.new_key, until = excluded.until`
	forwardSelect = `with recursive chain (key, depth) as (
    select new_key, 1 from session_forward where old_key = $1 and until > $2
    union all
    select f.new_key, c.depth + 1 from session_forward f join chain c on f.old_key = c.key where f.until > $2 and c.depth < 5
)
select s.key, s.value from chain c join session s on s.key = c.key where s.expiry = 0 or s.expiry > $2
order by c.depth desc limit 1`
	forwardCleanup = "delete from session_forward where until < $1"
)

// DefaultQueryTimeout bounds each statement when Options.QueryTimeout is 0.
const DefaultQueryTimeout = 5 * time.Second

// Statements are the SQL texts a Store runs (SessionDBDSelectLabel and the
// other labels name DBDPrepareSQL statements; the caller passes their text).
// Each may use apr_dbd placeholders (%s, %lld, ...) or $1..$n; the
// parameter order is fixed, as in httpd (see DefaultSelect and friends). An
// empty field takes the default.
type Statements struct {
	Select, Update, Insert, Delete, Cleanup string
}

// Options configure a Store: the mod_session_dbd directives of a location.
type Options struct {
	// DB is the pool (DBDriver pgsql, DBDParams).
	DB *sqlx.DB

	// CookieName and CookieAttrs come from SessionDBDCookieName,
	// CookieName2 and CookieAttrs2 from SessionDBDCookieName2 (written with
	// Set-Cookie2 and preferred when reading). Empty attributes mean httpd's
	// default HttpOnly;Secure;Version=1.
	CookieName, CookieAttrs   string
	CookieName2, CookieAttrs2 string
	// CookieRemove is SessionDBDCookieRemove (On by default in the
	// configuration): the id cookie is taken out of the request headers.
	CookieRemove bool

	// PerUser is SessionDBDPerUser: the row is keyed by User(r). It is used
	// only when no cookie name is configured.
	PerUser bool
	User    func(r *http.Request) string

	// Statements default to the manual's.
	Statements Statements
	// QueryTimeout bounds each statement (DefaultQueryTimeout when 0).
	QueryTimeout time.Duration

	// MaxAge is the cookie Max-Age in seconds when the session carries none
	// (Session.MaxAge, copied from SessionMaxAge, takes precedence).
	MaxAge int64
	// OmitMaxAge leaves out the Max-Age attribute (as SessionCookieMaxAge
	// Off does for the cookie store).
	OmitMaxAge bool

	// Now is the clock (time.Now when nil).
	Now func() time.Time

	// ObserveQuery, when set, is told each statement run (its label, e.g.
	// "select" or "update") and how long it took, for metrics.
	ObserveQuery func(statement string, took time.Duration)

	// Cache, when not nil, holds rows read or written here, dropped when
	// PostgreSQL notifies a change (DBDCache; see internal/rowcache). It is
	// used only when the select, insert and update statements are the
	// manual's (in either placeholder style): the migration's trigger covers
	// their table and the cache reproduces their meaning.
	Cache *rowcache.Cache
}

// Store keeps sessions in the session table.
type Store struct {
	opts                      Options
	sel, upd, ins, del, clean *stmt
	cookieName                string // the cookie read: name2 if set
	perUser                   bool
	// With a cache, rows are read with fill (value and expiry) instead of
	// sel, so an entry is not served past its row's expiry.
	cache *rowcache.Cache
	fill  *stmt
	// forward is set by Prepare when the statements are the manual's and
	// the session_forward table exists: a rename that keeps the login
	// records where the row went (fwdUpd), and a missing row is looked
	// for there (fwdSel).
	forward                  bool
	fwdUpd, fwdSel, fwdClean *stmt
}

// fillSelect is DefaultSelect also returning the expiry.
const fillSelect = "select value, expiry from session where key = $1 and (expiry = 0 or expiry > $2)"

// New checks the options and converts the statements; it does not touch
// the database (statements are prepared on first use; call Prepare to
// check them at start-up).
func New(opts Options) (*Store, error) {
	if opts.DB == nil {
		return nil, errors.New("dbd: no database (DBDriver/DBDParams)")
	}
	st := &Store{opts: opts}
	switch {
	case opts.CookieName2 != "":
		st.cookieName = opts.CookieName2
	case opts.CookieName != "":
		st.cookieName = opts.CookieName
	case opts.PerUser:
		if opts.User == nil {
			return nil, errors.New("dbd: SessionDBDPerUser needs a way to get the authenticated user")
		}
		st.perUser = true
	default:
		return nil, errors.New("dbd: neither SessionDBDCookieName nor SessionDBDPerUser is configured")
	}
	if st.opts.Now == nil {
		st.opts.Now = time.Now
	}
	if st.opts.QueryTimeout <= 0 {
		st.opts.QueryTimeout = DefaultQueryTimeout
	}
	for _, s := range []struct {
		dst      **stmt
		label    string
		text     string
		def      string
		maxParam int
	}{
		{&st.sel, "select", opts.Statements.Select, DefaultSelect, 2},
		{&st.upd, "update", opts.Statements.Update, DefaultUpdate, 4},
		{&st.ins, "insert", opts.Statements.Insert, DefaultInsert, 3},
		{&st.del, "delete", opts.Statements.Delete, DefaultDelete, 1},
		{&st.clean, "cleanup", opts.Statements.Cleanup, DefaultCleanup, 1},
	} {
		text := s.text
		if text == "" {
			text = s.def
		}
		q, n, err := ConvertPlaceholders(text)
		if err != nil {
			return nil, fmt.Errorf("dbd: %s statement: %w", s.label, err)
		}
		if n > s.maxParam {
			return nil, fmt.Errorf("dbd: %s statement %q has %d parameters, at most %d are bound", s.label, text, n, s.maxParam)
		}
		*s.dst = &stmt{label: s.label, query: q, nargs: n}
	}
	// The cache assumes the manual's statements: it stores what the insert
	// and update wrote and serves it as the select would.
	manuals := st.sel.query == DefaultSelect && st.ins.query == DefaultInsert && st.upd.query == DefaultUpdate
	if opts.Cache != nil && manuals {
		st.cache = opts.Cache
		st.fill = &stmt{label: "select", query: fillSelect, nargs: 2}
	}
	if manuals && !st.perUser {
		st.fwdUpd = &stmt{label: "forward update", query: forwardUpdate, nargs: 5}
		st.fwdSel = &stmt{label: "forward select", query: forwardSelect, nargs: 2}
		st.fwdClean = &stmt{label: "forward cleanup", query: forwardCleanup, nargs: 1}
	}
	return st, nil
}

// StatementError reports a statement the database refused to prepare.
type StatementError struct {
	// Statement is which one: "select", "update", "insert", "delete" or
	// "cleanup".
	Statement string
	Err       error
}

func (e *StatementError) Error() string { return e.Err.Error() }
func (e *StatementError) Unwrap() error { return e.Err }

// Prepare prepares every statement now, so a wrong statement or an
// unreachable database shows at start-up. A refused statement is a
// *StatementError.
func (st *Store) Prepare(ctx context.Context) error {
	for _, s := range st.stmts() {
		if _, err := s.prepared(ctx, st.opts.DB); err != nil {
			return &StatementError{Statement: s.label, Err: err}
		}
	}
	if st.fwdUpd == nil || st.forward {
		return nil
	}
	// Without migration 00008 renamed sessions are simply not forwarded.
	var exists bool
	if err := st.opts.DB.GetContext(ctx, &exists, `select to_regclass('session_forward') is not null`); err != nil {
		return &StatementError{Statement: "forward", Err: unavailable("check session_forward", err)}
	}
	if !exists {
		return nil
	}
	for _, s := range []*stmt{st.fwdUpd, st.fwdSel, st.fwdClean} {
		if _, err := s.prepared(ctx, st.opts.DB); err != nil {
			return &StatementError{Statement: s.label, Err: err}
		}
	}
	st.forward = true
	return nil
}

// Close releases the prepared statements (not the pool).
func (st *Store) Close() error {
	var errs []error
	for _, s := range st.stmts() {
		s.mu.Lock()
		if s.st != nil {
			errs = append(errs, s.st.Close())
			s.st = nil
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (st *Store) stmts() []*stmt {
	all := []*stmt{st.sel, st.upd, st.ins, st.del, st.clean}
	if st.fill != nil {
		all = append(all, st.fill)
	}
	if st.forward {
		all = append(all, st.fwdUpd, st.fwdSel, st.fwdClean)
	}
	return all
}

// stmt is one statement, prepared on the pool on first use (database/sql
// re-prepares it on each connection, including after the server restarts).
type stmt struct {
	label, query string
	nargs        int
	mu           sync.Mutex
	st           *sqlx.Stmt
}

func (s *stmt) prepared(ctx context.Context, db *sqlx.DB) (*sqlx.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st != nil {
		return s.st, nil
	}
	p, err := db.PreparexContext(ctx, s.query)
	if err != nil {
		return nil, unavailable("prepare "+s.label, err)
	}
	s.st = p
	return p, nil
}

// exec runs the statement with the first nargs of args and returns the
// number of affected rows.
func (st *Store) exec(ctx context.Context, s *stmt, args ...any) (int64, error) {
	p, err := s.prepared(ctx, st.opts.DB)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	res, err := p.ExecContext(ctx, args[:s.nargs]...)
	st.observeQuery(s.label, start)
	if err != nil {
		if isUniqueViolation(err) {
			return 0, &dupKeyError{err}
		}
		return 0, unavailable(s.label, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, unavailable(s.label, err)
	}
	return n, nil
}

// errGone reports that the row a session was loaded from no longer exists.
var errGone = errors.New("dbd: the session row is gone")

// dupKeyError marks a unique violation, which the save path retries.
type dupKeyError struct{ err error }

func (e *dupKeyError) Error() string { return e.err.Error() }
func (e *dupKeyError) Unwrap() error { return e.err }

func isUniqueViolation(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "23505"
}

// unavailable wraps a database failure so the middleware answers 503.
func unavailable(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", session.ErrUnavailable, what, err)
}

func (st *Store) observeQuery(label string, start time.Time) {
	if st.opts.ObserveQuery != nil {
		st.opts.ObserveQuery(label, time.Since(start))
	}
}

func (st *Store) nowMicros() int64 { return st.opts.Now().UnixMicro() }

// Load finds the session row: by the id cookie (a value that is not a UUID,
// an unknown id and an expired row all mean no session, so a client can
// never choose its id), or by the authenticated user with PerUser. The id
// cookie is removed from r when CookieRemove is set. A cookie sent twice
// with different values is an error and no session.
func (st *Store) Load(r *http.Request) (session.Stored, bool, error) {
	var key string
	if st.perUser {
		key = st.opts.User(r)
		if key == "" {
			return session.Stored{}, false, nil
		}
	} else {
		attrs := st.opts.CookieAttrs
		if st.opts.CookieName2 != "" {
			attrs = st.opts.CookieAttrs2
		}
		name, _ := cookie.ForRequest(r, st.cookieName, attrs)
		v, ok, conflict := cookie.Read(r.Header, name, st.opts.CookieRemove)
		if conflict {
			return session.Stored{}, false, fmt.Errorf("dbd: cookie %q sent more than once with different values", name)
		}
		if !ok || !isUUID(v) {
			return session.Stored{}, false, nil
		}
		key = v
	}
	encoded, found, err := st.read(r.Context(), key)
	if err != nil {
		return session.Stored{}, false, err
	}
	if !found && st.forward {
		stored, found, err := st.forwarded(r.Context(), key)
		if err != nil || found {
			return stored, found, err
		}
	}
	if !found {
		// Still no session, but the user can be told it expired.
		return session.Stored{Expired: !st.perUser && st.expiredRow(r.Context(), key)}, false, nil
	}
	return session.Stored{ID: key, Encoded: encoded}, true, nil
}

// forwarded reads the row a renamed session went to, if the rename kept
// the login and happened less than ForwardFor ago.
func (st *Store) forwarded(ctx context.Context, oldKey string) (session.Stored, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, st.opts.QueryTimeout)
	defer cancel()
	p, err := st.fwdSel.prepared(ctx, st.opts.DB)
	if err != nil {
		return session.Stored{}, false, err
	}
	start := time.Now()
	var row struct {
		Key   string  `db:"key"`
		Value *string `db:"value"` // a NULL value reads as an empty session
	}
	err = p.GetContext(ctx, &row, oldKey, st.nowMicros())
	st.observeQuery(st.fwdSel.label, start)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return session.Stored{}, false, nil
	case err != nil:
		return session.Stored{}, false, unavailable("forward select", err)
	}
	stored := session.Stored{ID: row.Key}
	if row.Value != nil {
		stored.Encoded = *row.Value
	}
	return stored, true, nil
}

// expiredRow reports whether row key is there though the live select
// missed it, so has expired: the select is run as of the epoch, which
// every expiry is after. It runs only for a well-formed id the cache and
// the select did not find (a browser back after its session expired, and
// before the cleanup deleted the row), and never reads the cache. A
// failure, or a select that takes no time parameter, is no row: this only
// decides a notice.
func (st *Store) expiredRow(ctx context.Context, key string) bool {
	if st.sel.nargs < 2 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, st.opts.QueryTimeout)
	defer cancel()
	p, err := st.sel.prepared(ctx, st.opts.DB)
	if err != nil {
		return false
	}
	start := time.Now()
	rows, err := p.QueryContext(ctx, key, int64(0))
	st.observeQuery(st.sel.label, start)
	if err != nil {
		return false
	}
	defer rows.Close()
	return rows.Next()
}

// read returns the value of the row key, from the cache when it holds it.
func (st *Store) read(ctx context.Context, key string) (value string, found bool, err error) {
	now := st.nowMicros()
	if v, ok := st.cache.Get(key, now); ok {
		return v, true, nil
	}
	tok := st.cache.Begin()
	ctx, cancel := context.WithTimeout(ctx, st.opts.QueryTimeout)
	defer cancel()
	s := st.sel
	if st.fill != nil {
		s = st.fill
	}
	p, err := s.prepared(ctx, st.opts.DB)
	if err != nil {
		return "", false, err
	}
	args := []any{key, now}
	start := time.Now()
	rows, err := p.QueryContext(ctx, args[:s.nargs]...)
	st.observeQuery(s.label, start)
	if err != nil {
		return "", false, unavailable("select", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return "", false, unavailable("select", err)
		}
		return "", false, nil
	}
	var v *string // a NULL value reads as an empty session
	var expiry int64
	dest := []any{&v}
	if st.fill != nil {
		dest = append(dest, &expiry)
	}
	if err := rows.Scan(dest...); err != nil {
		return "", false, unavailable("select", err)
	}
	if v != nil {
		value = *v
	}
	if st.fill != nil {
		st.cache.Put(tok, key, value, expiry)
	}
	return value, true, nil
}

// Save writes the session row and the id cookie. A changed session, or one
// without an id, gets a new id: the row is renamed from the old id (the
// CVE-2013-2249 fix), or inserted when there is none. An unchanged session
// (saved for a SessionMaxAge refresh) keeps its id. An empty session has
// its row deleted and the client receives a removal cookie. With PerUser
// the row is the user's, there is no cookie and an empty session is stored
// as "".
func (st *Store) Save(r *http.Request, h http.Header, s *session.Session, encoded string) error {
	ctx, cancel := context.WithTimeout(r.Context(), st.opts.QueryTimeout)
	defer cancel()
	if st.perUser {
		return st.savePerUser(ctx, r, s, encoded)
	}
	oldKey := s.ID
	if encoded == "" {
		if oldKey != "" {
			_, err := st.exec(ctx, st.del, oldKey)
			st.cache.Invalidate(oldKey)
			if err != nil {
				return err
			}
		}
		s.ID = ""
		st.setCookies(r, h, "", 0)
		return nil
	}
	newKey := oldKey
	if s.Dirty() || oldKey == "" {
		newKey = newID()
	}
	key, err := st.write(ctx, encoded, s.Expiry, newKey, oldKey, s.LoginKept)
	if errors.Is(err, errGone) {
		// No cookie either: the browser keeps the id a concurrent request
		// gave it, or the removal its logout sent.
		s.ID = ""
		return nil
	}
	if err != nil {
		var dup *dupKeyError
		if !errors.As(err, &dup) {
			return err
		}
		// Someone holds newKey (a collision of random ids, or the row of an
		// unchanged session re-created meanwhile): once more with a fresh id.
		if key, err = st.write(ctx, encoded, s.Expiry, newID(), oldKey, s.LoginKept); err != nil {
			var dup *dupKeyError
			if errors.As(err, &dup) {
				return unavailable("insert", err)
			}
			return err
		}
	}
	s.ID = key
	maxAge := s.MaxAge
	if maxAge == 0 {
		maxAge = st.opts.MaxAge
	}
	st.setCookies(r, h, key, maxAge)
	return nil
}

// write renames the row oldKey to newKey with the new value, or inserts it
// when there is no such row, and returns the key the row has now.
//
// This server's cache forgets a renamed oldKey at once, without waiting
// for the notification, and learns the row as written (the next request
// of this client finds it without a query). A refresh under the same key
// is not notified (migration 00007): the other servers' copies stay right
// until the expiry they read, and this server's copy takes the new one.
// A rename that keeps the login is recorded for forwarding.
func (st *Store) write(ctx context.Context, encoded string, expiry int64, newKey, oldKey string, loginKept bool) (string, error) {
	tok := st.cache.Begin()
	if oldKey != "" {
		upd := st.upd
		if st.forward && loginKept && newKey != oldKey {
			upd = st.fwdUpd
		}
		n, err := st.exec(ctx, upd, encoded, expiry, newKey, oldKey, st.opts.Now().Add(ForwardFor).UnixMicro())
		if err != nil || n == 0 || newKey != oldKey {
			st.cache.Invalidate(oldKey)
		}
		if err != nil || n > 0 {
			if err == nil {
				st.cache.Put(tok, newKey, encoded, expiry)
			}
			return newKey, err
		}
		// The row is gone: renamed by a concurrent request that changed the
		// same session (whose response carries the surviving id), deleted
		// by a logout, or expired and cleaned. Writing it again under a new
		// id would resurrect a logged-out session or leave a second live
		// copy beside the survivor: this request's changes are dropped.
		return "", errGone
	}
	n, err := st.exec(ctx, st.ins, encoded, expiry, newKey)
	if err == nil && n < 1 {
		err = unavailable("insert", errors.New("no row inserted"))
	}
	if err == nil {
		st.cache.Put(tok, newKey, encoded, expiry)
	}
	return newKey, err
}

func (st *Store) savePerUser(ctx context.Context, r *http.Request, s *session.Session, encoded string) error {
	user := st.opts.User(r)
	if user == "" {
		return errors.New("dbd: SessionDBDPerUser: no authenticated user, session not saved")
	}
	defer st.cache.Invalidate(user)
	for attempt := 0; ; attempt++ {
		n, err := st.exec(ctx, st.upd, encoded, s.Expiry, user, user)
		if err == nil && n == 0 {
			n, err = st.exec(ctx, st.ins, encoded, s.Expiry, user)
			var dup *dupKeyError
			if errors.As(err, &dup) {
				if attempt == 0 {
					continue // a concurrent request inserted the row: update it
				}
				err = unavailable("insert", err)
			}
			if err == nil && n < 1 {
				err = unavailable("insert", errors.New("no row inserted"))
			}
		}
		if err != nil {
			return err
		}
		s.ID = user
		return nil
	}
}

// setCookies writes the id cookie(s); key "" writes removal cookies.
func (st *Store) setCookies(r *http.Request, h http.Header, key string, maxAge int64) {
	if st.opts.OmitMaxAge {
		maxAge = 0
	}
	set := func(header, name, attrs string) {
		name, attrs = cookie.ForRequest(r, name, attrs)
		if key == "" {
			cookie.Set(h, header, name, cookie.RemovalLine(name, attrs))
			return
		}
		cookie.Set(h, header, name, cookie.Line(name, key, attrs, maxAge))
	}
	if st.opts.CookieName != "" {
		set("Set-Cookie", st.opts.CookieName, st.opts.CookieAttrs)
	}
	if st.opts.CookieName2 != "" {
		set("Set-Cookie2", st.opts.CookieName2, st.opts.CookieAttrs2)
	}
}

// Cleanup deletes the rows that expired before now (the manual's
// cleansession statement, which httpd never runs) and returns how many;
// forwarding records past their time go too.
func (st *Store) Cleanup(ctx context.Context, now time.Time) (int64, error) {
	if st.forward {
		if _, err := st.exec(ctx, st.fwdClean, now.UnixMicro()); err != nil {
			return 0, err
		}
	}
	return st.exec(ctx, st.clean, now.UnixMicro())
}

// RunCleanup runs Cleanup now and then every interval until ctx is done.
// Start it with go; failures are logged and retried at the next tick.
func (st *Store) RunCleanup(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, st.opts.QueryTimeout)
		n, err := st.Cleanup(cctx, st.opts.Now())
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("session cleanup failed", "err", err)
		case n > 0:
			logger.Info("expired sessions removed", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
