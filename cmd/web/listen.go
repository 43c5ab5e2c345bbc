package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// listenError explains a failed net.Listen: a port in use is the common
// case, and -listen the way out.
func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("Listen %s: the address is already in use (another web still running?); stop that program, or choose another address with -listen, e.g. -listen %s", addr, nextPort(addr))
	}
	return fmt.Errorf("Listen %s: %w; choose another address with -listen HOST:PORT", addr, err)
}

// nextPort suggests the address one port up.
func nextPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n >= 65535 {
		return "127.0.0.1:8081"
	}
	return net.JoinHostPort(host, strconv.Itoa(n+1))
}

// startupLine is the one line web prints once it listens: a URL to open
// (on every address, the loopback one) and where its files are.
func startupLine(addr, file, root string) string {
	where := ""
	if host, port, err := net.SplitHostPort(addr); err == nil && net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		addr = net.JoinHostPort("127.0.0.1", port)
		where = ", on every address"
	}
	return fmt.Sprintf("websession listening on http://%s%s (configuration %s, data under %s)", addr, where, file, root)
}
