package sessioncrypto

import (
	"crypto/cipher"
	"crypto/subtle"
)

// CBC by hand: cipher.NewCBCEncrypter copies the whole AES key schedule
// into a new object on every call (about 500 bytes), and CBC encryption is
// sequential anyway, so a loop over Block costs the same without the
// allocation.

// cbcEncrypt encrypts b in place in CBC mode (len(b) is a multiple of the
// block size).
func cbcEncrypt(block cipher.Block, iv, b []byte) {
	bs := block.BlockSize()
	prev := iv
	for i := 0; i < len(b); i += bs {
		blk := b[i : i+bs]
		subtle.XORBytes(blk, blk, prev)
		block.Encrypt(blk, blk)
		prev = blk
	}
}

// cbcDecrypt decrypts src into dst in CBC mode; they must not overlap.
func cbcDecrypt(block cipher.Block, iv, dst, src []byte) {
	bs := block.BlockSize()
	prev := iv
	for i := 0; i < len(src); i += bs {
		out := dst[i : i+bs]
		block.Decrypt(out, src[i:i+bs])
		subtle.XORBytes(out, out, prev)
		prev = src[i : i+bs]
	}
}
