package sessioncrypto

// b64 maps a byte of the standard base64 alphabet to its 6-bit value and
// every other byte to 0xff.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// maxDecodedLen is the most bytes decodeLenient can write for s.
func maxDecodedLen(s string) int { return len(s)/4*3 + 2 }

// decodeLenient decodes s into dst[:0] as apr_base64_decode does: the
// longest prefix of alphabet characters is decoded and everything from the
// first other character on ('=' included) is ignored, so missing padding is
// fine; a final group of 2 or 3 characters gives 1 or 2 bytes (unused low
// bits ignored) and a lone final character gives nothing. It never fails.
// dst must have capacity maxDecodedLen(s).
func decodeLenient(dst []byte, s string) []byte {
	dst = dst[:0]
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a, b, c, d := b64[s[i]], b64[s[i+1]], b64[s[i+2]], b64[s[i+3]]
		if (a|b|c|d)&0xc0 != 0 {
			break
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst = append(dst, byte(v>>16), byte(v>>8), byte(v))
	}
	// Tail: at most one partial group, or the group holding the first
	// character outside the alphabet.
	var acc uint32
	bits := 0
	for ; i < len(s); i++ {
		v := b64[s[i]]
		if v == 0xff {
			break
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			dst = append(dst, byte(acc>>bits))
		}
	}
	return dst
}
