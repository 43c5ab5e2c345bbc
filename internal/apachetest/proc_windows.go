package apachetest

import "syscall"

// ownProcessGroup: Apache httpd is not run on Windows by these tests (Start
// looks for a Debian apache2); nothing to set.
func ownProcessGroup() *syscall.SysProcAttr { return nil }
