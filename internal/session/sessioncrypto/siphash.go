package sessioncrypto

import (
	"encoding/binary"
	"math/bits"
)

// siphash24 returns SipHash-2-4 of msg under the 128-bit key (k0, k1), the
// function apr_siphash24_auth computes for mod_session_crypto's MAC
// (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012).
func siphash24(k0, k1 uint64, msg []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573

	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13) ^ v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16) ^ v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21) ^ v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17) ^ v2
		v2 = bits.RotateLeft64(v2, 32)
	}

	n := len(msg)
	for len(msg) >= 8 {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		round()
		round()
		v0 ^= m
		msg = msg[8:]
	}
	// The last word holds the remaining bytes and the length mod 256 in
	// its top byte.
	var last [8]byte
	copy(last[:], msg)
	m := binary.LittleEndian.Uint64(last[:]) | uint64(n)<<56
	v3 ^= m
	round()
	round()
	v0 ^= m

	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
