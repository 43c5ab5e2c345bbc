package authform_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/sessioncrypto"
)

// sharedVector is the team's shared cookie, encrypted by mod_session_crypto
// with the passphrase "secret": %2fprivate-user=alice&%2fprivate-pw=secret1.
const sharedVector = "H2Y/XXcuzqThZTUZbi9Gq7vhcr2U0O7qOTnol3yiPpEbhAvs25nyOhYczMLKtxshyAKgfXiEO7PTa41d3eeZbaqGzYpeZZEvW6t4VKUrDdtpzd6jzR9PbQ=="

func encryptedSite(t *testing.T) *site {
	t.Helper()
	_, store := userFile(t, "alice", "secret1")
	codec, err := sessioncrypto.New([]string{"secret"}, "", sessioncrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return newSite(t, siteConfig{
		provider: store,
		prefix:   "/private/",
		opts:     authform.Options{AuthName: "/private"},
		sess:     session.Config{Cipher: codec},
	})
}

func TestSharedCryptoVector(t *testing.T) {
	t.Parallel()
	s := encryptedSite(t)
	check(t, s.do(req{target: "/private/", cookie: sharedVector}), want{status: 200, body: []string{`user="alice" ok=true`}})
	// One flipped character: no session, so no user.
	tampered := "I" + sharedVector[1:]
	check(t, s.do(req{target: "/private/", cookie: tampered}), want{status: 401})
}

func TestEncryptedCookieHidesPassword(t *testing.T) {
	t.Parallel()
	s := encryptedSite(t)
	for name, q := range map[string]req{
		"login handler": {target: "/dologin", form: creds("alice", "secret1")},
		"inline login":  {target: "/private/x", form: creds("alice", "secret1")},
	} {
		t.Run(name, func(t *testing.T) {
			res := s.do(q)
			value, line, ok := cookieValue(res)
			if res.StatusCode != 200 || !ok {
				t.Fatalf("status %d, cookie %v", res.StatusCode, ok)
			}
			for _, clear := range []string{"secret1", url.QueryEscape("secret1"), "alice", "private-pw"} {
				if strings.Contains(line, clear) {
					t.Errorf("Set-Cookie %q contains %q in clear", line, clear)
				}
			}
			// and the cookie works
			check(t, s.do(req{target: "/private/", cookie: value}), want{status: 200, body: []string{`user="alice"`}})
		})
	}
}
