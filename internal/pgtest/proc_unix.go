//go:build unix

package pgtest

import "syscall"

// procAttr runs a program as o.
func (o *owner) procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(o.uid), Gid: uint32(o.gid)}}
}

// detached starts a program in a session of its own, so that it outlives
// the test binary and its process group.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
