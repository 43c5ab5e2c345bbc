//go:build !unix

package main

import "os"

// reloadSignals delivers nothing where there is no SIGHUP: restart the
// server to load a new configuration.
func reloadSignals() (<-chan os.Signal, func()) {
	return nil, func() {}
}
