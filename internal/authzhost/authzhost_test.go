package authzhost

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestParseNetwork(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"10.1.2.3", "10.1.2.3/32"},
		{"10.1.0.0/16", "10.1.0.0/16"},
		{"10.1.2.3/16", "10.1.0.0/16"},
		{"10.1.0.0/255.255.0.0", "10.1.0.0/16"},
		{"10.1", "10.1.0.0/16"},
		{"10", "10.0.0.0/8"},
		{"192.168.1.", "192.168.1.0/24"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"::ffff:10.0.0.1", "10.0.0.1/32"},
	}
	for _, tt := range tests {
		p, err := ParseNetwork(tt.in)
		if err != nil || p.String() != tt.want {
			t.Errorf("ParseNetwork(%q) = %v, %v; want %s", tt.in, p, err, tt.want)
		}
	}
	for _, in := range []string{"", "host.example", "10.1.2.3.4", "256.1", "10.0.0.0/33", "10.0.0.0/255.0.255.0", "10.0.0.0/", "fe80::1%eth0", "1..2", "2001:db8::/255.0.0.0"} {
		if p, err := ParseNetwork(in); err == nil {
			t.Errorf("ParseNetwork(%q) = %v, want an error", in, p)
		}
	}
}

func FuzzParseNetwork(f *testing.F) {
	for _, s := range []string{"10.1", "10.1.0.0/16", "10.0.0.0/255.0.0.0", "::1", "2001:db8::/32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseNetwork(s)
		if err == nil && !p.IsValid() {
			t.Fatalf("%q: invalid prefix without error", s)
		}
	})
}

func TestHandler(t *testing.T) {
	t.Parallel()
	nets := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	h := Handler(nets, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	for _, tt := range []struct {
		remote string
		want   int
	}{{"10.2.3.4:99", 200}, {"[::1]:5", 200}, {"[::ffff:10.0.0.1]:5", 200}, {"192.0.2.1:80", 403}, {"garbage", 403}} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = tt.remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.remote, w.Code, tt.want)
		}
	}
}
