// Package revocation keeps the record of ended logins, so that a copy of a
// session taken before its logout (a cookie, or a database session id) no
// longer authenticates, on any server, until it would have expired anyway.
//
// Every login carries a random login id in its session (authform keeps it
// under <AuthName>-sid, with the login time under <AuthName>-since). The
// record holds two kinds of entries:
//
//   - a login id that ended (logout);
//   - a user whose logins made before a cutoff time ended, except one
//     kept login (log out everywhere, password change).
//
// The whole record lives in memory, so the check on every request is two
// map lookups under a read lock. Entries are written through a Backend:
// PostgreSQL, shared by every server on the database and polled for other
// servers' entries (a fraction of a second), or an append-only file under
// the data folder for a single server. Each entry says until when it is
// needed; expired entries are dropped, and the record is bounded.
package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Reason says why a login ended; the next page tells the user.
type Reason string

// The reasons a login ends.
const (
	LoggedOut       Reason = "logout"
	Everywhere      Reason = "everywhere"
	PasswordChanged Reason = "password"
	// EndedElsewhere: the user ended this one login from another session
	// (the sessions page's End button).
	EndedElsewhere Reason = "ended"
)

func (r Reason) valid() bool {
	return r == LoggedOut || r == Everywhere || r == PasswordChanged || r == EndedElsewhere
}

// Limits on what an entry may hold; the PostgreSQL columns have the same.
const (
	MaxIDLen   = 64
	MaxUserLen = 255
)

// DefaultMaxEntries bounds the record when Options.MaxEntries is 0.
const DefaultMaxEntries = 100000

// DefaultPollInterval is how often a shared backend is asked for other
// servers' entries when Options.PollInterval is 0.
const DefaultPollInterval = 250 * time.Millisecond

// Entry is one line of the record: either SID is set (that login ended),
// or User and Cutoff are (the user's logins made before Cutoff ended,
// except the one whose id is Keep).
type Entry struct {
	SID    string
	User   string
	Cutoff time.Time
	Keep   string
	Reason Reason
	// Until is when the entry can be forgotten: the sessions it ends have
	// expired by then.
	Until time.Time
}

// check reports what is wrong with an entry read from or written to a
// backend, nil when nothing is.
func (e Entry) check() error {
	switch {
	case !e.Reason.valid():
		return fmt.Errorf("unknown reason %q", e.Reason)
	case e.Until.IsZero():
		return errors.New("no expiry")
	case e.SID != "" && e.User != "":
		return errors.New("both a login id and a user")
	case e.SID != "":
		return checkID(e.SID)
	case e.User == "":
		return errors.New("neither a login id nor a user")
	case len(e.User) > MaxUserLen:
		return fmt.Errorf("user name of %d bytes, at most %d", len(e.User), MaxUserLen)
	case e.Cutoff.IsZero():
		return errors.New("user entry without a cutoff")
	case e.Keep != "":
		return checkID(e.Keep)
	}
	return nil
}

// checkID accepts the login ids NewID makes: 1 to MaxIDLen characters of
// the URL-safe base64 alphabet.
func checkID(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("login id of %d bytes, want 1 to %d", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("login id has a byte 0x%02x outside [A-Za-z0-9_-]", c)
		}
	}
	return nil
}

// Backend keeps the entries durably.
type Backend interface {
	// Load returns the entries still needed at now. Entries it cannot
	// read are skipped and logged, never an error: a damaged record must
	// not keep the site from starting.
	Load(ctx context.Context, now time.Time) ([]Entry, error)
	// Add stores one entry durably before it returns.
	Add(ctx context.Context, e Entry) error
}

// poller is a Backend other servers write to as well.
type poller interface {
	// Changes returns the entries added since the last Load or Changes
	// (some may be returned twice).
	Changes(ctx context.Context, now time.Time) ([]Entry, error)
	// Forget deletes the entries no longer needed at now.
	Forget(ctx context.Context, now time.Time) error
}

