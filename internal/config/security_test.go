package config

import (
	"strings"
	"testing"

	"github.com/websession/websession/internal/headers"
)

func TestHeaderDirective(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("site.conf", []byte("Header always set X-Frame-Options SAMEORIGIN\n<Location /a>\nHeader unset X-Test\n</Location>\n"), Options{ServerRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Resolve("/a/b").Headers; len(got) != 2 || got[0].Name != "X-Frame-Options" || got[1].Action != headers.Unset {
		t.Fatalf("/a/b headers %+v", got)
	}
	if got := cfg.Resolve("/b").Headers; len(got) != 1 {
		t.Fatalf("/b headers %+v", got)
	}
	_, err = Parse("site.conf", []byte("\nHeader add X-Test 1\n"), Options{ServerRoot: t.TempDir()})
	if err == nil || !strings.HasPrefix(err.Error(), "site.conf:2: Header: ") || !strings.Contains(err.Error(), "set, append and unset") {
		t.Fatalf("error %v", err)
	}
}

// TestPassphraseChecks is issue 15.15's second half: an empty passphrase
// is refused, a short one (a one-character SESSION_SECRET, the manual's
// "secret") starts with a warning naming the directive, a long one is
// quiet.
func TestPassphraseChecks(t *testing.T) {
	t.Parallel()
	env := func(v string) Options {
		return Options{ServerRoot: t.TempDir(), Getenv: func(string) string { return v }}
	}
	if _, err := Parse("site.conf", []byte("Session On\nSessionCryptoPassphrase \"\"\n"), env("")); err == nil ||
		!strings.HasPrefix(err.Error(), "site.conf:2: SessionCryptoPassphrase: passphrase 1 is empty") {
		t.Fatalf("empty passphrase: %v", err)
	}
	for _, c := range []struct {
		conf, secret string
		warn         string
	}{
		{"SessionCryptoPassphrase secret\n", "", "site.conf:1: SessionCryptoPassphrase: passphrase 1 has only 6 characters"},
		{"SessionCryptoPassphrase \"${SESSION_SECRET}\"\n", "x", "site.conf:1: SessionCryptoPassphrase: passphrase 1 has only 1 characters"},
		{"SessionCryptoPassphrase 0123456789abcdef\n", "", ""},
	} {
		cfg, err := Parse("site.conf", []byte(c.conf), env(c.secret))
		if err != nil {
			t.Fatalf("%q: %v", c.conf, err)
		}
		switch {
		case c.warn == "" && len(cfg.Warnings) != 0:
			t.Errorf("%q: warnings %v", c.conf, cfg.Warnings)
		case c.warn != "" && (len(cfg.Warnings) != 1 || !strings.HasPrefix(cfg.Warnings[0].Error(), c.warn)):
			t.Errorf("%q: warnings %v, want %q", c.conf, cfg.Warnings, c.warn)
		case c.warn != "" && strings.Contains(cfg.Warnings[0].Msg, "secret"):
			t.Errorf("the warning shows the passphrase: %v", cfg.Warnings[0])
		}
	}
}
