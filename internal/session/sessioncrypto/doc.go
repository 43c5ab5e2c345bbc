// Package crypto implements Apache httpd's mod_session_crypto: the
// SessionCryptoPassphrase and SessionCryptoCipher directives, which encrypt
// the urlencoded session before a store (cookie or database) keeps it.
//
// A Codec produces and accepts exactly the bytes of httpd 2.4.25 and later
// (spec §4): base64(MAC ‖ SALT ‖ IV ‖ CIPHERTEXT) with a PBKDF2-HMAC-SHA1
// (4096 rounds) key per salt, CBC with PKCS#7 padding, and a SipHash-2-4 MAC
// keyed by MD5(passphrase). Cookies from httpd decrypt here and cookies from
// here decrypt in httpd, with any cipher httpd's drivers offer (aes128,
// aes192, aes256, 3des192). The first passphrase encrypts; all are tried, in
// order, to decrypt, so passphrases rotate as the manual describes.
//
// Deliberate departures from httpd:
//   - httpd runs PBKDF2 (about 1.7 ms) on every encryption and decryption.
//     A Codec keeps derived keys in a bounded cache keyed by passphrase and
//     salt, and reuses one random salt (with a fresh random IV every time)
//     for Options.SaltLifetime when encrypting, so the key is derived once
//     per period. The wire format is unchanged; httpd cannot tell.
//   - PBKDF2 runs only after the MAC has verified, so a forged cookie costs
//     a SipHash, not a key derivation.
//   - An unknown cipher or a missing passphrase is an error from New (httpd
//     accepts the configuration and then fails every request).
//   - SessionCryptoDriver has no counterpart: there is one implementation.
//   - Every failure to decrypt returns the same error, ErrDecrypt, whatever
//     went wrong, so callers cannot leak the reason.
package sessioncrypto