// rewriter is a Backend that grows with every Add and can be rewritten to
// hold only the given entries.
type rewriter interface {
	Appended() int
	Rewrite(entries []Entry) error
}

// Options configure a Record.
type Options struct {
	// MaxEntries bounds the entries kept; 0 means DefaultMaxEntries.
	MaxEntries int
	// PollInterval is how often a shared backend is polled; 0 means
	// DefaultPollInterval.
	PollInterval time.Duration
	// Logger receives backend failures and dropped entries; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Record is the in-memory record of ended logins over a Backend. It is
// safe for concurrent use.
type Record struct {
	backend Backend
	opts    Options

	mu     sync.RWMutex
	ids    map[string]idEntry
	users  map[string]userEntry
	loaded bool // the backend's Load succeeded
}

type idEntry struct {
	reason Reason
	until  time.Time
}

type userEntry struct {
	cutoff time.Time
	keep   string
	reason Reason
	until  time.Time
}

// Open loads the record from backend. A backend that cannot be read now
// (a database that is down) is logged and retried by Run; Open fails only
// for a nil backend.
func Open(ctx context.Context, backend Backend, opts Options) (*Record, error) {
	if backend == nil {
		return nil, errors.New("revocation: no backend")
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Record{backend: backend, opts: opts, ids: map[string]idEntry{}, users: map[string]userEntry{}}
	r.load(ctx, true)
	return r, nil
}

func (r *Record) load(ctx context.Context, logFailure bool) bool {
	entries, err := r.backend.Load(ctx, r.opts.Now())
	if err != nil {
		if logFailure {
			r.opts.Logger.Error("revocation record not loaded; retrying. Until it is, logins ended before are not refused", "err", err)
		}
		return false
	}
	r.mu.Lock()
	r.loaded = true
	r.mu.Unlock()
	r.apply(entries)
	return true
}

// Ended reports why the login with id sid of user, made at since, has
// ended, or "" when it has not. This is the check of every request: it
// reads memory only.
func (r *Record) Ended(sid, user string, since time.Time) Reason {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if sid != "" {
		if e, ok := r.ids[sid]; ok {
			return e.reason
		}
	}
	if u, ok := r.users[user]; ok && since.Before(u.cutoff) && (u.keep == "" || sid != u.keep) {
		return u.reason
	}
	return ""
}

// EndLogin records that the login sid ended (a logout); the entry is kept
// until until. The record in memory changes even when the backend fails,
// so this server refuses the login at once; the error says the other
// servers and a restart may not know.
func (r *Record) EndLogin(ctx context.Context, sid string, reason Reason, until time.Time) error {
	return r.add(ctx, Entry{SID: sid, Reason: reason, Until: until})
}

// EndUser records that every login of user made before cutoff ended,
// except the login keep ("" keeps none), until until.
func (r *Record) EndUser(ctx context.Context, user string, cutoff time.Time, keep string, reason Reason, until time.Time) error {
	return r.add(ctx, Entry{User: user, Cutoff: cutoff, Keep: keep, Reason: reason, Until: until})
}

func (r *Record) add(ctx context.Context, e Entry) error {
	if err := e.check(); err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	r.apply([]Entry{e})
	if err := r.backend.Add(ctx, e); err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	// Every 256 lines, see whether most of the file is expired entries.
	if rw, ok := r.backend.(rewriter); ok && rw.Appended()%256 == 0 {
		r.mu.Lock()
		r.forget(r.opts.Now())
		r.mu.Unlock()
		if live := r.snapshot(); rw.Appended() > 512+2*len(live) {
			if err := rw.Rewrite(live); err != nil {
				r.opts.Logger.Warn("revocation record not compacted", "err", err)
			}
		}
	}
	return nil
}

// apply merges entries into memory: a user keeps the latest cutoff.
func (r *Record) apply(entries []Entry) {
	now := r.opts.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range entries {
		if !now.Before(e.Until) {
			continue
		}
		if e.SID != "" {
			if old, ok := r.ids[e.SID]; !ok || old.until.Before(e.Until) {
				r.makeRoom(now)
				r.ids[e.SID] = idEntry{reason: e.Reason, until: e.Until}
			}
			continue
		}
		old, ok := r.users[e.User]
		if ok && !old.cutoff.Before(e.Cutoff) {
			continue
		}
		if !ok {
			r.makeRoom(now)
		}
		r.users[e.User] = userEntry{cutoff: e.Cutoff, keep: e.Keep, reason: e.Reason, until: e.Until}
	}
}

// makeRoom keeps the record under MaxEntries: expired entries go first,
// then those that expire soonest (they protect the least), down to nine
// tenths of the bound. Called with mu held.
func (r *Record) makeRoom(now time.Time) {
	if len(r.ids)+len(r.users) < r.opts.MaxEntries {
		return
	}
	r.forget(now)
	target := r.opts.MaxEntries - r.opts.MaxEntries/10 - 1
	excess := len(r.ids) + len(r.users) - target
	if excess <= 0 {
		return
	}
	untils := make([]time.Time, 0, len(r.ids)+len(r.users))
	for _, e := range r.ids {
		untils = append(untils, e.until)
	}
	for _, e := range r.users {
		untils = append(untils, e.until)
	}
	slices.SortFunc(untils, time.Time.Compare)
	limit := untils[excess-1]
	dropped := 0
	for k, e := range r.ids {
		if !e.until.After(limit) && dropped < excess {
			delete(r.ids, k)
			dropped++
		}
	}
	for k, e := range r.users {
		if !e.until.After(limit) && dropped < excess {
			delete(r.users, k)
			dropped++
		}
	}
	r.opts.Logger.Warn("revocation record full; the entries expiring soonest were dropped", "dropped", dropped, "max", r.opts.MaxEntries)
}

// forget drops expired entries. Called with mu held.
func (r *Record) forget(now time.Time) {
	for k, e := range r.ids {
		if !now.Before(e.until) {
			delete(r.ids, k)
		}
	}
	for k, e := range r.users {
		if !now.Before(e.until) {
			delete(r.users, k)
		}
	}
}

// Len is the number of entries in memory.
func (r *Record) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.ids) + len(r.users)
}

