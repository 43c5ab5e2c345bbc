package sessioncrypto

import (
	"encoding/binary"
	"encoding/hex"
	"testing"
)

func TestSipHash24(t *testing.T) {
	k := make([]byte, 16)
	for i := range k {
		k[i] = byte(i)
	}
	k0 := binary.LittleEndian.Uint64(k[0:8])
	k1 := binary.LittleEndian.Uint64(k[8:16])
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	tests := []struct {
		n    int
		want string // output serialized little-endian
	}{
		{15, "e545be4961ca29a1"}, // the reference vector quoted in the spec (§4.1)
		{0, "310e0edd47db6f72"},  // SipHash paper, appendix A test vectors
		{1, "fd67dc93c539f874"},
		{7, "37d1018bf50002ab"},
		{8, "6224939a79f5f593"},
		{63, "724506eb4c328a95"},
	}
	for _, tt := range tests {
		var out [8]byte
		binary.LittleEndian.PutUint64(out[:], siphash24(k0, k1, msg[:tt.n]))
		if got := hex.EncodeToString(out[:]); got != tt.want {
			t.Errorf("siphash24(00..%02x) = %s, want %s", tt.n-1, got, tt.want)
		}
	}
}
