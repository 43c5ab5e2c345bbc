package sessioncrypto

import (
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// vectorsFile holds cookies captured from a real Apache httpd 2.4.71 (spec
// §4.6); go test runs in the package folder, so the path is relative to it.
const vectorsFile = "testdata/apache-session-cookies.json"

type vector struct {
	Name            string  `json:"name"`
	Kind            string  `json:"kind"`
	Passphrase      *string `json:"passphrase"`
	CookieValue     string  `json:"cookie_value"`
	ExpectedSession string  `json:"expected_session"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Vectors []vector }
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	return f.Vectors
}

func TestApacheVectors(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t) {
		if v.Kind != "crypto" {
			continue
		}
		n++
		t.Run(v.Name, func(t *testing.T) {
			c := mustNew(t, []string{*v.Passphrase}, "")
			got, err := c.Decrypt(v.CookieValue)
			if err != nil || got != v.ExpectedSession {
				t.Fatalf("Decrypt = %q, %v; want %q", got, err, v.ExpectedSession)
			}
			// Also as the second of two passphrases.
			c = mustNew(t, []string{"not-it", *v.Passphrase}, "")
			if got, err := c.Decrypt(v.CookieValue); err != nil || got != v.ExpectedSession {
				t.Fatalf("second passphrase: Decrypt = %q, %v", got, err)
			}
		})
	}
	if n == 0 {
		t.Fatal("no crypto vectors in " + vectorsFile)
	}
}

// The vectors of spec §4.6, intermediate values included, reproduced byte
// for byte by sealing with the given salt and IV.
func TestSpecVectors(t *testing.T) {
	var salt [saltLen]byte
	iv := make([]byte, 16)
	for i := range salt {
		salt[i] = byte(i)
		iv[i] = byte(0x10 + i)
	}
	tests := []struct {
		name, pass, plain       string
		md5, key, mac, ct, wire string
	}{
		{
			name: "V1", pass: "secret", plain: "user=alice&role=admin",
			md5:  "5ebe2294ecd0e0f08eab7690d2a6ee69",
			key:  "e3c9da8fdb3019f8ac85a6fcd52c0ec9de241ab7b27b27a5f37440b300745635",
			mac:  "6368afa928b48185",
			ct:   "ba6babbfee50aece87171fe31d8f4f73fb8a343fa0af3d0107bc64fb52f642b2",
			wire: "Y2ivqSi0gYUAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH7prq7/uUK7Ohxcf4x2PT3P7ijQ/oK89AQe8ZPtS9kKy",
		},
		{
			name: "V2", pass: "other", plain: "k=v",
			md5:  "795f3202b17cb6bc3d4b771d8c6c9eaf",
			key:  "86fc50cfeec5f443e562d49da836e2a51f0791c223df03a1a05d68e43d7f44a6",
			mac:  "c0d8fd1ce45b5582",
			ct:   "ba0a3e6d97718f7c184cc608c0bdc097",
			wire: "wNj9HORbVYIAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH7oKPm2XcY98GEzGCMC9wJc=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := md5.Sum([]byte(tt.pass))
			if got := hex.EncodeToString(sum[:]); got != tt.md5 {
				t.Errorf("MD5 = %s, want %s", got, tt.md5)
			}
			key, err := pbkdf2.Key(sha1.New, tt.pass, salt[:], iterations, 32)
			if err != nil || hex.EncodeToString(key) != tt.key {
				t.Errorf("PBKDF2 = %x, %v; want %s", key, err, tt.key)
			}

			c := mustNew(t, []string{tt.pass}, "aes256")
			block, err := c.derive(0, salt[:])
			if err != nil {
				t.Fatal(err)
			}
			wire, err := c.sealWith(&c.pass[0], &salt, iv, block, tt.plain)
			if err != nil {
				t.Fatal(err)
			}
			if wire != tt.wire {
				t.Errorf("sealed = %s\nwant     %s", wire, tt.wire)
			}
			raw, _ := base64.StdEncoding.DecodeString(wire)
			if got := hex.EncodeToString(raw[:macLen]); got != tt.mac {
				t.Errorf("MAC = %s, want %s", got, tt.mac)
			}
			if got := hex.EncodeToString(raw[macLen+saltLen+16:]); got != tt.ct {
				t.Errorf("ciphertext = %s, want %s", got, tt.ct)
			}

			// httpd was configured "secret other": V1 uses the first
			// passphrase, V2 the second.
			both := mustNew(t, []string{"secret", "other"}, "")
			if got, err := both.Decrypt(tt.wire); err != nil || got != tt.plain {
				t.Errorf("Decrypt = %q, %v; want %q", got, err, tt.plain)
			}
		})
	}
}

// Spec §4.6 negative vector: V1 with the last decoded byte XOR 1.
func TestSpecNegativeVector(t *testing.T) {
	raw, _ := base64.StdEncoding.DecodeString(specV1)
	raw[len(raw)-1] ^= 1
	c := mustNew(t, []string{"secret", "other"}, "")
	if got, err := c.Decrypt(base64.StdEncoding.EncodeToString(raw)); err != ErrDecrypt || got != "" {
		t.Fatalf("Decrypt = %q, %v; want ErrDecrypt", got, err)
	}
	if n := c.derivations.Load(); n != 0 {
		t.Errorf("%d key derivations for a forged value, want 0", n)
	}
}

const specV1 = "Y2ivqSi0gYUAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH7prq7/uUK7Ohxcf4x2PT3P7ijQ/oK89AQe8ZPtS9kKy"

func mustNew(tb testing.TB, pass []string, cipher string) *Codec {
	tb.Helper()
	c, err := New(pass, cipher, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
