package sessioncrypto

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/base64"
	"testing"

	"github.com/websession/websession/internal/session"
)

// benchSession is a ~200-byte encoded session: credentials as mod_auth_form
// stores them, a few application keys, and an expiry.
const benchSession = "%2fprivate-user=alice&%2fprivate-pw=correct+horse+battery+staple" +
	"&theme=dark&lang=en-GB&cart=sku-1234%2csku-5678%2csku-9012&csrf=Q2hhbmdlTWVQbGVhc2U" +
	"&last=%2fprivate%2forders%2f42&expiry=1798761600000000"

// roundTrip is what a request with a changed session costs the session
// layer: decode the table, change it, encode it again.
func roundTrip(b *testing.B, encoded string) string {
	s := session.New()
	session.Decode(s, encoded)
	s.Set("last", "/private/orders/43")
	return session.Encode(s)
}

// BenchmarkRoundTripPlain is the baseline: no encryption.
func BenchmarkRoundTripPlain(b *testing.B) {
	b.ReportAllocs()
	wire := benchSession
	for b.Loop() {
		wire = roundTrip(b, wire)
	}
}

// BenchmarkRoundTripCrypto is the same with mod_session_crypto on both
// ends: decrypt, decode, encode, encrypt.
func BenchmarkRoundTripCrypto(b *testing.B) {
	c := mustNew(b, []string{"secret", "other"}, "")
	wire, err := c.Encrypt(benchSession)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchSession)))
	for b.Loop() {
		plain, err := c.Decrypt(wire)
		if err != nil {
			b.Fatal(err)
		}
		if wire, err = c.Encrypt(roundTrip(b, plain)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncrypt(b *testing.B) {
	c := mustNew(b, []string{"secret"}, "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Encrypt(benchSession); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	c := mustNew(b, []string{"secret"}, "")
	wire, _ := c.Encrypt(benchSession)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decrypt(wire); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForged is an attacker's cookie of the same size with a wrong
// MAC, against two passphrases: two SipHashes and no key derivation.
func BenchmarkForged(b *testing.B) {
	c := mustNew(b, []string{"secret", "other"}, "")
	wire, _ := c.Encrypt(benchSession)
	raw, _ := base64.StdEncoding.DecodeString(wire)
	raw[len(raw)-1] ^= 1
	forged := base64.StdEncoding.EncodeToString(raw)
	before := c.derivations.Load()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decrypt(forged); err != ErrDecrypt {
			b.Fatal(err)
		}
	}
	if n := c.derivations.Load() - before; n != 0 {
		b.Fatalf("%d key derivations for forged cookies", n)
	}
}

// BenchmarkPBKDF2 is what httpd pays on every encryption and decryption,
// and what a forged cookie would cost if the key were derived first.
func BenchmarkPBKDF2(b *testing.B) {
	salt := make([]byte, saltLen)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pbkdf2.Key(sha1.New, "secret", salt, iterations, 32); err != nil {
			b.Fatal(err)
		}
	}
}
