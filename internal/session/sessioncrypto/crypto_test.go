package sessioncrypto

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		pass   []string
		cipher string
		want   []string // substrings of the error
	}{
		{"no passphrase", nil, "", []string{"SessionCryptoPassphrase"}},
		{"empty passphrase", []string{"a", ""}, "", []string{"SessionCryptoPassphrase", "2"}},
		{"unknown cipher", []string{"a"}, "aes-256-cbc", []string{"SessionCryptoCipher", `"aes-256-cbc"`, "3des192, aes128, aes192, aes256"}},
		{"cipher names are case-sensitive as in apr", []string{"a"}, "AES256", []string{"SessionCryptoCipher"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.pass, tt.cipher, Options{})
			if err == nil {
				t.Fatalf("New = %v, want error", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestStringHidesPassphrases(t *testing.T) {
	c := mustNew(t, []string{"topsecret"}, "")
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, "topsecret") {
			t.Errorf("formatted codec %q reveals the passphrase", s)
		}
	}
}

func TestCiphersRoundTrip(t *testing.T) {
	tests := []struct {
		cipher string
		ivLen  int
	}{
		{"", 16}, {"aes128", 16}, {"aes192", 16}, {"aes256", 16}, {"3des192", 8},
	}
	for _, tt := range tests {
		t.Run(tt.cipher, func(t *testing.T) {
			c := mustNew(t, []string{"secret"}, tt.cipher)
			for _, plain := range []string{"a=b", "0123456789abcde", "0123456789abcdef", strings.Repeat("k=v&", 100)} {
				wire, err := c.Encrypt(plain)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := base64.StdEncoding.Strict().DecodeString(wire)
				if err != nil {
					t.Fatalf("not standard padded base64: %v", err)
				}
				ctLen := (len(plain)/tt.ivLen + 1) * tt.ivLen
				if want := macLen + saltLen + tt.ivLen + ctLen; len(raw) != want {
					t.Errorf("%d raw bytes, want %d", len(raw), want)
				}
				if got, err := c.Decrypt(wire); err != nil || got != plain {
					t.Errorf("Decrypt = %q, %v; want %q", got, err, plain)
				}
			}
			// The cipher is not in the cookie: another cipher rejects it.
			otherCipher := "3des192"
			if tt.cipher == "3des192" {
				otherCipher = "aes256"
			}
			other := mustNew(t, []string{"secret"}, otherCipher)
			wire, _ := c.Encrypt("a=b")
			if _, err := other.Decrypt(wire); err != ErrDecrypt {
				t.Errorf("other cipher: err = %v, want ErrDecrypt", err)
			}
		})
	}
}

// validCookie returns a value encrypted with "secret", decoded.
func validCookie(t *testing.T) (*Codec, []byte) {
	t.Helper()
	c := mustNew(t, []string{"secret", "other"}, "")
	wire, err := c.Encrypt("user=alice&role=admin&n=1")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(wire)
	return c, raw
}

// CVE-2016-0736 (spec §8 b): flipping any bit of the MAC, salt, IV or
// ciphertext is rejected, and costs no key derivation.
func TestEveryBitFlipRejected(t *testing.T) {
	c, raw := validCookie(t)
	before := c.derivations.Load()
	for i := range raw {
		for bit := range 8 {
			b := bytes.Clone(raw)
			b[i] ^= 1 << bit
			if got, err := c.Decrypt(base64.StdEncoding.EncodeToString(b)); err != ErrDecrypt || got != "" {
				t.Fatalf("byte %d bit %d flipped: Decrypt = %q, %v", i, bit, got, err)
			}
		}
	}
	if n := c.derivations.Load() - before; n != 0 {
		t.Errorf("%d key derivations for %d forged values, want 0", n, len(raw)*8)
	}
}

func TestTruncationsAndExtensionsRejected(t *testing.T) {
	c, raw := validCookie(t)
	for n := range len(raw) {
		if _, err := c.Decrypt(base64.StdEncoding.EncodeToString(raw[:n])); err != ErrDecrypt {
			t.Fatalf("truncated to %d bytes: err = %v", n, err)
		}
	}
	for _, ext := range [][]byte{{0}, {1}, make([]byte, 8), bytes.Repeat([]byte{16}, 16), raw[24:]} {
		b := append(bytes.Clone(raw), ext...)
		if _, err := c.Decrypt(base64.StdEncoding.EncodeToString(b)); err != ErrDecrypt {
			t.Fatalf("extended by %x: err = %v", ext, err)
		}
	}
	// Prepending is no better.
	if _, err := c.Decrypt(base64.StdEncoding.EncodeToString(append([]byte{0}, raw...))); err != ErrDecrypt {
		t.Fatalf("prefixed: err = %v", err)
	}
	// Wire-level edits that change the decoded bytes fail; the lenient
	// decoder of httpd ignores what follows the alphabet (spec §4.1 [obs]).
	wire := base64.StdEncoding.EncodeToString(raw)
	for n := 0; n < len(wire); n++ {
		_, err := c.Decrypt(wire[:n])
		same := bytes.Equal(decodeLenient(make([]byte, 0, maxDecodedLen(wire)), wire[:n]), raw)
		if same != (err == nil) {
			t.Fatalf("wire truncated to %d chars: err = %v, decodes to the same bytes: %v", n, err, same)
		}
	}
}

// sealRaw MACs salt ‖ iv ‖ ct with passphrase i of c, as a writer who knows
// the passphrase but encrypts garbage would.
func sealRaw(c *Codec, i int, salt, iv, ct []byte) string {
	body := append(append(append([]byte{}, salt...), iv...), ct...)
	mac := make([]byte, macLen)
	binary.LittleEndian.PutUint64(mac, siphash24(c.pass[i].k0, c.pass[i].k1, body))
	return base64.StdEncoding.EncodeToString(append(mac, body...))
}

// Spec §8 (d): a value whose MAC is right but whose padding or layout is
// wrong fails exactly as a value whose MAC is wrong.
func TestAuthenticGarbageGivesTheSameError(t *testing.T) {
	c := mustNew(t, []string{"secret"}, "")
	salt := bytes.Repeat([]byte{7}, saltLen)
	iv := bytes.Repeat([]byte{9}, 16)
	block, err := c.derive(0, salt)
	if err != nil {
		t.Fatal(err)
	}
	encrypt := func(plain []byte) []byte {
		ct := bytes.Clone(plain)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
		return ct
	}
	padded := func(last ...byte) []byte {
		b := bytes.Repeat([]byte{'a'}, 32)
		copy(b[32-len(last):], last)
		return b
	}
	good := sealRaw(c, 0, salt, iv, encrypt(padded(2, 2)))
	forged := "A" + good[1:] // first MAC byte changed
	if forged == good {
		forged = "B" + good[1:]
	}
	_, macErr := c.Decrypt(forged)
	if macErr != ErrDecrypt {
		t.Fatalf("MAC mismatch: err = %v", macErr)
	}
	tests := []struct {
		name string
		wire string
	}{
		{"pad byte 0", sealRaw(c, 0, salt, iv, encrypt(padded(0)))},
		{"pad byte 17", sealRaw(c, 0, salt, iv, encrypt(padded(17)))},
		{"pad bytes differ", sealRaw(c, 0, salt, iv, encrypt(padded(3, 2, 3)))},
		{"pad 16 over a non-pad block", sealRaw(c, 0, salt, iv, encrypt(padded(1, 16)))},
		{"no ciphertext", sealRaw(c, 0, salt, iv, nil)},
		{"ciphertext not whole blocks", sealRaw(c, 0, salt, iv, encrypt(padded(1))[:31])},
		{"short IV", sealRaw(c, 0, salt, iv[:8], nil)},
		{"pre-2.4.25 format without MAC", base64.StdEncoding.EncodeToString(append(append(bytes.Clone(salt), iv...), encrypt(padded(1))...))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decrypt(tt.wire)
			if err != macErr || got != "" {
				t.Fatalf("Decrypt = %q, %v; want the MAC-mismatch error %v", got, err, macErr)
			}
		})
	}
	// And the control: correct padding decrypts.
	if got, err := c.Decrypt(good); err != nil || got != strings.Repeat("a", 30) {
		t.Fatalf("control: Decrypt = %q, %v", got, err)
	}
}

// Spec §8 (c): the old format, base64(salt ‖ iv ‖ ct) encrypted with the
// right key, is rejected even when it happens to be long enough to parse.
func TestPre2425FormatRejected(t *testing.T) {
	c := mustNew(t, []string{"secret"}, "")
	wire, _ := c.Encrypt("user=alice&role=admin")
	raw, _ := base64.StdEncoding.DecodeString(wire)
	old := base64.StdEncoding.EncodeToString(raw[macLen:])
	if _, err := c.Decrypt(old); err != ErrDecrypt {
		t.Fatalf("old format: err = %v", err)
	}
}

func TestLenientBase64(t *testing.T) {
	c := mustNew(t, []string{"secret"}, "")
	tests := []struct {
		name string
		wire string
		ok   bool
	}{
		{"as is", specV1, true},
		{"trailing junk [obs]", specV1 + "!!!junk", true},
		{"trailing padding", specV1 + "==", true},
		{"trailing space", specV1 + " ", true},
		{"padding removed", strings.TrimRight(mustEncrypt(t, c, "k=v"), "="), true},
		{"junk inside", specV1[:40] + "!" + specV1[40:], false},
		{"URL-safe alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(specV1), false},
		{"empty", "", false},
		{"not base64", "user=alice", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Decrypt(tt.wire)
			if (err == nil) != tt.ok {
				t.Fatalf("Decrypt err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestDecodeLenientMatchesAPR(t *testing.T) {
	src := []byte("any carnal pleasure, any carnal pleasure.")
	full := base64.RawStdEncoding.EncodeToString(src)
	for n := 0; n <= len(full); n++ {
		// apr decodes n characters to n*6/8 bytes, dropping spare bits.
		want := src[:n*6/8]
		for _, tail := range []string{"", "=", "=junk", "\n", "%"} {
			got := decodeLenient(make([]byte, 0, maxDecodedLen(full[:n]+tail)), full[:n]+tail)
			if !bytes.Equal(got, want) {
				t.Fatalf("decodeLenient(%q) = %q, want %q", full[:n]+tail, got, want)
			}
		}
	}
}

func mustEncrypt(t *testing.T, c *Codec, plain string) string {
	t.Helper()
	wire, err := c.Encrypt(plain)
	if err != nil {
		t.Fatal(err)
	}
	return wire
}

// Spec §4.4 and scenario 12: the first passphrase encrypts, all decrypt.
func TestKeyRotation(t *testing.T) {
	both := mustNew(t, []string{"secret", "other"}, "")
	onlySecret := mustNew(t, []string{"secret"}, "")
	onlyOther := mustNew(t, []string{"other"}, "")
	reversed := mustNew(t, []string{"other", "secret"}, "")

	wire := mustEncrypt(t, both, "a=1")
	for name, c := range map[string]*Codec{"secret": onlySecret, "other secret": reversed, "secret other": both} {
		if got, err := c.Decrypt(wire); err != nil || got != "a=1" {
			t.Errorf("made with secret, read by [%s]: %q, %v", name, got, err)
		}
	}
	if _, err := onlyOther.Decrypt(wire); err != ErrDecrypt {
		t.Errorf("made with secret, read by [other]: err = %v", err)
	}

	// A cookie from before the rotation (made with "other") is read, and
	// saving it again uses "secret" only.
	old := mustEncrypt(t, onlyOther, "a=1")
	plain, err := both.Decrypt(old)
	if err != nil || plain != "a=1" {
		t.Fatalf("old cookie: %q, %v", plain, err)
	}
	renewed := mustEncrypt(t, both, plain+"&n=1")
	if got, err := onlySecret.Decrypt(renewed); err != nil || got != "a=1&n=1" {
		t.Errorf("renewed cookie with [secret]: %q, %v", got, err)
	}
	if _, err := onlyOther.Decrypt(renewed); err != ErrDecrypt {
		t.Errorf("renewed cookie with [other]: err = %v, want ErrDecrypt", err)
	}
}

// fakeClock is an injectable clock for SaltLifetime.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func saltIV(t *testing.T, wire string) (salt, iv string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(wire)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw[macLen : macLen+saltLen]), string(raw[macLen+saltLen : macLen+saltLen+16])
}

func TestSaltReuseWindow(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c, err := New([]string{"secret"}, "", Options{SaltLifetime: time.Minute, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	w1 := mustEncrypt(t, c, "a=1")
	clock.Add(59 * time.Second)
	w2 := mustEncrypt(t, c, "a=1")
	s1, iv1 := saltIV(t, w1)
	s2, iv2 := saltIV(t, w2)
	if s1 != s2 {
		t.Error("salt changed within SaltLifetime")
	}
	if iv1 == iv2 || w1 == w2 {
		t.Error("IV reused: every encryption needs a fresh IV")
	}
	if n := c.derivations.Load(); n != 1 {
		t.Errorf("%d derivations for two encryptions in one window, want 1", n)
	}
	for _, w := range []string{w1, w2} {
		if got, err := c.Decrypt(w); err != nil || got != "a=1" {
			t.Fatalf("Decrypt = %q, %v", got, err)
		}
	}
	if n := c.derivations.Load(); n != 1 {
		t.Errorf("decrypting our own cookies derived keys: %d derivations, want 1", n)
	}

	clock.Add(time.Second) // the window ends
	w3 := mustEncrypt(t, c, "a=1")
	if s3, _ := saltIV(t, w3); s3 == s1 {
		t.Error("salt not renewed after SaltLifetime")
	}
	if n := c.derivations.Load(); n != 2 {
		t.Errorf("%d derivations after renewal, want 2", n)
	}
	// Cookies under the retired salt still decrypt, from the cache.
	if got, err := c.Decrypt(w1); err != nil || got != "a=1" {
		t.Fatalf("old-salt cookie: %q, %v", got, err)
	}
	if n := c.derivations.Load(); n != 2 {
		t.Errorf("old-salt cookie derived its key again: %d derivations, want 2", n)
	}

	clock.Add(-time.Hour) // a clock stepping back does not extend the window
	w4 := mustEncrypt(t, c, "a=1")
	if s4, _ := saltIV(t, w4); s4 == s1 {
		t.Error("salt kept after the clock went back")
	}
}

func TestNegativeSaltLifetimeIsApacheBehaviour(t *testing.T) {
	c, err := New([]string{"secret"}, "", Options{SaltLifetime: -1})
	if err != nil {
		t.Fatal(err)
	}
	w1, w2 := mustEncrypt(t, c, "a=1"), mustEncrypt(t, c, "a=1")
	s1, _ := saltIV(t, w1)
	if s2, _ := saltIV(t, w2); s1 == s2 {
		t.Error("salt reused with a negative SaltLifetime")
	}
	if n := c.derivations.Load(); n != 2 {
		t.Errorf("%d derivations, want 2", n)
	}
}

func TestCacheStaysBounded(t *testing.T) {
	writer, err := New([]string{"secret"}, "", Options{SaltLifetime: -1})
	if err != nil {
		t.Fatal(err)
	}
	const cookies = 80
	wires := make([]string, cookies)
	for i := range wires {
		wires[i] = mustEncrypt(t, writer, fmt.Sprintf("n=%d", i))
	}
	reader, err := New([]string{"secret"}, "", Options{CacheSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	if capacity := reader.cache.capacity(); capacity < 20 || capacity >= 20+cacheShards {
		t.Fatalf("capacity %d for CacheSize 20", capacity)
	}
	for round := range 2 {
		for i, w := range wires {
			if got, err := reader.Decrypt(w); err != nil || got != fmt.Sprintf("n=%d", i) {
				t.Fatalf("round %d cookie %d: %q, %v", round, i, got, err)
			}
			if n := reader.cache.len(); n > reader.cache.capacity() {
				t.Fatalf("cache holds %d keys, capacity %d", n, reader.cache.capacity())
			}
		}
	}
	// A cached salt is not derived again.
	before := reader.derivations.Load()
	reader.Decrypt(wires[len(wires)-1])
	if n := reader.derivations.Load() - before; n != 0 {
		t.Errorf("the most recent salt was derived again (%d)", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := mustNew(t, []string{"secret", "other"}, "")
	other := mustNew(t, []string{"other"}, "")
	old := mustEncrypt(t, other, "old=1")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				plain := fmt.Sprintf("g=%d&i=%d", g, i)
				w, err := c.Encrypt(plain)
				if err == nil {
					var got string
					got, err = c.Decrypt(w)
					if err == nil && got != plain {
						err = fmt.Errorf("got %q, want %q", got, plain)
					}
				}
				if err == nil {
					_, err = c.Decrypt(old)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := c.derivations.Load(); n > 2+8 {
		t.Errorf("%d derivations for one sealing salt and one old salt", n)
	}
}

func TestErrDecryptIsStable(t *testing.T) {
	c := mustNew(t, []string{"secret"}, "")
	_, err := c.Decrypt("garbage")
	if !errors.Is(err, ErrDecrypt) {
		t.Fatalf("err = %v", err)
	}
}
