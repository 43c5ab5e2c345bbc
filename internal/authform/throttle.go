package authform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ErrThrottleUnavailable wraps the error of a Throttle whose counters in
// PostgreSQL cannot be reached: no password may be checked, and the
// answer is a 503 (the integrator's Fail renders it).
var ErrThrottleUnavailable = errors.New("login throttle unavailable")

// Throttle defaults.
const (
	DefaultThrottleFailures   = 10
	DefaultThrottleWindow     = 15 * time.Minute
	DefaultThrottleMaxEntries = 10000
)

// The user name and the client address get higher limits than their pair:
// one attacker is stopped by the pair limit long before the user's own
// limit, so cannot lock the user out from elsewhere; colleagues behind one
// office address do not lock each other out with a few typos; and many
// attackers together still get only UserFactor times the pair's guesses
// at one user.
const (
	UserFactor    = 3
	AddressFactor = 10
)

// ThrottleOptions configure a Throttle.
type ThrottleOptions struct {
	// Failures is how many attempts one user name may make from one client
	// address within one Window before the next is answered 429. The user
	// name from every address together may make UserFactor times as many,
	// one address under every name AddressFactor times as many. 0 means
	// DefaultThrottleFailures.
	Failures int
	// Window is the length of the counting window. 0 means
	// DefaultThrottleWindow.
	Window time.Duration
	// MaxEntries bounds the number of counters kept in process. When full,
	// expired ones are dropped, then arbitrary ones. 0 means
	// DefaultThrottleMaxEntries.
	MaxEntries int
	// DB keeps the counters in the login_throttle table (migration 00004)
	// instead of in process, so that every server on the database enforces
	// one limit. nil counts in process.
	DB *sqlx.DB
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Off turns throttling off (AuthFormThrottle Off): every attempt may
	// proceed and nothing is counted.
	Off bool
	// Name keeps this throttle's counters apart from those of other
	// throttles on the same database (the login throttle has none; the
	// site's registration throttle is "register"), so that one kind of
	// attempt never counts against another's limit.
	Name string
}

// Throttle counts password attempts per user name, per client address
// (IPv4 address, or IPv6 /64) and per pair of both. An attempt is counted
// when it starts, before its password is checked, so concurrent guesses
// cannot all pass before the first failure is known; a right password
// takes its attempt back. It is safe for concurrent use; share one
// Throttle between the login handler, every protected location and every
// page that checks passwords, so that an attacker cannot move between
// them.
type Throttle struct {
	failures int
	window   time.Duration
	now      func() time.Time
	off      bool
	name     string
	counter  counter
}

// counter keeps the counts: in process or in PostgreSQL.
type counter interface {
	// begin counts one attempt on every key unless one of them has reached
	// its limit; then it counts nothing and returns how long until the
	// latest-ending window that blocks ends.
	begin(ctx context.Context, keys []throttleKey, now time.Time, window time.Duration) (time.Duration, error)
	// succeed takes back the attempt on the keys marked undo and forgets
	// the keys marked reset.
	succeed(ctx context.Context, keys []throttleKey, now time.Time, window time.Duration) error
}

// throttleKey is one counter of an attempt.
type throttleKey struct {
	name  string
	limit int
	reset bool // forgotten after a right password (the pair)
}

// NewThrottle returns a Throttle.
func NewThrottle(opts ThrottleOptions) *Throttle {
	t := &Throttle{failures: opts.Failures, window: opts.Window, now: opts.Now, off: opts.Off, name: opts.Name}
	if t.failures <= 0 {
		t.failures = DefaultThrottleFailures
	}
	if t.window <= 0 {
		t.window = DefaultThrottleWindow
	}
	if t.now == nil {
		t.now = time.Now
	}
	if opts.DB != nil {
		t.counter = &pgCounter{db: opts.DB}
	} else {
		maxEntries := opts.MaxEntries
		if maxEntries <= 0 {
			maxEntries = DefaultThrottleMaxEntries
		}
		t.counter = &memCounter{maxEntries: maxEntries, entries: map[string]*throttleEntry{}}
	}
	return t
}

