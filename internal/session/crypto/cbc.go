package crypto

import "crypto/cipher"

// cbcEncrypt encrypts b in place in CBC mode (len(b) is a multiple of the
// block size).
func cbcEncrypt(block cipher.Block, iv, b []byte) {
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(b, b)
}

// cbcDecrypt decrypts src into dst in CBC mode.
func cbcDecrypt(block cipher.Block, iv, dst, src []byte) {
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(dst, src)
}
