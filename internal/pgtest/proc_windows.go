package pgtest

import "syscall"

// procAttr: Windows has no root for initdb to refuse (os.Geteuid is -1),
// so no owner is ever set.
func (o *owner) procAttr() *syscall.SysProcAttr { return nil }

// detached: the watchdog is a /bin/sh script, which Windows lacks; its
// start fails and the cluster is removed by Main alone.
func detached() *syscall.SysProcAttr { return nil }
