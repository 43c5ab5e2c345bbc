package dbd

import (
	"fmt"
	"strconv"
	"strings"
)

// ConvertPlaceholders turns a statement written for mod_dbd (DBDPrepareSQL,
// apr_dbd placeholders such as %s, %d, %lld, %f, %pDt; %% is a literal
// percent sign) into PostgreSQL's $1..$n, numbering the placeholders in
// order, as apr_dbd_pgsql does. It returns the converted text and the number
// of parameters. A statement already written with $n placeholders and no %
// placeholder keeps them, with n the highest $n. An unknown
// %-sequence, or a placeholder directly followed by a digit, is an error.
func ConvertPlaceholders(query string) (string, int, error) {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(query) && query[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		l := specLen(query[i+1:])
		if l == 0 {
			end := min(i+6, len(query))
			return "", 0, fmt.Errorf("statement %q: unknown placeholder at %q", query, query[i:end])
		}
		if next := i + 1 + l; next < len(query) && '0' <= query[next] && query[next] <= '9' {
			// "%d0" would become "$10", silently another parameter.
			return "", 0, fmt.Errorf("statement %q: placeholder %q followed by a digit", query, query[i:next+1])
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
		i += l
	}
	if n == 0 {
		out := b.String() // only %% escapes, if anything, were rewritten
		return out, highestDollar(out), nil
	}
	return b.String(), n, nil
}

// specLen returns the length of the apr_dbd conversion at the start of s
// (after the '%'), or 0 when there is none. apr_dbd knows %s and the
// integer, float and %pD* binary types.
func specLen(s string) int {
	switch {
	case s == "":
		return 0
	case s[0] == 's' || s[0] == 'f':
		return 1
	case strings.HasPrefix(s, "lf"):
		return 2
	case strings.HasPrefix(s, "pD") && len(s) > 2 && strings.IndexByte("tidasznbc", s[2]) >= 0:
		return 3
	}
	i := 0
	for _, mod := range []string{"hh", "h", "ll", "l"} {
		if strings.HasPrefix(s, mod) {
			i = len(mod)
			break
		}
	}
	if i < len(s) && (s[i] == 'd' || s[i] == 'i' || s[i] == 'u') {
		return i + 1
	}
	return 0
}

// highestDollar returns the highest $n in a statement using PostgreSQL
// placeholders.
func highestDollar(q string) int {
	max := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(q) && '0' <= q[j] && q[j] <= '9' {
			j++
		}
		if j > i+1 {
			if v, err := strconv.Atoi(q[i+1 : j]); err == nil && v > max {
				max = v
			}
		}
		i = j - 1
	}
	return max
}