// snapshot returns every live entry.
func (r *Record) snapshot() []Entry {
	now := r.opts.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Entry, 0, len(r.ids)+len(r.users))
	for id, e := range r.ids {
		if now.Before(e.until) {
			out = append(out, Entry{SID: id, Reason: e.reason, Until: e.until})
		}
	}
	for name, e := range r.users {
		if now.Before(e.until) {
			out = append(out, Entry{User: name, Cutoff: e.cutoff, Keep: e.keep, Reason: e.reason, Until: e.until})
		}
	}
	return out
}

// Run keeps the record current until ctx ends: it retries a failed load,
// polls a shared backend for other servers' entries every PollInterval,
// and drops expired entries once a minute. Start it with go.
func (r *Record) Run(ctx context.Context) {
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	p, shared := r.backend.(poller)
	lastSweep := r.opts.Now()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.RLock()
		loaded := r.loaded
		r.mu.RUnlock()
		if !loaded {
			if r.load(ctx, false) {
				r.opts.Logger.Info("revocation record loaded")
			}
			continue
		}
		now := r.opts.Now()
		if shared {
			entries, err := p.Changes(ctx, now)
			switch {
			case err != nil && ctx.Err() == nil:
				if !failing {
					r.opts.Logger.Error("revocation record not refreshed; retrying", "err", err)
				}
				failing = true
			case err == nil:
				if failing {
					r.opts.Logger.Info("revocation record refreshed again")
				}
				failing = false
				r.apply(entries)
			}
		}
		if now.Sub(lastSweep) >= time.Minute {
			lastSweep = now
			r.mu.Lock()
			r.forget(now)
			r.mu.Unlock()
			if shared {
				if err := p.Forget(ctx, now); err != nil && ctx.Err() == nil {
					r.opts.Logger.Warn("expired revocation entries not deleted", "err", err)
				}
			}
		}
	}
}
