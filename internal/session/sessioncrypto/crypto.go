package sessioncrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrDecrypt is the one error Decrypt returns, whatever failed (bad base64,
// too short, MAC mismatch for every passphrase, bad length, bad padding), so
// that no caller can turn the reason into an oracle. The session is then
// treated as absent, as httpd does.
var ErrDecrypt = errors.New("session crypto: value does not decrypt with any passphrase")

// Layout constants of spec §4.1.
const (
	macLen     = 8
	saltLen    = 16
	iterations = 4096
)

// Defaults for Options.
const (
	DefaultCipher       = "aes256"
	DefaultSaltLifetime = time.Hour
	DefaultCacheSize    = 1024
)

// cipherSpec describes one SessionCryptoCipher value: the key length PBKDF2
// derives and the block cipher, used in CBC mode with an IV of one block.
type cipherSpec struct {
	name      string
	keyLen    int
	blockSize int
	newBlock  func(key []byte) (cipher.Block, error)
}

// ciphers are the names apr_crypto's drivers register, nothing more.
var ciphers = map[string]cipherSpec{
	"aes128":  {"aes128", 16, aes.BlockSize, aes.NewCipher},
	"aes192":  {"aes192", 24, aes.BlockSize, aes.NewCipher},
	"aes256":  {"aes256", 32, aes.BlockSize, aes.NewCipher},
	"3des192": {"3des192", 24, des.BlockSize, des.NewTripleDESCipher},
}

const cipherNames = "3des192, aes128, aes192, aes256"

// Options tunes a Codec. The zero value gives the defaults.
type Options struct {
	// SaltLifetime is how long Encrypt keeps using one random salt, and so
	// one derived key, before drawing a new one. Every encryption still
	// gets a fresh random IV. 0 means DefaultSaltLifetime; a negative value
	// draws a new salt (and runs PBKDF2) for every encryption, as httpd.
	SaltLifetime time.Duration
	// Now is the clock for SaltLifetime; nil means time.Now.
	Now func() time.Time
	// CacheSize bounds the number of derived keys kept for decryption
	// (keyed by passphrase and salt). 0 means DefaultCacheSize. The bound
	// is rounded up to a multiple of the number of cache shards.
	CacheSize int
}

// passphrase is one SessionCryptoPassphrase with its MAC key, MD5 of the
// passphrase split into SipHash's two little-endian words.
type passphrase struct {
	secret string
	k0, k1 uint64
}

// sealKey is the salt Encrypt currently uses and the cipher keyed by
// PBKDF2(first passphrase, salt).
type sealKey struct {
	salt             [saltLen]byte
	block            cipher.Block
	created, expires time.Time
}

// Codec encrypts and decrypts sessions in mod_session_crypto's format. It
// implements session.Cipher and is safe for concurrent use.
type Codec struct {
	spec         cipherSpec
	pass         []passphrase
	saltLifetime time.Duration
	now          func() time.Time
	cache        *keyCache

	renew sync.Mutex // serialises drawing a new sealing salt
	seal  atomic.Pointer[sealKey]

	// derivations counts PBKDF2 runs, for tests.
	derivations atomic.Int64
}

// New returns a Codec for the passphrases of SessionCryptoPassphrase (the
// first encrypts, all decrypt, in order) and the SessionCryptoCipher name
// (one of 3des192, aes128, aes192, aes256; "" means aes256).
func New(passphrases []string, cipherName string, opts Options) (*Codec, error) {
	if cipherName == "" {
		cipherName = DefaultCipher
	}
	spec, ok := ciphers[cipherName]
	if !ok {
		return nil, fmt.Errorf("SessionCryptoCipher: unknown cipher %q (accepted: %s)", cipherName, cipherNames)
	}
	if len(passphrases) == 0 {
		return nil, errors.New("SessionCryptoPassphrase: at least one passphrase is required")
	}
	c := &Codec{
		spec:         spec,
		saltLifetime: opts.SaltLifetime,
		now:          opts.Now,
		cache:        newKeyCache(opts.CacheSize),
	}
	if c.saltLifetime == 0 {
		c.saltLifetime = DefaultSaltLifetime
	}
	if c.now == nil {
		c.now = time.Now
	}
	for i, p := range passphrases {
		if p == "" {
			return nil, fmt.Errorf("SessionCryptoPassphrase: passphrase %d is empty", i+1)
		}
		sum := md5.Sum([]byte(p))
		c.pass = append(c.pass, passphrase{
			secret: p,
			k0:     binary.LittleEndian.Uint64(sum[0:8]),
			k1:     binary.LittleEndian.Uint64(sum[8:16]),
		})
	}
	return c, nil
}

// String describes the codec without revealing its passphrases.
func (c *Codec) String() string {
	return fmt.Sprintf("crypto.Codec(%s, %d passphrases)", c.spec.name, len(c.pass))
}

// GoString is String, so %#v does not print the passphrases either.
func (c *Codec) GoString() string { return c.String() }

// Encrypt encrypts plain with the first passphrase and returns the cookie
// value httpd's mod_session_crypto would accept.
func (c *Codec) Encrypt(plain string) (string, error) {
	k, err := c.sealingKey()
	if err != nil {
		return "", err
	}
	return c.sealWith(&c.pass[0], &k.salt, nil, k.block, plain)
}

// sealingKey returns the key for the current salt, drawing a new salt and
// deriving its key when the old one has lived SaltLifetime.
func (c *Codec) sealingKey() (*sealKey, error) {
	now := c.now()
	valid := func(k *sealKey) bool {
		return k != nil && !now.Before(k.created) && now.Before(k.expires)
	}
	if k := c.seal.Load(); valid(k) {
		return k, nil
	}
	c.renew.Lock()
	defer c.renew.Unlock()
	if k := c.seal.Load(); valid(k) {
		return k, nil
	}
	k := &sealKey{created: now, expires: now.Add(c.saltLifetime)}
	if _, err := rand.Read(k.salt[:]); err != nil {
		return nil, fmt.Errorf("session crypto: random salt: %w", err)
	}
	block, err := c.derive(0, k.salt[:])
	if err != nil {
		return nil, err
	}
	k.block = block
	// Cookies sealed under this salt stay readable from the cache after
	// the salt is retired.
	c.cache.put(cacheKey{0, k.salt}, block)
	c.seal.Store(k)
	return k, nil
}

// sealWith builds base64(MAC ‖ SALT ‖ IV ‖ CBC-PKCS7(plain)) for the given
// passphrase, salt and derived cipher (spec §4.2). The IV is fresh from
// crypto/rand unless iv is given, which lets tests reproduce httpd's bytes.
func (c *Codec) sealWith(p *passphrase, salt *[saltLen]byte, iv []byte, block cipher.Block, plain string) (string, error) {
	bs := block.BlockSize()
	ctLen := (len(plain)/bs + 1) * bs
	rawLen := macLen + saltLen + bs + ctLen
	encLen := base64.StdEncoding.EncodedLen(rawLen)
	buf := getBuf(rawLen + encLen)
	defer putBuf(buf)

	raw := (*buf)[:rawLen]
	copy(raw[macLen:], salt[:])
	ivSlot := raw[macLen+saltLen : macLen+saltLen+bs]
	if iv != nil {
		copy(ivSlot, iv)
	} else if _, err := rand.Read(ivSlot); err != nil {
		return "", fmt.Errorf("session crypto: random IV: %w", err)
	}
	ct := raw[macLen+saltLen+bs:]
	n := copy(ct, plain)
	pad := byte(ctLen - n)
	for i := n; i < ctLen; i++ {
		ct[i] = pad
	}
	cbcEncrypt(block, ivSlot, ct)
	binary.LittleEndian.PutUint64(raw, siphash24(p.k0, p.k1, raw[macLen:]))

	enc := (*buf)[rawLen : rawLen+encLen]
	base64.StdEncoding.Encode(enc, raw)
	return string(enc), nil
}

// Decrypt returns the plaintext of a value made by Encrypt or by httpd
// 2.4.25 or later with any of the passphrases, or ErrDecrypt. For each
// passphrase in order, the MAC is compared (in constant time) before
// anything else is done; only a value whose MAC verifies costs a key
// derivation, and only when its salt is not cached.
func (c *Codec) Decrypt(wire string) (string, error) {
	buf := getBuf(2 * maxDecodedLen(wire))
	defer putBuf(buf)
	data := decodeLenient((*buf)[:0:maxDecodedLen(wire)], wire)
	if len(data) < macLen+saltLen {
		return "", ErrDecrypt
	}
	mac, body := data[:macLen], data[macLen:]
	salt := body[:saltLen]
	bs := c.spec.blockSize

	for i := range c.pass {
		p := &c.pass[i]
		var sum [macLen]byte
		binary.LittleEndian.PutUint64(sum[:], siphash24(p.k0, p.k1, body))
		if subtle.ConstantTimeCompare(sum[:], mac) != 1 {
			continue
		}
		// Authentic, so the rest is what this passphrase's holder wrote;
		// a malformed layout can only come from a buggy writer, and httpd
		// then tries the next passphrase, as we do.
		if len(body) < saltLen+2*bs || (len(body)-saltLen-bs)%bs != 0 {
			continue
		}
		block, err := c.openingKey(i, salt)
		if err != nil {
			continue
		}
		iv := body[saltLen : saltLen+bs]
		ct := body[saltLen+bs:]
		// Decrypt into the second half of buf: data must stay intact
		// for the next passphrase's MAC.
		out := (*buf)[len(data) : len(data)+len(ct)]
		cbcDecrypt(block, iv, out, ct)
		if plain, ok := unpad(out, bs); ok {
			return string(plain), nil
		}
	}
	return "", ErrDecrypt
}

// unpad strips PKCS#7 padding, checking every padding byte.
func unpad(b []byte, bs int) ([]byte, bool) {
	if len(b) == 0 || len(b)%bs != 0 {
		return nil, false
	}
	n := int(b[len(b)-1])
	if n == 0 || n > bs {
		return nil, false
	}
	for _, v := range b[len(b)-n:] {
		if int(v) != n {
			return nil, false
		}
	}
	return b[:len(b)-n], true
}

// openingKey returns the cipher for passphrase i and salt: the sealing key
// when the salt is the current one, else from the cache, else derived and
// cached.
func (c *Codec) openingKey(i int, salt []byte) (cipher.Block, error) {
	if i == 0 {
		if k := c.seal.Load(); k != nil && bytes.Equal(k.salt[:], salt) {
			return k.block, nil
		}
	}
	key := cacheKey{i, [saltLen]byte(salt)}
	if block, ok := c.cache.get(key); ok {
		return block, nil
	}
	block, err := c.derive(i, salt)
	if err != nil {
		return nil, err
	}
	c.cache.put(key, block)
	return block, nil
}

// derive runs PBKDF2-HMAC-SHA1(passphrase i, salt, 4096) as apr_crypto's
// passphrase function does and keys the block cipher with the result.
func (c *Codec) derive(i int, salt []byte) (cipher.Block, error) {
	c.derivations.Add(1)
	key, err := pbkdf2.Key(sha1.New, c.pass[i].secret, salt, iterations, c.spec.keyLen)
	if err != nil {
		return nil, fmt.Errorf("session crypto: PBKDF2: %w", err)
	}
	return c.spec.newBlock(key)
}

// bufPool holds scratch buffers for one Encrypt or Decrypt; only the
// returned string is allocated per call.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooled keeps a single huge value from pinning memory in the pool.
const maxPooled = 64 << 10

func getBuf(n int) *[]byte {
	b := bufPool.Get().(*[]byte)
	if cap(*b) < n {
		*b = make([]byte, n)
	}
	*b = (*b)[:n]
	return b
}

func putBuf(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	clear(*b) // plaintext must not linger
	bufPool.Put(b)
}
