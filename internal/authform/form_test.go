package authform

import (
	"strings"
	"testing"
)

func TestParseForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		size int64
		want map[string]string
		err  error
	}{
		{"a=1&b=2", 100, map[string]string{"a": "1", "b": "2"}, nil},
		{"a=1&a=2", 100, map[string]string{"a": "1"}, nil},
		{"&&a=x+y%21&&", 100, map[string]string{"a": "x y!"}, nil},
		{"flag&k=%zz%4", 100, map[string]string{"flag": "", "k": "%zz%4"}, nil},
		{"k%3d=v%3D%26", 100, map[string]string{"k=": "v=&"}, nil},
		{"a=12345", 5, nil, errFormTooLarge},
		{"a=%41%41", 3, map[string]string{"a": "AA"}, nil},
	}
	for _, tt := range tests {
		got, err := parseForm(tt.body, tt.size)
		if err != tt.err {
			t.Errorf("%q: err %v, want %v", tt.body, err, tt.err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q: %v, want %v", tt.body, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%q: [%q] = %q, want %q", tt.body, k, got[k], v)
			}
		}
	}
}

func TestSafeLocation(t *testing.T) {
	t.Parallel()
	for loc, want := range map[string]bool{
		"/":                     true,
		"/admin/page?x=1#f":     true,
		"/a:b":                  true,
		"":                      false,
		"admin":                 false,
		"//evil.example":        false,
		`/\evil.example`:        false,
		"https://evil.example/": false,
		"http:/x":               false,
		"/x\r\nLocation: /y":    false,
		"/x\x00":                false,
		"/x\x7f":                false,
		"javascript:alert(1)":   false,
		" /x":                   false,
		"/%2f/evil.example":     true, // a path on this site
		"\t//evil.example":      false,
		"/\t/evil.example":      false,
	} {
		if got := SameSitePath(loc); got != want {
			t.Errorf("SameSitePath(%q) = %v, want %v", loc, got, want)
		}
	}
}

func FuzzParseForm(f *testing.F) {
	for _, s := range []string{"", "a=1&b=2", "a=1&a=2", "%", "%4", "%zz=%41", "=&=", "a+b=c+d", strings.Repeat("x", 100)} {
		f.Add(s, int64(64))
	}
	f.Fuzz(func(t *testing.T, body string, size int64) {
		if size < 0 {
			size = -size
		}
		got, err := parseForm(body, size)
		if err != nil {
			if err != errFormTooLarge {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		var total int64
		for k, v := range got {
			total += int64(len(k) + len(v))
		}
		if total > size {
			t.Fatalf("decoded %d bytes, limit %d", total, size)
		}
		// The first occurrence wins.
		for _, field := range strings.Split(body, "&") {
			if field == "" {
				continue
			}
			k, v, _ := strings.Cut(field, "=")
			if got[unescapeForm(k)] != unescapeForm(v) {
				t.Fatalf("field %q: got %q", k, got[unescapeForm(k)])
			}
			break
		}
	})
}
