// Package authzhost is mod_authz_host's "Require ip": a location answered
// only to clients from listed addresses or networks, e.g. /metrics to the
// monitoring host. The client address is http.Request.RemoteAddr, so
// behind a proxy mod_remoteip (package remoteip) must run first.
package authzhost

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// ParseNetwork parses one argument of "Require ip": a full address
// ("10.1.2.3", "2001:db8::1"), a CIDR block ("10.1.0.0/16"), an address and
// netmask ("10.1.0.0/255.255.0.0") or, as httpd allows, the first octets of
// an IPv4 network ("10.1" for 10.1.0.0/16).
func ParseNetwork(s string) (netip.Prefix, error) {
	bad := fmt.Errorf("%q is not an address or network; give e.g. 10.1.2.3, 10.1.0.0/16, 10.1 or 2001:db8::/32", s)
	addr, mask, hasMask := strings.Cut(s, "/")
	if hasMask {
		a, err := netip.ParseAddr(addr)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, bad
		}
		a = a.Unmap()
		bits, err := strconv.Atoi(mask)
		if err != nil {
			m, merr := netip.ParseAddr(mask)
			if merr != nil || !m.Is4() || !a.Is4() {
				return netip.Prefix{}, bad
			}
			ones, size := net.IPMask(m.AsSlice()).Size()
			if size == 0 {
				return netip.Prefix{}, fmt.Errorf("%q: the netmask %s is not contiguous", s, mask)
			}
			bits = ones
		}
		p, err := a.Prefix(bits)
		if err != nil || bits < 0 || bits > a.BitLen() || !strings.ContainsAny(mask, "0123456789") {
			return netip.Prefix{}, bad
		}
		return p, nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	// Partial IPv4: 1 to 3 leading octets.
	octets := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(octets) == 0 || len(octets) > 3 {
		return netip.Prefix{}, bad
	}
	var b [4]byte
	for i, o := range octets {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 || n > 255 || o == "" || len(o) > 3 {
			return netip.Prefix{}, bad
		}
		b[i] = byte(n)
	}
	return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(octets)), nil
}

// Allowed reports whether the client address of r (host:port or host) is
// in one of the networks.
func Allowed(networks []netip.Prefix, r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, n := range networks {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Handler answers 403 Forbidden, through forbidden, to clients outside the
// networks; forbidden nil writes a short plain-text page.
func Handler(networks []netip.Prefix, forbidden http.Handler, next http.Handler) http.Handler {
	if forbidden == nil {
		forbidden = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "Forbidden", http.StatusForbidden)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Allowed(networks, r) {
			forbidden.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
