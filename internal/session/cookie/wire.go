package cookie

import (
	"net/http"
	"strconv"
	"strings"
)

// DefaultAttrs is what httpd writes when a cookie directive names no
// attributes (util_cookies.c). Note that Secure makes browsers drop the
// cookie on plain http.
const DefaultAttrs = "HttpOnly;Secure;Version=1"

// MaxCookieSize bounds a whole Set-Cookie value (name, value and
// attributes); browsers keep at most 4096 bytes per cookie.
const MaxCookieSize = 4096

// MaxHeaderValue bounds the request cookie headers we scan; httpd's default
// request field limit is 8190 bytes.
const MaxHeaderValue = 8190

// Line formats a Set-Cookie value as ap_cookie_write does:
// name=value; then Max-Age=maxAge; when maxAge is not 0; then the attribute
// string verbatim, or DefaultAttrs when it is empty.
func Line(name, value, attrs string, maxAge int64) string {
	var b strings.Builder
	b.Grow(len(name) + len(value) + len(attrs) + 24)
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(value)
	b.WriteByte(';')
	if maxAge != 0 {
		b.WriteString("Max-Age=")
		b.WriteString(strconv.FormatInt(maxAge, 10))
		b.WriteByte(';')
	}
	if attrs == "" {
		attrs = DefaultAttrs
	}
	b.WriteString(attrs)
	return b.String()
}

// RemovalLine formats the cookie that deletes name in the browser, as
// ap_cookie_remove does: name=;Max-Age=0; followed by the configured
// attributes verbatim (nothing when none were configured).
func RemovalLine(name, attrs string) string {
	return name + "=;Max-Age=0;" + attrs
}

// Set puts line into h under header (Set-Cookie or Set-Cookie2), replacing
// any line already there for the same cookie name, so a response carries
// exactly one header per cookie name.
func Set(h http.Header, header, name, line string) {
	key := http.CanonicalHeaderKey(header)
	lines := h[key]
	out := lines[:0]
	for _, l := range lines {
		if n, _, _ := strings.Cut(l, "="); strings.TrimSpace(n) != name {
			out = append(out, l)
		}
	}
	h[key] = append(out, line)
}

// Read finds the cookie name in every Cookie and Cookie2 header of h as
// ap_cookie_read does: values split on ',' and ';', a segment matches when,
// after leading blanks, it starts with "name=" (case-sensitive), and the
// rest of the segment is the value, verbatim. A cookie present more than
// once with different values is ambiguous: ok is false and conflict true
// (httpd logs an error and treats the session as absent). When remove is
// true and the cookie was found unambiguously, it is taken out of the
// headers (with any $Path/$Domain segments that follow it) so that handlers
// never see it; a header left empty is dropped.
func Read(h http.Header, name string, remove bool) (value string, ok, conflict bool) {
	prefix := name + "="
	for _, key := range [...]string{"Cookie", "Cookie2"} {
		for _, hv := range h[key] {
			if len(hv) > MaxHeaderValue {
				return "", false, false
			}
			for hv != "" {
				var seg string
				seg, hv = nextSegment(hv)
				seg = strings.TrimLeft(seg, " \t")
				v, found := strings.CutPrefix(seg, prefix)
				if !found {
					continue
				}
				if ok && v != value {
					return "", false, true
				}
				value, ok = v, true
			}
		}
	}
	if ok && remove {
		strip(h, prefix)
	}
	return value, ok, false
}

// nextSegment splits off the text up to the next ',' or ';'.
func nextSegment(s string) (seg, rest string) {
	i := strings.IndexAny(s, ",;")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// strip rebuilds the Cookie and Cookie2 headers without the cookie starting
// with prefix, keeping the other segments' text, including leading blanks.
func strip(h http.Header, prefix string) {
	for _, key := range [...]string{"Cookie", "Cookie2"} {
		values := h[key]
		if values == nil {
			continue
		}
		var kept []string
		for _, hv := range values {
			var segs []string
			dropping := false
			for _, seg := range splitSegments(hv) {
				t := strings.TrimLeft(seg, " \t")
				switch {
				case strings.HasPrefix(t, prefix):
					dropping = true
					continue
				case dropping && strings.HasPrefix(t, "$"):
					continue
				}
				dropping = false
				segs = append(segs, seg)
			}
			if len(segs) > 0 {
				kept = append(kept, strings.Join(segs, ";"))
			}
		}
		if len(kept) == 0 {
			delete(h, key)
		} else {
			h[key] = kept
		}
	}
}

func splitSegments(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' })
}