// keys returns the three counters of an attempt. The prefixes keep a user
// name from colliding with an address.
func (t *Throttle) keys(r *http.Request, user string) []throttleKey {
	addr := clientAddr(r)
	return []throttleKey{
		{name: t.name + "p\x00" + user + "\x00" + addr, limit: t.failures, reset: true},
		{name: t.name + "u\x00" + user, limit: UserFactor * t.failures},
		{name: t.name + "a\x00" + addr, limit: AddressFactor * t.failures},
	}
}

// clientAddr is the host part of r.RemoteAddr, an IPv6 address reduced to
// its /64 (one subscriber usually holds a whole /64).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// Begin counts an attempt to prove user's password from r's client, before
// the password is checked. A positive duration means a limit is reached:
// the attempt is not counted and its password must not be checked; the
// caller answers 429 with that Retry-After. After a right password the
// caller calls Succeed. An error means the counters cannot be reached (the
// caller answers 503; the password is not checked).
func (t *Throttle) Begin(ctx context.Context, r *http.Request, user string) (time.Duration, error) {
	if t.off {
		return 0, nil
	}
	d, err := t.counter.begin(ctx, t.keys(r, user), t.now(), t.window)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrThrottleUnavailable, err)
	}
	return d, nil
}

// Succeed takes back the attempt Begin counted, whose password was right,
// and forgets the failures of the user name from this address (not those
// of the user name alone or the address alone, or logging into one's own
// account would reset an attacker's count).
func (t *Throttle) Succeed(ctx context.Context, r *http.Request, user string) error {
	if t.off {
		return nil
	}
	if err := t.counter.succeed(ctx, t.keys(r, user), t.now(), t.window); err != nil {
		return fmt.Errorf("%w: %w", ErrThrottleUnavailable, err)
	}
	return nil
}

// memCounter counts in process.
type memCounter struct {
	maxEntries int
	mu         sync.Mutex
	entries    map[string]*throttleEntry
}

type throttleEntry struct {
	start time.Time // beginning of the current window
	count int
}

func (m *memCounter) begin(_ context.Context, keys []throttleKey, now time.Time, window time.Duration) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var longest time.Duration
	for _, k := range keys {
		e, ok := m.entries[k.name]
		if !ok {
			continue
		}
		end := e.start.Add(window)
		if !now.Before(end) {
			delete(m.entries, k.name)
			continue
		}
		if e.count >= k.limit {
			longest = max(longest, end.Sub(now))
		}
	}
	if longest > 0 {
		return longest, nil
	}
	for _, k := range keys {
		e, ok := m.entries[k.name]
		if !ok {
			m.makeRoom(now, window)
			e = &throttleEntry{start: now}
			m.entries[k.name] = e
		}
		e.count++
	}
	return 0, nil
}

func (m *memCounter) succeed(_ context.Context, keys []throttleKey, now time.Time, window time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		e, ok := m.entries[k.name]
		switch {
		case !ok:
		case k.reset || !now.Before(e.start.Add(window)):
			delete(m.entries, k.name)
		case e.count > 0:
			e.count--
		}
	}
	return nil
}

// makeRoom keeps the map under maxEntries: expired entries go first, then
// arbitrary ones (map order), down to nine tenths of the bound so the
// sweep is not repeated on every insert. Called with mu held.
func (m *memCounter) makeRoom(now time.Time, window time.Duration) {
	if len(m.entries) < m.maxEntries {
		return
	}
	for k, e := range m.entries {
		if !now.Before(e.start.Add(window)) {
			delete(m.entries, k)
		}
	}
	target := m.maxEntries - m.maxEntries/10
	if target == m.maxEntries {
		target--
	}
	for k := range m.entries {
		if len(m.entries) <= target {
			break
		}
		delete(m.entries, k)
	}
}

