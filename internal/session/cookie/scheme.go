package cookie

import (
	"net/http"
	"strings"
)

// HostPrefix is the cookie name prefix (RFC 6265bis) that browsers accept
// only from a secure origin, with Secure, Path=/ and no Domain: a cookie
// that a sibling subdomain or a plain-HTTP man in the middle cannot plant.
const HostPrefix = "__Host-"

// ForRequest adapts a configured cookie to the scheme r actually came
// over. Over TLS the attributes gain Secure and, when they say path=/ and
// name no Domain, the name gains HostPrefix. Over plain HTTP both stay as
// configured: Chromium drops a Secure cookie sent over plain HTTP, even on
// 127.0.0.1, so adding it there would break logins on loopback.
func ForRequest(r *http.Request, name, attrs string) (string, string) {
	if r == nil || r.TLS == nil || name == "" {
		return name, attrs
	}
	if attrs == "" {
		attrs = DefaultAttrs
	}
	secure, rootPath, domain := false, false, false
	for a := range strings.SplitSeq(attrs, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(a), "=")
		switch {
		case strings.EqualFold(k, "secure"):
			secure = true
		case strings.EqualFold(k, "path"):
			rootPath = strings.TrimSpace(v) == "/"
		case strings.EqualFold(k, "domain"):
			domain = true
		}
	}
	if !secure {
		attrs = strings.TrimSuffix(attrs, ";") + ";Secure"
	}
	if rootPath && !domain && !strings.HasPrefix(name, HostPrefix) && !strings.HasPrefix(name, "__Secure-") {
		name = HostPrefix + name
	}
	return name, attrs
}
