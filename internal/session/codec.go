package session

import (
	"strconv"
	"strings"
)

// expiryKey is the reserved key that carries the expiry in the encoded form.
const expiryKey = "expiry"

// Encode returns the urlencoded form of s exactly as httpd's
// session_identity_encode writes it: escaped key=value pairs joined by '&',
// with "expiry=<µs>" last when the session expires. An empty session with no
// expiry encodes to "".
func Encode(s *Session) string {
	var b strings.Builder
	b.Grow(encodedLen(s))
	for i, e := range s.entries {
		if i > 0 {
			b.WriteByte('&')
		}
		appendEscaped(&b, e.key)
		b.WriteByte('=')
		appendEscaped(&b, e.value)
	}
	if s.Expiry != 0 {
		if len(s.entries) > 0 {
			b.WriteByte('&')
		}
		b.WriteString(expiryKey)
		b.WriteByte('=')
		var num [20]byte
		b.Write(strconv.AppendInt(num[:0], s.Expiry, 10))
	}
	return b.String()
}

func encodedLen(s *Session) int {
	n := 0
	for _, e := range s.entries {
		n += len(e.key) + len(e.value) + 2
	}
	if s.Expiry != 0 {
		n += len(expiryKey) + 21
	}
	return n
}

const hexDigits = "0123456789abcdef"

// keep reports whether ap_escape_urlencoded copies c unchanged.
func keep(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '-' || c == '*' || c == '_'
}

// Escape escapes v as ap_escape_urlencoded does: [A-Za-z0-9.*_-] are kept,
// a space becomes '+', every other byte becomes %xx with lowercase hex.
// url.QueryEscape differs (uppercase hex, keeps '~', escapes '*').
func Escape(v string) string {
	var b strings.Builder
	appendEscaped(&b, v)
	return b.String()
}

func appendEscaped(b *strings.Builder, v string) {
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if keep(c) {
			continue
		}
		b.WriteString(v[start:i])
		if c == ' ' {
			b.WriteByte('+')
		} else {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
		start = i + 1
	}
	b.WriteString(v[start:])
}

// Unescape reverses Escape the way ap_unescape_urlencoded does: '+' is a
// space and %XX takes hex digits of either case. It reports false for a '%'
// not followed by two hex digits and for an escape that decodes to NUL.
func Unescape(v string) (string, bool) {
	if strings.IndexByte(v, '%') < 0 && strings.IndexByte(v, '+') < 0 {
		return v, true
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '+':
			out = append(out, ' ')
		case '%':
			if i+2 >= len(v) {
				return "", false
			}
			hi, ok1 := unhex(v[i+1])
			lo, ok2 := unhex(v[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			d := hi<<4 | lo
			if d == 0 {
				return "", false
			}
			out = append(out, d)
			i += 2
		default:
			out = append(out, c)
		}
	}
	return string(out), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Decode merges the urlencoded string into s as session_identity_decode
// does (spec §1.3): pieces split on runs of '&'; leading '=' of a piece
// skipped; an empty value deletes the key; a pair with a malformed escape or
// an escaped NUL is dropped; "expiry" sets s.Expiry (leading digits, garbage
// is 0); later duplicates win. Decoding never marks the session dirty, and
// never fails: what cannot be read is skipped, and Decode returns how many
// pieces it skipped so that the caller can log it.
func Decode(s *Session, encoded string) (skipped int) {
	for encoded != "" {
		var piece string
		piece, encoded, _ = strings.Cut(encoded, "&")
		if piece == "" {
			continue
		}
		if piece = strings.TrimLeft(piece, "="); piece == "" {
			skipped++
			continue
		}
		rawKey, rawValue, _ := strings.Cut(piece, "=")
		if rawValue == "" {
			// httpd unsets the key as written, before unescaping it.
			s.remove(rawKey)
			continue
		}
		key, ok := Unescape(rawKey)
		if !ok {
			skipped++
			continue
		}
		value, ok := Unescape(rawValue)
		if !ok || strings.IndexByte(key, 0) >= 0 || strings.IndexByte(value, 0) >= 0 {
			// httpd's C strings cannot hold NUL: such pairs are dropped
			// whether the NUL came escaped or raw.
			skipped++
			continue
		}
		if key == expiryKey {
			s.Expiry = atoi64(value)
			continue
		}
		s.put(key, value)
	}
	return skipped
}

// atoi64 parses like apr_atoi64: optional leading blanks and sign, then
// leading decimal digits; anything unparsable yields 0, overflow saturates.
func atoi64(v string) int64 {
	v = strings.TrimLeft(v, " \t\n\v\f\r")
	neg := false
	if v != "" && (v[0] == '-' || v[0] == '+') {
		neg = v[0] == '-'
		v = v[1:]
	}
	var n int64
	for i := 0; i < len(v) && '0' <= v[i] && v[i] <= '9'; i++ {
		d := int64(v[i] - '0')
		if n > (1<<63-1-d)/10 {
			if neg {
				return -1 << 63
			}
			return 1<<63 - 1
		}
		n = n*10 + d
	}
	if neg {
		return -n
	}
	return n
}
