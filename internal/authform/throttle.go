package authform

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Throttle defaults.
const (
	DefaultThrottleFailures   = 10
	DefaultThrottleWindow     = 15 * time.Minute
	DefaultThrottleMaxEntries = 10000
)

// ThrottleOptions configure a Throttle.
type ThrottleOptions struct {
	// Failures is how many failed logins a user name, and separately a
	// client address, may have within one Window; the next attempt is
	// answered 429. 0 means DefaultThrottleFailures.
	Failures int
	// Window is the length of the counting window. 0 means
	// DefaultThrottleWindow.
	Window time.Duration
	// MaxEntries bounds the number of user names and addresses tracked.
	// When full, expired entries are dropped, then arbitrary ones. 0 means
	// DefaultThrottleMaxEntries.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Off turns throttling off (AuthFormThrottle Off): every attempt may
	// proceed and nothing is counted.
	Off bool
}

// Throttle counts failed logins per user name and per client address
// (IPv4 address, or IPv6 /64). It is safe for concurrent use; share one
// Throttle between the login handler and every protected location of a
// site so an attacker cannot move between them.
type Throttle struct {
	failures   int
	window     time.Duration
	maxEntries int
	now        func() time.Time
	off        bool

	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	start time.Time // beginning of the current window
	count int
}

// NewThrottle returns a Throttle.
func NewThrottle(opts ThrottleOptions) *Throttle {
	t := &Throttle{
		failures:   opts.Failures,
		window:     opts.Window,
		maxEntries: opts.MaxEntries,
		now:        opts.Now,
		off:        opts.Off,
		entries:    make(map[string]*throttleEntry),
	}
	if t.failures <= 0 {
		t.failures = DefaultThrottleFailures
	}
	if t.window <= 0 {
		t.window = DefaultThrottleWindow
	}
	if t.maxEntries <= 0 {
		t.maxEntries = DefaultThrottleMaxEntries
	}
	if t.now == nil {
		t.now = time.Now
	}
	return t
}

// keys returns the two throttle keys of a login attempt. The prefixes keep
// a user name from colliding with an address.
func throttleKeys(r *http.Request, user string) [2]string {
	return [2]string{"u\x00" + user, "a\x00" + clientAddr(r)}
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

// wait reports how long the attempt must wait; 0 means it may proceed.
func (t *Throttle) wait(keys [2]string) time.Duration {
	if t.off {
		return 0
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var longest time.Duration
	for _, k := range keys {
		e, ok := t.entries[k]
		if !ok {
			continue
		}
		end := e.start.Add(t.window)
		if !now.Before(end) {
			delete(t.entries, k)
			continue
		}
		if e.count >= t.failures && end.Sub(now) > longest {
			longest = end.Sub(now)
		}
	}
	return longest
}

// fail records a failed login for both keys.
func (t *Throttle) fail(keys [2]string) {
	if t.off {
		return
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		e, ok := t.entries[k]
		if ok && !now.Before(e.start.Add(t.window)) {
			ok = false
		}
		if !ok {
			t.makeRoom(now)
			e = &throttleEntry{start: now}
			t.entries[k] = e
		}
		e.count++
	}
}

// succeed forgets the failures of the user name (not of the address,
// or one's own account would reset the count of an attacking address).
func (t *Throttle) succeed(keys [2]string) {
	t.mu.Lock()
	delete(t.entries, keys[0])
	t.mu.Unlock()
}

// makeRoom keeps the map under maxEntries: expired entries go first, then
// arbitrary ones (map order), down to nine tenths of the bound so the
// sweep is not repeated on every insert. Called with mu held.
func (t *Throttle) makeRoom(now time.Time) {
	if len(t.entries) < t.maxEntries {
		return
	}
	for k, e := range t.entries {
		if !now.Before(e.start.Add(t.window)) {
			delete(t.entries, k)
		}
	}
	target := t.maxEntries - t.maxEntries/10
	if target == t.maxEntries {
		target--
	}
	for k := range t.entries {
		if len(t.entries) <= target {
			break
		}
		delete(t.entries, k)
	}
}

// Wait reports how long an attempt to prove user's password from r's
// client must wait (0: it may proceed). With Fail and Succeed it lets pages
// outside this package that check passwords, such as a password change
// form, count their failures the same way.
func (t *Throttle) Wait(r *http.Request, user string) time.Duration {
	return t.wait(throttleKeys(r, user))
}

// Fail records a wrong password for user from r's client.
func (t *Throttle) Fail(r *http.Request, user string) { t.fail(throttleKeys(r, user)) }

// Succeed forgets user's failures after a right password.
func (t *Throttle) Succeed(r *http.Request, user string) { t.succeed(throttleKeys(r, user)) }
