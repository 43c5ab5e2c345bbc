package sessioncrypto

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/websession/websession/internal/apachetest"
)

// sessionCGI prints the session httpd exported (SessionEnv On) and, for
// ?set=<encoded session>, hands that session back to httpd through the
// SessionHeader response header.
const sessionCGI = `#!/bin/sh
printf 'Content-Type: text/plain\n'
case "$QUERY_STRING" in
set=*) printf 'X-Replace-Session: %s\n' "${QUERY_STRING#set=}" ;;
esac
printf '\nHTTP_SESSION=%s\n' "$HTTP_SESSION"
`

// liveCiphers are tried against httpd; each gets its own location.
var liveCiphers = []string{"aes256", "aes128", "aes192", "3des192"}

// startApache runs httpd configured as the mod_session_crypto manual's
// example, with "secret other" as passphrases; /cgi-bin/session.sh uses
// the default cipher and /c/<cipher>/session.sh the named one.
func startApache(t *testing.T) *apachetest.Server {
	t.Helper()
	var conf strings.Builder
	conf.WriteString(`Session On
SessionCookieName session path=/
SessionCryptoPassphrase secret other
SessionEnv On
SessionHeader X-Replace-Session
ScriptAliasMatch "^/c/[a-z0-9]+/session.sh$" "${SERVER_ROOT}/cgi-bin/session.sh"
`)
	for _, c := range liveCiphers {
		fmt.Fprintf(&conf, "<Location /c/%s/>\n    SessionCryptoCipher %s\n</Location>\n", c, c)
	}
	return apachetest.Start(t, apachetest.Config{
		Modules: []string{"session", "session_cookie", "session_crypto"},
		Conf:    conf.String(),
		Scripts: map[string]string{"cgi-bin/session.sh": sessionCGI},
	})
}

// apacheGet requests path with the session cookie wire (none if "") and
// returns the HTTP_SESSION the CGI saw and the session cookie httpd set
// ("" if none).
func apacheGet(t *testing.T, s *apachetest.Server, path, wire string) (env, setCookie string) {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if wire != "" {
		req.Header.Set("Cookie", "session="+wire)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, body)
	}
	env, ok := strings.CutPrefix(strings.TrimSuffix(string(body), "\n"), "HTTP_SESSION=")
	if !ok {
		t.Fatalf("GET %s: unexpected body %q", path, body)
	}
	for _, h := range resp.Header.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(h, "session="); ok {
			setCookie, _, _ = strings.Cut(v, ";")
		}
	}
	return env, setCookie
}

func TestApacheInterop(t *testing.T) {
	s := startApache(t)
	const table = "user=alice&role=admin&name=J%c3%bcrgen+M%c3%bcller&path=%2fa%2fb"

	for _, cipher := range liveCiphers {
		t.Run(cipher, func(t *testing.T) {
			path := "/c/" + cipher + "/session.sh"
			ours := mustNew(t, []string{"secret", "other"}, cipher)

			// httpd -> us: a session httpd encrypted decrypts here, and
			// with the first passphrase (the one that encrypts).
			_, wire := apacheGet(t, s, path+"?set="+table, "")
			if wire == "" {
				t.Fatal("httpd set no session cookie")
			}
			if got, err := ours.Decrypt(wire); err != nil || got != table {
				t.Fatalf("httpd's cookie decrypts to %q, %v; want %q", got, err, table)
			}
			if got, err := mustNew(t, []string{"secret"}, cipher).Decrypt(wire); err != nil || got != table {
				t.Fatalf("httpd's cookie with [secret] only: %q, %v", got, err)
			}

			// us -> httpd: our cookie is read, and not re-issued.
			wire, err := ours.Encrypt(table)
			if err != nil {
				t.Fatal(err)
			}
			env, set := apacheGet(t, s, path, wire)
			if env != table || set != "" {
				t.Fatalf("httpd read our cookie as %q (Set-Cookie %q); want %q, none", env, set, table)
			}
		})
	}
}

// Scenario 12 against httpd: a cookie we encrypt with "other" (the second
// passphrase httpd knows) is read; once httpd changes the session it
// re-issues it under "secret" only.
func TestApacheKeyRotation(t *testing.T) {
	s := startApache(t)
	rotated := mustNew(t, []string{"other", "secret"}, "")
	wire, err := rotated.Encrypt("user=alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mustNew(t, []string{"secret"}, "").Decrypt(wire); err != ErrDecrypt {
		t.Fatal("test cookie should not decrypt with secret")
	}
	env, set := apacheGet(t, s, "/cgi-bin/session.sh", wire)
	if env != "user=alice" || set != "" {
		t.Fatalf("httpd read the other-encrypted cookie as %q (Set-Cookie %q)", env, set)
	}

	env, set = apacheGet(t, s, "/cgi-bin/session.sh?set=n=1", wire)
	if env != "user=alice" || set == "" {
		t.Fatalf("update: HTTP_SESSION %q, Set-Cookie %q", env, set)
	}
	if got, err := mustNew(t, []string{"secret"}, "").Decrypt(set); err != nil || got != "user=alice&n=1" {
		t.Fatalf("re-issued cookie with [secret]: %q, %v", got, err)
	}
	if _, err := mustNew(t, []string{"other"}, "").Decrypt(set); err != ErrDecrypt {
		t.Fatalf("re-issued cookie still decrypts with [other]: %v", err)
	}
}

// Spec §8 CVE-2016-0736 against httpd: what we reject, httpd rejects too,
// and what we accept through lenient base64, httpd accepts.
func TestApacheAgreesOnTampering(t *testing.T) {
	s := startApache(t)
	ours := mustNew(t, []string{"secret", "other"}, "")
	wire, _ := ours.Encrypt("user=alice")
	raw, _ := base64.StdEncoding.DecodeString(wire)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x80
		return base64.StdEncoding.EncodeToString(b)
	}
	tests := []struct {
		name, wire, want string
	}{
		{"intact", wire, "user=alice"},
		{"spec V1", specV1, "user=alice&role=admin"},
		{"spec V2 (second passphrase)", "wNj9HORbVYIAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH7oKPm2XcY98GEzGCMC9wJc=", "k=v"},
		{"trailing junk", wire + "!!!junk", "user=alice"},
		{"MAC flipped", flip(0), ""},
		{"salt flipped", flip(macLen), ""},
		{"IV flipped", flip(macLen + saltLen), ""},
		{"last byte flipped", flip(len(raw) - 1), ""},
		{"without MAC (pre-2.4.25)", base64.StdEncoding.EncodeToString(raw[macLen:]), ""},
		{"truncated", base64.StdEncoding.EncodeToString(raw[:len(raw)-16]), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := apacheGet(t, s, "/cgi-bin/session.sh", tt.wire)
			got, err := ours.Decrypt(tt.wire)
			if env != tt.want || got != tt.want || (err == nil) != (tt.want != "") {
				t.Fatalf("httpd saw %q, we decrypted %q (%v); want %q", env, got, err, tt.want)
			}
		})
	}
}
