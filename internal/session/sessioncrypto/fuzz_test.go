package sessioncrypto

import (
	"encoding/base64"
	"testing"
)

// FuzzDecrypt feeds arbitrary cookie values to Decrypt: it must never
// panic, and must fail with ErrDecrypt unless the value authenticates.
func FuzzDecrypt(f *testing.F) {
	c := mustNew(f, []string{"secret", "other"}, "")
	f.Add(specV1)
	f.Add(specV1 + "!!!junk")
	f.Add("")
	f.Add("=")
	f.Add("AAAA")
	raw, _ := base64.StdEncoding.DecodeString(specV1)
	f.Add(base64.StdEncoding.EncodeToString(raw[:40]))
	f.Add(base64.StdEncoding.EncodeToString(raw[8:]))
	f.Fuzz(func(t *testing.T, wire string) {
		plain, err := c.Decrypt(wire)
		if err != nil && (err != ErrDecrypt || plain != "") {
			t.Fatalf("Decrypt(%q) = %q, %v", wire, plain, err)
		}
	})
}

// FuzzRoundTrip checks Decrypt(Encrypt(x)) == x, for every cipher.
func FuzzRoundTrip(f *testing.F) {
	codecs := []*Codec{
		mustNew(f, []string{"secret", "other"}, "aes256"),
		mustNew(f, []string{"secret"}, "aes128"),
		mustNew(f, []string{"secret"}, "3des192"),
	}
	reader := mustNew(f, []string{"other", "secret"}, "aes256")
	f.Add("")
	f.Add("user=alice&role=admin")
	f.Add("0123456789abcdef")
	f.Add("\x00\xff%&=")
	f.Fuzz(func(t *testing.T, plain string) {
		for _, c := range codecs {
			wire, err := c.Encrypt(plain)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := c.Decrypt(wire); err != nil || got != plain {
				t.Fatalf("%v: Decrypt(Encrypt(%q)) = %q, %v", c, plain, got, err)
			}
		}
		wire, _ := codecs[0].Encrypt(plain)
		if got, err := reader.Decrypt(wire); err != nil || got != plain {
			t.Fatalf("second passphrase: %q, %v", got, err)
		}
	})
}
