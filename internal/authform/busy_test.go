package authform_test

import (
	"context"
	"testing"

	"github.com/websession/websession/internal/users"
)

// TestLoginFloodBusy: when every bcrypt slot is taken (a flood of wrong
// passwords, issue 15.4), a login or a protected page whose credentials
// need a hash answers 503 with Retry-After instead of queueing without
// bound; credentials already verified need no hash and still pass.
func TestLoginFloodBusy(t *testing.T) {
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
