package cookie

import (
	"net/http"
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name, value, attrs string
		maxAge             int64
		want               string
	}{
		{"session", "a=1", "path=/", 0, "session=a=1;path=/"},
		{"session", "v", "path=/private;domain=example.com;httponly;secure;", 300, "session=v;Max-Age=300;path=/private;domain=example.com;httponly;secure;"},
		{"s4", "a=1", "", 0, "s4=a=1;HttpOnly;Secure;Version=1"},
	}
	for _, tt := range tests {
		if got := Line(tt.name, tt.value, tt.attrs, tt.maxAge); got != tt.want {
			t.Errorf("Line = %q, want %q", got, tt.want)
		}
	}
	if got := RemovalLine("s1", "path=/s1/;httponly"); got != "s1=;Max-Age=0;path=/s1/;httponly" {
		t.Errorf("RemovalLine = %q", got)
	}
	if got := RemovalLine("s4", ""); got != "s4=;Max-Age=0;" {
		t.Errorf("RemovalLine = %q", got)
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name       string
		headers    []string
		want       string
		ok, confl  bool
		remove     bool
		leftHeader []string
	}{
		{name: "simple", headers: []string{"session=a=1"}, want: "a=1", ok: true},
		{name: "among others", headers: []string{"x=1; session=a=1&b=2; y=2"}, want: "a=1&b=2", ok: true},
		{name: "prefix names do not match", headers: []string{"xsession=1; sessionx=2"}},
		{name: "case-sensitive name", headers: []string{"Session=1"}},
		{name: "value verbatim", headers: []string{`session="a=1" `}, want: `"a=1" `, ok: true},
		{name: "two headers", headers: []string{"a=1", "session=z"}, want: "z", ok: true},
		{name: "comma separated", headers: []string{"a=1, session=z"}, want: "z", ok: true},
		{name: "different duplicates", headers: []string{"session=a=1; session=a=2"}, confl: true},
		{name: "identical duplicates", headers: []string{"session=a=1; session=a=1"}, want: "a=1", ok: true},
		{name: "remove keeps blanks", headers: []string{"session=a=1; other=1"}, want: "a=1", ok: true, remove: true, leftHeader: []string{" other=1"}},
		{name: "remove with $Path", headers: []string{"session=a=1; $Path=/; other=1"}, want: "a=1", ok: true, remove: true, leftHeader: []string{" other=1"}},
		{name: "remove drops empty header", headers: []string{"session=a=1"}, want: "a=1", ok: true, remove: true},
		{name: "oversize is absent", headers: []string{"session=" + strings.Repeat("a", MaxHeaderValue)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Cookie": tt.headers}
			got, ok, confl := Read(h, "session", tt.remove)
			if got != tt.want || ok != tt.ok || confl != tt.confl {
				t.Fatalf("Read = %q, %v, %v; want %q, %v, %v", got, ok, confl, tt.want, tt.ok, tt.confl)
			}
			if tt.remove && strings.Join(h["Cookie"], "|") != strings.Join(tt.leftHeader, "|") {
				t.Fatalf("left Cookie header %q, want %q", h["Cookie"], tt.leftHeader)
			}
		})
	}
}

func TestSetReplacesSameName(t *testing.T) {
	h := http.Header{}
	h.Add("Set-Cookie", "other=1")
	Set(h, "Set-Cookie", "session", "session=a;path=/")
	Set(h, "Set-Cookie", "session", "session=b;path=/")
	if got := strings.Join(h.Values("Set-Cookie"), "|"); got != "other=1|session=b;path=/" {
		t.Fatalf("got %q", got)
	}
}

func FuzzRead(f *testing.F) {
	for _, s := range []string{"session=a=1", "session=a; session=b", "a=1, session=2;$Path=/", ";;,,", "session="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, hv string) {
		h := http.Header{"Cookie": {hv}}
		v, ok, _ := Read(h, "session", true)
		if ok {
			if _, again, _ := Read(h, "session", false); again {
				t.Fatalf("cookie still present after removal: %q", h["Cookie"])
			}
			if strings.ContainsAny(v, ";,") {
				t.Fatalf("value %q spans a separator", v)
			}
		}
	})
}
