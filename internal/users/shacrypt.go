package users

import (
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strconv"
	"strings"
)

// shaCrypt is Ulrich Drepper's SHA-crypt, "$5$" (SHA-256) and "$6$"
// (SHA-512), which Apache's htpasswd writes with -2 and -5 and which
// mod_authn_file verifies through crypt(3). It returns "" for a malformed
// setting.
func shaCrypt(password, setting string) string {
	var newHash func() hash.Hash
	var perm [][3]int
	var tail []int
	switch {
	case strings.HasPrefix(setting, "$5$"):
		newHash = sha256.New
		perm = [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
			{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}}
		tail = []int{0, 31, 30, 3} // bytes (hi, mid, lo) and character count
	case strings.HasPrefix(setting, "$6$"):
		newHash = sha512.New
		perm = [][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
			{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10},
			{53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16},
			{59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}}
		tail = []int{0, 0, 63, 2}
	default:
		return ""
	}
	magic, rest := setting[:3], setting[3:]

	rounds, explicit := 5000, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		n, err := strconv.ParseUint(num, 10, 64)
		if !found || err != nil {
			return ""
		}
		rounds, explicit, rest = int(min(max(n, 1000), 999999999)), true, after
	}
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > 16 {
		salt = salt[:16]
	}
	pw, s := []byte(password), []byte(salt)

	b := newHash()
	b.Write(pw)
	b.Write(s)
	b.Write(pw)
	bSum := b.Sum(nil)
	size := len(bSum)

	a := newHash()
	a.Write(pw)
	a.Write(s)
	n := len(pw)
	for ; n > size; n -= size {
		a.Write(bSum)
	}
	a.Write(bSum[:n])
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(bSum)
		} else {
			a.Write(pw)
		}
	}
	aSum := a.Sum(nil)

	dp := newHash()
	for range len(pw) {
		dp.Write(pw)
	}
	pSeq := repeatTo(dp.Sum(nil), len(pw))

	ds := newHash()
	for range 16 + int(aSum[0]) {
		ds.Write(s)
	}
	sSeq := repeatTo(ds.Sum(nil), len(s))

	c := newHash()
	for i := range rounds {
		c.Reset()
		if i&1 != 0 {
			c.Write(pSeq)
		} else {
			c.Write(aSum)
		}
		if i%3 != 0 {
			c.Write(sSeq)
		}
		if i%7 != 0 {
			c.Write(pSeq)
		}
		if i&1 != 0 {
			c.Write(aSum)
		} else {
			c.Write(pSeq)
		}
		aSum = c.Sum(aSum[:0])
	}

	var out strings.Builder
	out.WriteString(magic)
	if explicit {
		out.WriteString("rounds=" + strconv.Itoa(rounds) + "$")
	}
	out.WriteString(salt)
	out.WriteByte('$')
	to64 := func(hi, mid, lo byte, n int) {
		w := uint32(hi)<<16 | uint32(mid)<<8 | uint32(lo)
		for ; n > 0; n-- {
			out.WriteByte(itoa64[w&0x3f])
			w >>= 6
		}
	}
	for _, g := range perm {
		to64(aSum[g[0]], aSum[g[1]], aSum[g[2]], 4)
	}
	if magic == "$5$" {
		to64(0, aSum[tail[1]], aSum[tail[2]], tail[3])
	} else {
		to64(0, 0, aSum[tail[2]], tail[3])
	}
	return out.String()
}

// repeatTo is sum repeated to n bytes.
func repeatTo(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, sum[:min(len(sum), n-len(out))]...)
	}
	return out
}
