//go:build unix

package apachetest

import "syscall"

// ownProcessGroup puts httpd in its own process group, so a ^C to go test
// reaches us, not httpd directly; Cleanup stops it.
func ownProcessGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
