package authform_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/users"
)

// TestLoginFloodBusy: when every bcrypt slot is taken (a flood of wrong
// passwords, issue 15.4), a login or a protected page whose credentials
// need a hash answers 503 with Retry-After instead of queueing without
// bound; credentials already verified need no hash and still pass.
func TestLoginFloodBusy(t *testing.T) {
	t.Parallel()
	hashes := users.NewHashLimiter(users.HashLimiterOptions{Slots: 1, Queue: -1})
	_, store := userFileOpts(t, users.Options{Hashes: hashes}, "alice", "wonderland", "bob", "builder1")
	s := newSite(t, siteConfig{provider: store})
	check(t, s.do(req{target: "/admin/", cookie: aliceCookie}), want{status: 200}) // verified once: cached
	release, err := hashes.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	check(t, s.do(req{target: "/dologin", form: creds("alice", "not wonderland")}), want{status: 503, header: map[string]string{"Retry-After": "2"}})
	check(t, s.do(req{target: "/admin/", cookie: "%2fadmin-user=bob&%2fadmin-pw=builder1"}), want{status: 503})
	check(t, s.do(req{target: "/admin/", cookie: aliceCookie}), want{status: 200})
}

// TestBusyGoesToFail: with the integrator's failure renderer (Fail) set,
// a busy user store is reported to it, not answered here: one renderer,
// one log line, whichever layer found it.
func TestBusyGoesToFail(t *testing.T) {
	t.Parallel()
	hashes := users.NewHashLimiter(users.HashLimiterOptions{Slots: 1, Queue: -1})
	_, store := userFileOpts(t, users.Options{Hashes: hashes}, "alice", "wonderland")
	var reported []error
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		reported = append(reported, err)
		w.WriteHeader(http.StatusTeapot)
	}
	s := newSite(t, siteConfig{provider: store, opts: authform.Options{Fail: fail}})
	release, err := hashes.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for _, q := range []req{
		{target: "/dologin", form: creds("alice", "not wonderland")},
		{target: "/admin/", cookie: "%2fadmin-user=alice&%2fadmin-pw=wonderland"},
	} {
		reported = nil
		res := s.do(q)
		if res.StatusCode != http.StatusTeapot || len(reported) != 1 || !errors.Is(reported[0], users.ErrBusy) {
			t.Errorf("%s: %d, reported %v; want the answer of Fail, given users.ErrBusy once", q.target, res.StatusCode, reported)
		}
	}
}
