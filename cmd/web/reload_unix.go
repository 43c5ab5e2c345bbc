//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// reloadSignals delivers SIGHUP, httpd's graceful restart.
func reloadSignals() (<-chan os.Signal, func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	return c, func() { signal.Stop(c) }
}
