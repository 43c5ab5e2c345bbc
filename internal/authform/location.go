package authform

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// location is a configured AuthForm*Location: literal text with the
// ap_expr variables %{REQUEST_URI}, %{QUERY_STRING} and %{HTTP_HOST}.
type location struct {
	parts []locPart
}

type locPart struct {
	text string
	v    string // "" for literal text, else the variable name
}

var locationVars = map[string]bool{"REQUEST_URI": true, "QUERY_STRING": true, "HTTP_HOST": true}

// parseLocation compiles a configured location; "" gives nil (not set).
func parseLocation(directive, s string) (*location, error) {
	if s == "" {
		return nil, nil
	}
	if hasCTL(s) {
		return nil, fmt.Errorf("%s: %q contains a control character", directive, s)
	}
	loc := &location{}
	for s != "" {
		i := strings.Index(s, "%{")
		if i < 0 {
			loc.parts = append(loc.parts, locPart{text: s})
			break
		}
		if i > 0 {
			loc.parts = append(loc.parts, locPart{text: s[:i]})
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%s: unterminated %%{ in %q", directive, s)
		}
		name := s[i+2 : i+end]
		if !locationVars[name] {
			return nil, fmt.Errorf("%s: unsupported variable %%{%s} (supported: REQUEST_URI, QUERY_STRING, HTTP_HOST)", directive, name)
		}
		loc.parts = append(loc.parts, locPart{v: name})
		s = s[i+end+1:]
	}
	return loc, nil
}

// eval substitutes the request's values. REQUEST_URI is the path without
// the query string, as in ap_expr.
func (l *location) eval(r *http.Request) string {
	var b strings.Builder
	for _, p := range l.parts {
		switch p.v {
		case "":
			b.WriteString(p.text)
		case "REQUEST_URI":
			b.WriteString(r.URL.EscapedPath())
		case "QUERY_STRING":
			b.WriteString(r.URL.RawQuery)
		case "HTTP_HOST":
			b.WriteString(r.Host)
		}
	}
	return b.String()
}

// SameSitePath reports whether a client-supplied redirect target (the
// httpd_location form field, a page's ?next=) stays on this site: a path
// starting with a single '/', no backslash, no control character, no
// scheme or host. It is the one open-redirect check; every page that
// sends people back to a URL they supplied uses it.
func SameSitePath(s string) bool {
	if len(s) == 0 || s[0] != '/' || len(s) > 1 && s[1] == '/' {
		return false
	}
	if strings.IndexByte(s, '\\') >= 0 || hasCTL(s) {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
