package dbd_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/websession/websession/internal/session/dbd"
)

func TestConvertPlaceholders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		n        int
		bad      bool
	}{
		// the manual's statements
		{"select value from session where key = %s and (expiry = 0 or expiry > %lld)",
			"select value from session where key = $1 and (expiry = 0 or expiry > $2)", 2, false},
		{"update session set value = %s, expiry = %lld, key = %s where key = %s",
			"update session set value = $1, expiry = $2, key = $3 where key = $4", 4, false},
		{"insert into session (value, expiry, key) values (%s, %lld, %s)",
			"insert into session (value, expiry, key) values ($1, $2, $3)", 3, false},
		{"delete from session where key = %s", "delete from session where key = $1", 1, false},
		{"delete from session where expiry != 0 and expiry < %lld",
			"delete from session where expiry != 0 and expiry < $1", 1, false},
		// other apr_dbd types, literal %%
		{"%d %hhd %hd %ld %u %llu %i %f %lf %pDt %pDi", "$1 $2 $3 $4 $5 $6 $7 $8 $9 $10 $11", 11, false},
		{"like 'a%%' and k = %s", "like 'a%' and k = $1", 1, false},
		// already PostgreSQL: unchanged
		{"select value from session where key = $1 and expiry > $2", "select value from session where key = $1 and expiry > $2", 2, false},
		{"select 1", "select 1", 0, false},
		// errors
		{"k = %q", "", 0, true},
		{"k = %", "", 0, true},
		{"k = %ll", "", 0, true},
		{"k = %pDq", "", 0, true},
		{"k = %d0", "", 0, true},
	} {
		got, n, err := dbd.ConvertPlaceholders(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: no error (got %q)", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want || n != tc.n {
			t.Errorf("%q = %q, %d, %v; want %q, %d", tc.in, got, n, err, tc.want, tc.n)
		}
	}
}

func FuzzConvertPlaceholders(f *testing.F) {
	for _, s := range []string{
		"select value from session where key = %s and (expiry = 0 or expiry > %lld)",
		"%%s %s %%%s", "%pDt%pD", "$1 $22 $", "%", "%hh", "100%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, n, err := dbd.ConvertPlaceholders(in)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("negative count %d", n)
		}
		if !strings.Contains(in, "%") {
			if out != in {
				t.Fatalf("text without %% changed: %q -> %q", in, out)
			}
			return
		}
		if !strings.Contains(in, "$") && n > 0 {
			// every placeholder became $1..$n, in order
			last := 0
			for i := 0; i < len(out); i++ {
				if out[i] != '$' {
					continue
				}
				j := i + 1
				for j < len(out) && '0' <= out[j] && out[j] <= '9' {
					j++
				}
				k, _ := strconv.Atoi(out[i+1 : j])
				if k != last+1 {
					t.Fatalf("%q -> %q: $%d after $%d", in, out, k, last)
				}
				last = k
			}
			if last != n {
				t.Fatalf("%q -> %q: %d placeholders, reported %d", in, out, last, n)
			}
		}
		// No apr_dbd placeholder survives: only %% escapes could yield a %.
		if strings.Count(out, "%") != strings.Count(in, "%%") {
			t.Fatalf("%q -> %q: stray %%", in, out)
		}
	})
}
