package authform

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

func TestThrottleBoundedMemory(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	th := NewThrottle(ThrottleOptions{Failures: 2, Window: time.Minute, MaxEntries: 10, Now: func() time.Time { return now }})
	for i := range 500 {
		th.fail([2]string{fmt.Sprintf("u\x00user%d", i), fmt.Sprintf("a\x00198.51.100.%d", i%250)})
		if n := len(th.entries); n > 10 {
			t.Fatalf("after %d failures: %d entries, bound 10", i+1, n)
		}
	}
	// Expired entries go first.
	now = now.Add(time.Minute)
	th.fail([2]string{"u\x00x", "a\x00y"})
	if n := len(th.entries); n != 2 {
		t.Errorf("%d entries after the window, want 2", n)
	}
}

func TestClientAddr(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:1234":            "192.0.2.1",
		"[::ffff:192.0.2.1]:1":      "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:80": "2001:db8:1:2::/64",
		"garbage":                   "garbage",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := clientAddr(r); got != want {
			t.Errorf("clientAddr(%q) = %q, want %q", remote, got, want)
		}
	}
}

// TestThrottleOff: AuthFormThrottle Off lets every attempt through and
// keeps nothing, where the defaults would answer 429.
func TestThrottleOff(t *testing.T) {
	keys := [2]string{"u\x00alice", "a\x00192.0.2.1"}
	on := NewThrottle(ThrottleOptions{Failures: 1})
	on.fail(keys)
	if on.wait(keys) == 0 {
		t.Fatal("a throttle that is on let the second attempt through")
	}
	off := NewThrottle(ThrottleOptions{Failures: 1, Off: true})
	for range 100 {
		off.fail(keys)
	}
	if d := off.wait(keys); d != 0 || len(off.entries) != 0 {
		t.Fatalf("throttle off: wait %v, %d entries", d, len(off.entries))
	}
}