// pgCounter counts in the login_throttle table. Keys are stored as SHA-256
// hex: fixed length, and no user-supplied byte (NUL, invalid UTF-8) ever
// reaches PostgreSQL.
type pgCounter struct {
	db *sqlx.DB

	mu        sync.Mutex
	lastSweep time.Time
}

// pgTimeout bounds one throttle transaction.
const pgTimeout = 5 * time.Second

func hashedKeys(keys []throttleKey) ([]string, map[string]throttleKey) {
	names := make([]string, len(keys))
	byName := make(map[string]throttleKey, len(keys))
	for i, k := range keys {
		sum := sha256.Sum256([]byte(k.name))
		names[i] = hex.EncodeToString(sum[:])
		byName[names[i]] = k
	}
	// One lock order for every transaction: no deadlocks between them.
	slices.Sort(names)
	return names, byName
}

func (p *pgCounter) begin(ctx context.Context, keys []throttleKey, now time.Time, window time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	p.sweep(ctx, now, window)
	names, byName := hashedKeys(keys)
	tx, err := p.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("throttle: %w", err)
	}
	defer tx.Rollback()
	nowUS, cut := now.UnixMicro(), now.Add(-window).UnixMicro()
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, "INSERT INTO login_throttle (key, started, count) VALUES ($1, $2, 0) ON CONFLICT (key) DO NOTHING", n, nowUS); err != nil {
			return 0, fmt.Errorf("throttle: %w", err)
		}
	}
	rows, err := tx.QueryContext(ctx, "SELECT key, started, count FROM login_throttle WHERE key = ANY($1) ORDER BY key FOR UPDATE", pq.Array(names))
	if err != nil {
		return 0, fmt.Errorf("throttle: %w", err)
	}
	var longest time.Duration
	for rows.Next() {
		var key string
		var started int64
		var count int
		if err := rows.Scan(&key, &started, &count); err != nil {
			rows.Close()
			return 0, fmt.Errorf("throttle: %w", err)
		}
		if started > cut && count >= byName[key].limit {
			longest = max(longest, time.UnixMicro(started).Add(window).Sub(now))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("throttle: %w", err)
	}
	if longest > 0 {
		return longest, nil // the rollback leaves the counts as they were
	}
	if _, err := tx.ExecContext(ctx, `UPDATE login_throttle SET
		count = CASE WHEN started <= $2 THEN 1 ELSE count + 1 END,
		started = CASE WHEN started <= $2 THEN $3 ELSE started END
		WHERE key = ANY($1)`, pq.Array(names), cut, nowUS); err != nil {
		return 0, fmt.Errorf("throttle: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("throttle: %w", err)
	}
	return 0, nil
}

func (p *pgCounter) succeed(ctx context.Context, keys []throttleKey, now time.Time, window time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	names, byName := hashedKeys(keys)
	var reset, undo []string
	for _, n := range names {
		if byName[n].reset {
			reset = append(reset, n)
		} else {
			undo = append(undo, n)
		}
	}
	if _, err := p.db.ExecContext(ctx, "DELETE FROM login_throttle WHERE key = ANY($1)", pq.Array(reset)); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	if _, err := p.db.ExecContext(ctx, "UPDATE login_throttle SET count = count - 1 WHERE key = ANY($1) AND count > 0 AND started > $2",
		pq.Array(undo), now.Add(-window).UnixMicro()); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}

// sweep deletes expired counters, at most once a minute per process.
func (p *pgCounter) sweep(ctx context.Context, now time.Time, window time.Duration) {
	p.mu.Lock()
	due := now.Sub(p.lastSweep) >= time.Minute
	if due {
		p.lastSweep = now
	}
	p.mu.Unlock()
	if due {
		// A failure here is retried at the next sweep; the counts stay right.
		_, _ = p.db.ExecContext(ctx, "DELETE FROM login_throttle WHERE started <= $1", now.Add(-window).UnixMicro())
	}
}
