package remoteip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func mustProxies(t *testing.T, trusted, internal []string) []Proxy {
	t.Helper()
	var out []Proxy
	for _, s := range trusted {
		p, err := ParseProxy(s, false)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	for _, s := range internal {
		p, err := ParseProxy(s, true)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		trusted, internal []string
		peer, header      string
		want, rest        string // want "" = header not used
	}{
		{"untrusted peer: forged header changes nothing", []string{"203.0.113.9"}, nil, "198.51.100.7", "1.2.3.4", "", "1.2.3.4"},
		{"trusted peer, one public client", []string{"203.0.113.9"}, nil, "203.0.113.9", "1.2.3.4", "1.2.3.4", ""},
		{"right to left, stop at the first untrusted", []string{"203.0.113.0/24"}, nil, "203.0.113.9", "6.6.6.6, 1.2.3.4, 203.0.113.5", "1.2.3.4", "6.6.6.6"},
		{"client forging a proxy hop is stopped", []string{"203.0.113.9"}, nil, "203.0.113.9", "203.0.113.9, 1.2.3.4", "1.2.3.4", "203.0.113.9"},
		{"trusted proxy may not present a private address", []string{"203.0.113.9"}, nil, "203.0.113.9", "10.1.2.3", "", "10.1.2.3"},
		{"internal proxy may", nil, []string{"10.0.0.0/8"}, "10.0.0.2", "192.168.1.5", "192.168.1.5", ""},
		{"internal chain", nil, []string{"10.0.0.0/8"}, "10.0.0.2", "192.168.1.5, 10.0.0.3", "192.168.1.5", ""},
		{"garbage on the right is left alone", []string{"203.0.113.9"}, nil, "203.0.113.9", "1.2.3.4, nonsense", "", "1.2.3.4, nonsense"},
		{"garbage further left stops there", []string{"203.0.113.0/24"}, nil, "203.0.113.9", "nonsense, 203.0.113.8, 1.2.3.4", "1.2.3.4", "nonsense, 203.0.113.8"},
		{"empty entry stops", []string{"203.0.113.9"}, nil, "203.0.113.9", "", "", ""},
		{"IPv6 public", []string{"2001:db8::1"}, nil, "2001:db8::1", "2a00:1450::7", "2a00:1450::7", ""},
		{"IPv6 link-local from a trusted proxy refused", []string{"2001:db8::1"}, nil, "2001:db8::1", "fe80::1", "", "fe80::1"},
		{"IPv4-mapped peer matches the IPv4 proxy", []string{"203.0.113.9"}, nil, "::ffff:203.0.113.9", "1.2.3.4", "1.2.3.4", ""},
		{"loopback internal proxy", nil, []string{"127.0.0.1"}, "127.0.0.1", "127.0.0.2", "127.0.0.2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Config{Header: "X-Forwarded-For", Proxies: mustProxies(t, tt.trusted, tt.internal)}
			got, rest, ok := c.Client(netip.MustParseAddr(tt.peer), tt.header)
			if tt.want == "" {
				if ok {
					t.Fatalf("Client = %v, want the header unused", got)
				}
				if rest != tt.header {
					t.Errorf("rest = %q, want the header unchanged", rest)
				}
				return
			}
			if !ok || got.String() != tt.want || rest != tt.rest {
				t.Errorf("Client = %v %q %v, want %s %q", got, rest, ok, tt.want, tt.rest)
			}
		})
	}
}

func TestParseProxy(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "10.0.0.0/33", "proxy.example", "10.1", "1.2.3.4/x"} {
		if _, err := ParseProxy(s, false); err == nil {
			t.Errorf("ParseProxy(%q) accepted", s)
		}
	}
	p, err := ParseProxy("10.1.2.3/8", false)
	if err != nil || p.Prefix.String() != "10.0.0.0/8" {
		t.Errorf("ParseProxy = %v, %v", p, err)
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	c := &Config{Header: "X-Forwarded-For", Proxies: mustProxies(t, []string{"203.0.113.9"}, nil)}
	var seen, peer, xff string
	h := Handler(c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, peer, xff = r.RemoteAddr, Peer(r), r.Header.Get("X-Forwarded-For")
	}))
	tests := []struct{ remote, header, seen, peer, xff string }{
		{"203.0.113.9:4000", "6.6.6.6, 1.2.3.4", "1.2.3.4:4000", "203.0.113.9:4000", "6.6.6.6"},
		{"203.0.113.9:4000", "1.2.3.4", "1.2.3.4:4000", "203.0.113.9:4000", ""},
		{"198.51.100.7:5000", "1.2.3.4", "198.51.100.7:5000", "198.51.100.7:5000", "1.2.3.4"},
		{"[2001:db8::5]:5000", "1.2.3.4", "[2001:db8::5]:5000", "[2001:db8::5]:5000", "1.2.3.4"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		r.Header.Set("X-Forwarded-For", tt.header)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if seen != tt.seen || peer != tt.peer || xff != tt.xff {
			t.Errorf("%s with %q: RemoteAddr %q, Peer %q, header %q; want %q %q %q", tt.remote, tt.header, seen, peer, xff, tt.seen, tt.peer, tt.xff)
		}
		if r.Header.Get("X-Forwarded-For") != tt.header {
			t.Errorf("the caller's request header was changed")
		}
	}
}

func TestHandlerOff(t *testing.T) {
	t.Parallel()
	next := http.NotFoundHandler()
	if h := Handler(nil, next); h == nil {
		t.Fatal("nil handler")
	}
	r := httptest.NewRequest("GET", "/", nil)
	if Peer(r) != r.RemoteAddr {
		t.Errorf("Peer without the handler = %q", Peer(r))
	}
}

func FuzzClient(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "6.6.6.6, 1.2.3.4, 203.0.113.5", "", ",", " , ,", "::1", "fe80::1%eth0", "1.2.3.4:80", "[::1]"} {
		f.Add(s)
	}
	c := &Config{Header: "X-Forwarded-For", Proxies: []Proxy{
		{Prefix: netip.MustParsePrefix("203.0.113.0/24")},
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Internal: true},
	}}
	peer := netip.MustParseAddr("203.0.113.9")
	f.Fuzz(func(t *testing.T, header string) {
		client, rest, ok := c.Client(peer, header)
		if !ok {
			if rest != header {
				t.Fatalf("unused header changed: %q -> %q", header, rest)
			}
			return
		}
		if !client.IsValid() || client.Zone() != "" {
			t.Fatalf("invalid client %v from %q", client, header)
		}
		if len(rest) >= len(header) {
			t.Fatalf("rest %q not shorter than %q", rest, header)
		}
		// The client must be the rightmost entry not consumed as a proxy.
		if _, trusted := c.match(client); trusted && rest != "" {
			// It was trusted, so the next entry must have been unusable.
			if _, _, again := c.Client(client, rest); again {
				t.Fatalf("stopped early at %v with %q left", client, rest)
			}
		}
	})
}
