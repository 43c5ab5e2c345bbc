package users

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// hashKind is the scheme of a stored hash, as htpasswd writes them.
type hashKind int

const (
	hashUnsupported hashKind = iota // DES crypt, $5$/$6$, plain text, garbage
	hashBcrypt                      // $2y$, $2a$, $2b$ (htpasswd -B)
	hashAPR1                        // $apr1$ (htpasswd -m, its old default)
	hashSHA                         // {SHA} (htpasswd -s)
	hashSHACrypt                    // $5$, $6$ (htpasswd -2, -5; crypt(3) in Apache)
)

func (k hashKind) String() string {
	switch k {
	case hashBcrypt:
		return "bcrypt"
	case hashAPR1:
		return "apr1-md5"
	case hashSHA:
		return "sha1"
	case hashSHACrypt:
		return "sha-crypt"
	}
	return "unsupported"
}

// weak reports schemes we read for migration but never write.
func (k hashKind) weak() bool { return k == hashAPR1 || k == hashSHA }

func kindOf(stored string) hashKind {
	switch {
	case strings.HasPrefix(stored, "$2y$"), strings.HasPrefix(stored, "$2a$"), strings.HasPrefix(stored, "$2b$"):
		return hashBcrypt
	case strings.HasPrefix(stored, "$apr1$"):
		return hashAPR1
	case strings.HasPrefix(stored, "{SHA}"):
		return hashSHA
	case strings.HasPrefix(stored, "$5$"), strings.HasPrefix(stored, "$6$"):
		return hashSHACrypt
	}
	return hashUnsupported
}

// verifyHash compares password with a stored hash. Unsupported schemes and
// malformed hashes never match. The caller has already refused passwords
// over MaxPasswordBytes.
func verifyHash(kind hashKind, stored, password string) bool {
	switch kind {
	case hashBcrypt:
		// x/crypto/bcrypt parses the minor version byte without judging it,
		// so $2y$ (crypt_blowfish's name for the fixed algorithm, identical
		// to $2b$) compares correctly as is.
		return bcrypt.CompareHashAndPassword([]byte(stored), []byte(password)) == nil
	case hashAPR1:
		rest := stored[len("$apr1$"):]
		salt, _, ok := strings.Cut(rest, "$")
		if !ok {
			return false
		}
		return subtle.ConstantTimeCompare([]byte(apr1(password, salt)), []byte(stored)) == 1
	case hashSHA:
		sum := sha1.Sum([]byte(password))
		want := "{SHA}" + base64.StdEncoding.EncodeToString(sum[:])
		return subtle.ConstantTimeCompare([]byte(want), []byte(stored)) == 1
	case hashSHACrypt:
		got := shaCrypt(password, stored)
		return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(stored)) == 1
	}
	return false
}

// newHash makes the bcrypt hash we store, spelled $2y$ as htpasswd -B does.
func newHash(password string, cost int) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", err
	}
	// GenerateFromPassword writes $2a$; the algorithm is the same.
	h[2] = 'y'
	return string(h), nil
}

const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// apr1 is APR's MD5 crypt (apr_md5_encode): FreeBSD's md5crypt with the
// magic "$apr1$". salt is at most 8 characters.
func apr1(password, salt string) string {
	const magic = "$apr1$"
	if len(salt) > 8 {
		salt = salt[:8]
	}
	pw := []byte(password)

	alt := md5.New()
	alt.Write(pw)
	alt.Write([]byte(salt))
	alt.Write(pw)
	altSum := alt.Sum(nil)

	d := md5.New()
	d.Write(pw)
	d.Write([]byte(magic))
	d.Write([]byte(salt))
	for i := len(pw); i > 0; i -= 16 {
		d.Write(altSum[:min(i, 16)])
	}
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			d.Write([]byte{0})
		} else {
			d.Write(pw[:1])
		}
	}
	final := d.Sum(nil)

	for i := range 1000 {
		h := md5.New()
		if i&1 != 0 {
			h.Write(pw)
		} else {
			h.Write(final)
		}
		if i%3 != 0 {
			h.Write([]byte(salt))
		}
		if i%7 != 0 {
			h.Write(pw)
		}
		if i&1 != 0 {
			h.Write(final)
		} else {
			h.Write(pw)
		}
		final = h.Sum(final[:0])
	}

	var b strings.Builder
	b.WriteString(magic)
	b.WriteString(salt)
	b.WriteByte('$')
	to64 := func(v uint32, n int) {
		for ; n > 0; n-- {
			b.WriteByte(itoa64[v&0x3f])
			v >>= 6
		}
	}
	for _, g := range [5][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		to64(uint32(final[g[0]])<<16|uint32(final[g[1]])<<8|uint32(final[g[2]]), 4)
	}
	to64(uint32(final[11]), 2)
	return b.String()
}
