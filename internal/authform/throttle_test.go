package authform

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func from(addr string) *http.Request {
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = addr
	return r
}

// throttleBackends runs a test on the in-process counters and on the
// PostgreSQL ones; each gets its own throttles over a shared clock.
func throttleBackends(t *testing.T, test func(t *testing.T, newThrottle func(ThrottleOptions) *Throttle)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		test(t, func(o ThrottleOptions) *Throttle { return NewThrottle(o) })
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		db := pgtest.Open(t)
		if err := database.Migrate(context.Background(), db, "up", io.Discard); err != nil {
			t.Fatal(err)
		}
		test(t, func(o ThrottleOptions) *Throttle { o.DB = db; return NewThrottle(o) })
	})
}

func begin(t *testing.T, th *Throttle, addr, user string) time.Duration {
	t.Helper()
	d, err := th.Begin(context.Background(), from(addr), user)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestThrottleLimits: the pair (user, address) stops one attacker; the
// user name from many addresses has a higher limit; so has one address
// under many names; a right password forgets the pair.
func TestThrottleLimits(t *testing.T) {
	t.Parallel()
	throttleBackends(t, func(t *testing.T, newThrottle func(ThrottleOptions) *Throttle) {
		now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		th := newThrottle(ThrottleOptions{Failures: 2, Window: time.Minute, Now: clock})
		// One attacker at alice: the pair stops it after 2.
		for range 2 {
			if d := begin(t, th, "192.0.2.1:1", "alice"); d != 0 {
				t.Fatalf("attempt within the pair limit throttled: %v", d)
			}
		}
		if d := begin(t, th, "192.0.2.1:2", "alice"); d != time.Minute {
			t.Fatalf("third attempt from one address: wait %v, want 1m", d)
		}
		// Alice herself, from her own address, is not locked out.
		if d := begin(t, th, "198.51.100.7:1", "alice"); d != 0 {
			t.Fatalf("alice locked out by one attacker elsewhere: %v", d)
		}
		th.Succeed(context.Background(), from("198.51.100.7:1"), "alice")
		// Many addresses at bob: the user limit is UserFactor times the pair's.
		for i := range UserFactor * 2 {
			if d := begin(t, th, fmt.Sprintf("203.0.113.%d:1", i), "bob"); d != 0 {
				t.Fatalf("attempt %d at bob throttled: %v", i+1, d)
			}
		}
		if d := begin(t, th, "203.0.113.200:1", "bob"); d == 0 {
			t.Fatal("many addresses together got more than the user limit")
		}
		// One office address, many names: AddressFactor times the pair's.
		for i := range AddressFactor * 2 {
			if d := begin(t, th, "[2001:db8:1:2::9]:1", fmt.Sprintf("user%d", i)); d != 0 {
				t.Fatalf("attempt %d from the office throttled: %v", i+1, d)
			}
		}
		if d := begin(t, th, "[2001:db8:1:2::77]:1", "carol"); d == 0 {
			t.Fatal("one /64 got more than the address limit")
		}
		// The window ends.
		now = now.Add(time.Minute)
		if d := begin(t, th, "192.0.2.1:2", "alice"); d != 0 {
			t.Fatalf("after the window: %v", d)
		}
	})
}

// TestThrottleSucceedTakesBack: right passwords are not failures, and a
// right one forgets the pair's failures.
func TestThrottleSucceedTakesBack(t *testing.T) {
	t.Parallel()
	throttleBackends(t, func(t *testing.T, newThrottle func(ThrottleOptions) *Throttle) {
		th := newThrottle(ThrottleOptions{Failures: 2, Window: time.Minute})
		ctx := context.Background()
		begin(t, th, "192.0.2.1:1", "alice") // a typo
		for range 10 {
			if d := begin(t, th, "192.0.2.1:1", "alice"); d != 0 {
				t.Fatalf("right passwords counted as failures: %v", d)
			}
			if err := th.Succeed(ctx, from("192.0.2.1:1"), "alice"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestThrottleCountsAtStart is issue 15.3: 40 guesses sent at once get
// exactly the limit's worth of checks, not 40.
func TestThrottleCountsAtStart(t *testing.T) {
	t.Parallel()
	throttleBackends(t, func(t *testing.T, newThrottle func(ThrottleOptions) *Throttle) {
		th := newThrottle(ThrottleOptions{Failures: 5, Window: time.Minute})
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				d, err := th.Begin(context.Background(), from("192.0.2.1:1"), "alice")
				if err != nil {
					t.Error(err)
				}
				if d == 0 {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := allowed.Load(); n != 5 {
			t.Fatalf("%d of 40 concurrent guesses were let through, want 5", n)
		}
	})
}

// TestThrottleShared: two servers on one database enforce one limit.
func TestThrottleShared(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	if err := database.Migrate(context.Background(), db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	a := NewThrottle(ThrottleOptions{Failures: 4, Window: time.Minute, DB: db})
	b := NewThrottle(ThrottleOptions{Failures: 4, Window: time.Minute, DB: db})
	for i := range 4 {
		th := a
		if i%2 == 1 {
			th = b
		}
		if d := begin(t, th, "192.0.2.1:1", "alice"); d != 0 {
			t.Fatalf("attempt %d throttled", i+1)
		}
	}
	for _, th := range []*Throttle{a, b} {
		if d := begin(t, th, "192.0.2.1:1", "alice"); d == 0 {
			t.Fatal("the two servers together allowed more than the limit")
		}
	}
}

// TestThrottleNamesKeepCountersApart: on one database, attempts counted by
// a named throttle (registrations) never count against the login
// throttle's limits, not even the client address's, and the other way
// round.
func TestThrottleNamesKeepCountersApart(t *testing.T) {
	t.Parallel()
	db := pgtest.Open(t)
	if err := database.Migrate(context.Background(), db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	logins := NewThrottle(ThrottleOptions{Failures: 1, Window: time.Minute, DB: db})
	registrations := NewThrottle(ThrottleOptions{Failures: 1, Window: time.Minute, DB: db, Name: "register"})
	// One address: the login throttle allows it AddressFactor attempts.
	for i := range AddressFactor {
		if d := begin(t, registrations, "192.0.2.7:1", fmt.Sprintf("user%d", i)); d != 0 {
			t.Fatalf("registration %d throttled", i+1)
		}
	}
	if d := begin(t, registrations, "192.0.2.7:1", "another"); d == 0 {
		t.Fatal("the registration throttle's address limit did not hold")
	}
	if d := begin(t, logins, "192.0.2.7:1", "alice"); d != 0 {
		t.Fatal("registrations counted against the login throttle's address limit")
	}
}

// TestThrottleOddNames: user names PostgreSQL could not store as text
// (NUL, invalid UTF-8) and very long ones are counted like any other.
func TestThrottleOddNames(t *testing.T) {
	t.Parallel()
	throttleBackends(t, func(t *testing.T, newThrottle func(ThrottleOptions) *Throttle) {
		th := newThrottle(ThrottleOptions{Failures: 1, Window: time.Minute})
		for _, name := range []string{"a\x00b", "\xff\xfe", string(make([]byte, 5000))} {
			if d := begin(t, th, "192.0.2.1:1", name); d != 0 {
				t.Fatalf("%q: first attempt throttled", name)
			}
			if d := begin(t, th, "192.0.2.1:1", name); d == 0 {
				t.Fatalf("%q: second attempt not throttled", name)
			}
		}
	})
}

func TestThrottleBoundedMemory(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	th := NewThrottle(ThrottleOptions{Failures: 2, Window: time.Minute, MaxEntries: 10, Now: func() time.Time { return now }})
	mem := th.counter.(*memCounter)
	for i := range 500 {
		begin(t, th, fmt.Sprintf("198.51.100.%d:1", i%250), fmt.Sprintf("user%d", i))
		if n := len(mem.entries); n > 10 {
			t.Fatalf("after %d attempts: %d entries, bound 10", i+1, n)
		}
	}
	// Expired entries go first.
	now = now.Add(time.Minute)
	begin(t, th, "192.0.2.1:1", "x")
	if n := len(mem.entries); n != 3 {
		t.Errorf("%d entries after the window, want 3", n)
	}
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	for remote, want := range map[string]string{
		"192.0.2.1:1234":            "192.0.2.1",
		"[::ffff:192.0.2.1]:1":      "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:80": "2001:db8:1:2::/64",
		"garbage":                   "garbage",
	} {
		if got := clientAddr(from(remote)); got != want {
			t.Errorf("clientAddr(%q) = %q, want %q", remote, got, want)
		}
	}
}

// TestThrottleOff: AuthFormThrottle Off lets every attempt through and
// keeps nothing, where the defaults would answer 429.
func TestThrottleOff(t *testing.T) {
	t.Parallel()
	on := NewThrottle(ThrottleOptions{Failures: 1})
	begin(t, on, "192.0.2.1:1", "alice")
	if begin(t, on, "192.0.2.1:1", "alice") == 0 {
		t.Fatal("a throttle that is on let the second attempt through")
	}
	off := NewThrottle(ThrottleOptions{Failures: 1, Off: true})
	for range 100 {
		if d := begin(t, off, "192.0.2.1:1", "alice"); d != 0 {
			t.Fatalf("throttle off: wait %v", d)
		}
	}
	if n := len(off.counter.(*memCounter).entries); n != 0 {
		t.Fatalf("throttle off: %d entries", n)
	}
}

func TestInWords(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		500 * time.Millisecond:          "in a second",
		30 * time.Second:                "in 30 seconds",
		60 * time.Second:                "in 1 minute",
		14*time.Minute + 50*time.Second: "in about 15 minutes",
		3 * time.Hour:                   "in about 3 hours",
	} {
		if got := InWords(d); got != want {
			t.Errorf("InWords(%v) = %q, want %q", d, got, want)
		}
	}
}
