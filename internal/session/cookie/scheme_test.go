package cookie_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/cookie"
)

func TestForRequest(t *testing.T) {
	t.Parallel()
	tlsReq := httptest.NewRequest("GET", "https://example.com/", nil)
	tlsReq.TLS = &tls.ConnectionState{}
	plain := httptest.NewRequest("GET", "http://127.0.0.1/", nil)
	tests := []struct {
		r                   *http.Request
		name, attrs         string
		wantName, wantAttrs string
	}{
		{plain, "session", "path=/;HttpOnly", "session", "path=/;HttpOnly"},
		{tlsReq, "session", "path=/;HttpOnly;SameSite=Lax", "__Host-session", "path=/;HttpOnly;SameSite=Lax;Secure"},
		{tlsReq, "session", "path=/;secure", "__Host-session", "path=/;secure"},
		{tlsReq, "session", "path=/private;HttpOnly", "session", "path=/private;HttpOnly;Secure"},
		{tlsReq, "session", "path=/;domain=example.com", "session", "path=/;domain=example.com;Secure"},
		{tlsReq, "session", "", "session", cookie.DefaultAttrs},
		{tlsReq, "__Host-s", "path=/", "__Host-s", "path=/;Secure"},
	}
	for _, tt := range tests {
		n, a := cookie.ForRequest(tt.r, tt.name, tt.attrs)
		if n != tt.wantName || a != tt.wantAttrs {
			t.Errorf("ForRequest(tls=%v, %q, %q) = %q, %q; want %q, %q", tt.r.TLS != nil, tt.name, tt.attrs, n, a, tt.wantName, tt.wantAttrs)
		}
	}
}

// TestCookiesFollowTheScheme is issue 15.15: over TLS the shipped
// configurations' cookie is Secure and __Host- prefixed, and the session
// comes back; over plain HTTP on loopback it stays as configured.
func TestCookiesFollowTheScheme(t *testing.T) {
	t.Parallel()
	st, err := cookie.NewStore(cookie.Options{Name: "session", Attrs: "path=/;HttpOnly;SameSite=Lax"})
	if err != nil {
		t.Fatal(err)
	}
	mw, err := session.Middleware(session.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.Load(r)
		if r.URL.Path == "/set" {
			s.Set("colour", "blue")
			return
		}
		v, _ := s.Get("colour")
		io.WriteString(w, v)
	}))
	for _, c := range []struct {
		server *httptest.Server
		want   string
	}{
		{httptest.NewTLSServer(h), "__Host-session=colour=blue;path=/;HttpOnly;SameSite=Lax;Secure"},
		{httptest.NewServer(h), "session=colour=blue;path=/;HttpOnly;SameSite=Lax"},
	} {
		defer c.server.Close()
		client := c.server.Client()
		res, err := client.Get(c.server.URL + "/set")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Set-Cookie"); got != c.want {
			t.Fatalf("Set-Cookie %q, want %q", got, c.want)
		}
		req, _ := http.NewRequest("GET", c.server.URL+"/get", nil)
		req.Header.Set("Cookie", strings.SplitN(c.want, ";", 2)[0])
		res, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != "blue" {
			t.Fatalf("%s: session not read back: %q", c.server.URL, body)
		}
	}
}
