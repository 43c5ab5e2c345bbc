package cookie

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/websession/websession/internal/session"
)

// TestName2: with SessionCookieName2 the session is read only from that
// cookie, and a save writes both, Set-Cookie2 for the second.
func TestName2(t *testing.T) {
	st, err := NewStore(Options{Name: "s1", Attrs: "path=/", Name2: "s2", Attrs2: "path=/;Version=1"})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "s1=a=1; s2=b=2")
	got, found, err := st.Load(r)
	if err != nil || !found || got.Encoded != "b=2" {
		t.Fatalf("Load = %q, %v, %v; want the SessionCookieName2 cookie", got.Encoded, found, err)
	}
	h := http.Header{}
	s := session.New()
	s.MaxAge = 60
	if err := st.Save(r, h, s, "b=3"); err != nil {
		t.Fatal(err)
	}
	if c := h.Values("Set-Cookie"); len(c) != 1 || c[0] != "s1=b=3;Max-Age=60;path=/" {
		t.Errorf("Set-Cookie %q", c)
	}
	if c := h.Values("Set-Cookie2"); len(c) != 1 || c[0] != "s2=b=3;Max-Age=60;path=/;Version=1" {
		t.Errorf("Set-Cookie2 %q", c)
	}
}

func TestOmitMaxAgeAndTooLarge(t *testing.T) {
	st, _ := NewStore(Options{Name: "s", Attrs: "path=/", OmitMaxAge: true})
	h := http.Header{}
	s := session.New()
	s.MaxAge = 300
	if err := st.Save(nil, h, s, "a=1"); err != nil || h.Get("Set-Cookie") != "s=a=1;path=/" {
		t.Fatalf("SessionCookieMaxAge Off: %q, %v", h.Get("Set-Cookie"), err)
	}
	h = http.Header{}
	err := st.Save(nil, h, s, strings.Repeat("x", MaxCookieSize))
	if !errors.Is(err, ErrTooLarge) || len(h) != 0 {
		t.Fatalf("oversize: %v, headers %v", err, h)
	}
}

func TestNewStoreNeedsAName(t *testing.T) {
	if _, err := NewStore(Options{}); err == nil || !strings.Contains(err.Error(), "SessionCookieName") {
		t.Fatalf("err = %v", err)
	}
}
