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
