package dbd

import (
	"crypto/rand"
	"encoding/hex"
)

// newID returns a random session id: 16 bytes from crypto/rand formatted
// as a lowercase version 4 UUID (httpd uses apr_uuid_get, which may be
// time-based and predictable).
func newID() string {
	var u [16]byte
	rand.Read(u[:]) // never fails (crypto/rand panics rather than return short)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:])
	return string(out[:])
}

// isUUID reports whether s parses with apr_uuid_parse: 36 characters, '-'
// at offsets 8, 13, 18 and 23, hex digits of either case elsewhere.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
