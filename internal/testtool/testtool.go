// Package testtool finds the outside programs that tests run for real
// (Apache's htpasswd, Chromium, docker-compose). A missing program skips
// the test on a developer's machine but fails it when CI=true, because CI
// must really run every test it reports.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Path returns the path of program, or ends the test: Skip normally,
// Fatal under CI=true. pkg names the Debian package that provides it, for
// the message.
func Path(tb testing.TB, program, pkg string) string {
	tb.Helper()
	p, err := exec.LookPath(program)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s (Debian package %s) is required under CI=true: %v", program, pkg, err)
	}
	tb.Skipf("%s (Debian package %s) is not installed", program, pkg)
	return ""
}
