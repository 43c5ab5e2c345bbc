// Package remoteip is mod_remoteip: behind a reverse proxy, the client's
// address is taken from a header such as X-Forwarded-For, but only when
// the connection comes from a trusted proxy. The header's addresses are
// read right to left; each one taken must itself be a trusted proxy for
// the next one to be read, so a client can never choose its own address by
// sending the header itself.
//
// The address found replaces http.Request.RemoteAddr, which is what
// throttling, the access log, CGI's REMOTE_ADDR and the site see; Peer
// still returns the connection's address.
package remoteip

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxy is one RemoteIPTrustedProxy or RemoteIPInternalProxy entry.
type Proxy struct {
	Prefix netip.Prefix
	// Internal proxies may present private and loopback addresses as the
	// client's (RemoteIPInternalProxy); trusted ones may not
	// (RemoteIPTrustedProxy): such an address is left in the header.
	Internal bool
}

// ParseProxy parses an address or CIDR block, e.g. "10.0.0.1" or
// "10.0.0.0/8", as RemoteIPTrustedProxy and RemoteIPInternalProxy take it.
func ParseProxy(s string, internal bool) (Proxy, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Proxy{}, fmt.Errorf("%q is not an address or CIDR block, e.g. 10.0.0.1 or 10.0.0.0/8", s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return Proxy{Prefix: p.Masked(), Internal: internal}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Proxy{}, fmt.Errorf("%q is not an address or CIDR block, e.g. 10.0.0.1 or 10.0.0.0/8", s)
	}
	a = a.Unmap()
	return Proxy{Prefix: netip.PrefixFrom(a, a.BitLen()), Internal: internal}, nil
}

// Config is mod_remoteip's configuration.
type Config struct {
	// Header is RemoteIPHeader, e.g. "X-Forwarded-For".
	Header string
	// Proxies are the trusted and internal proxies; a header from any
	// other peer is ignored.
	Proxies []Proxy
}

// match returns the proxy entry that contains a, the first in the list.
func (c *Config) match(a netip.Addr) (Proxy, bool) {
	for _, p := range c.Proxies {
		if p.Prefix.Contains(a) {
			return p, true
		}
	}
	return Proxy{}, false
}

// Client returns the client address for a request from peer carrying the
// header value, and what remains of the header (the part not consumed; ""
// when all was). ok is false when nothing in the header is used: the peer
// is not trusted, or the rightmost entry is not a usable address.
func (c *Config) Client(peer netip.Addr, header string) (client netip.Addr, rest string, ok bool) {
	cur := peer.Unmap()
	remote := header
	for {
		p, trusted := c.match(cur)
		if !trusted {
			break
		}
		var entry string
		if i := strings.LastIndexByte(remote, ','); i >= 0 {
			entry, remote = remote[i+1:], remote[:i]
		} else {
			entry, remote = remote, ""
		}
		a, err := netip.ParseAddr(strings.Trim(entry, " "))
		if err != nil || a.Zone() != "" {
			remote = join(remote, entry)
			break
		}
		a = a.Unmap()
		if !p.Internal && private(a) {
			// A proxy out on the internet cannot know a client by an
			// intranet address: leave it, as mod_remoteip does.
			remote = join(remote, entry)
			break
		}
		client, ok, cur = a, true, a
		if remote == "" {
			break
		}
	}
	if !ok {
		return netip.Addr{}, header, false
	}
	return client, remote, true
}

func join(remote, entry string) string {
	if remote == "" {
		return entry
	}
	return remote + "," + entry
}

// private reports the addresses mod_remoteip does not accept from a
// trusted (not internal) proxy: IPv4 10/8, 127/8, 169.254/16, 172.16/12,
// 192.168/16, and IPv6 outside the global unicast block 2000::/3.
func private(a netip.Addr) bool {
	if a.Is4() {
		b := a.As4()
		return b[0] == 10 || b[0] == 127 || b[0] == 169 && b[1] == 254 ||
			b[0] == 172 && b[1]&0xf0 == 16 || b[0] == 192 && b[1] == 168
	}
	return a.As16()[0]&0xe0 != 0x20
}

type peerKey struct{}

// Peer returns the address the request's connection came from, host:port:
// the proxy's when Handler replaced RemoteAddr, else RemoteAddr.
func Peer(r *http.Request) string {
	if p, ok := r.Context().Value(peerKey{}).(string); ok {
		return p
	}
	return r.RemoteAddr
}

// Handler replaces RemoteAddr with the client address from the header when
// the peer is trusted, keeping the peer's port as mod_remoteip does, and
// leaves in the header only the part it did not consume. A nil or empty
// Config passes requests through unchanged.
func Handler(c *Config, next http.Handler) http.Handler {
	if c == nil || c.Header == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values(c.Header)
		if len(values) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		host, port, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		peer, err := netip.ParseAddr(host)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		// httpd merges repeated request headers with ", " before
		// mod_remoteip reads them.
		client, rest, ok := c.Client(peer, strings.Join(values, ", "))
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		r2 := r.WithContext(context.WithValue(r.Context(), peerKey{}, r.RemoteAddr))
		r2.RemoteAddr = net.JoinHostPort(client.String(), port)
		r2.Header = r.Header.Clone()
		if rest == "" {
			r2.Header.Del(c.Header)
		} else {
			r2.Header.Set(c.Header, rest)
		}
		next.ServeHTTP(w, r2)
	})
}
