package authform

import (
	"errors"
	"io"
	"net/http"
	"strings"
)

// errFormTooLarge reports a login form over Options.Size: a 413.
var errFormTooLarge = errors.New("login form too large")

// form holds the fields of a login form; the first occurrence of a name
// wins, as in ap_parse_form_data.
type form map[string]string

func (f form) get(name string) (string, bool) {
	v, ok := f[name]
	return v, ok
}

// readForm reads r's body as a urlencoded form when its Content-Type is
// application/x-www-form-urlencoded; any other body yields no fields (httpd
// discards it). The body is consumed either way.
func readForm(r *http.Request, size int64) (form, error) {
	if !hasPrefixFold(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 3*size+3))
		}
		return form{}, nil
	}
	if r.Body == nil {
		return form{}, nil
	}
	// Every decoded byte takes at most three bytes on the wire.
	raw, err := io.ReadAll(io.LimitReader(r.Body, 3*size+4))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > 3*size+3 {
		return nil, errFormTooLarge
	}
	return parseForm(string(raw), size)
}

// parseForm decodes an application/x-www-form-urlencoded body: '+' is a
// space, %XX a byte (a malformed escape is kept literally), '&' separates
// fields and a field without '=' has an empty value. It fails with
// errFormTooLarge when the decoded names and values exceed size bytes.
func parseForm(body string, size int64) (form, error) {
	f := form{}
	var total int64
	for body != "" {
		var field string
		field, body, _ = strings.Cut(body, "&")
		if field == "" {
			continue
		}
		k, v, _ := strings.Cut(field, "=")
		name, value := unescapeForm(k), unescapeForm(v)
		total += int64(len(name) + len(value))
		if total > size {
			return nil, errFormTooLarge
		}
		if _, seen := f[name]; !seen {
			f[name] = value
		}
	}
	return f, nil
}

func unescapeForm(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
