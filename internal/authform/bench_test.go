package authform_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/users"
)

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// benchChain returns the session middleware around h, optionally behind
// Protect, for an authenticated request.
func benchChain(b *testing.B, protected bool, opts users.Options) (http.Handler, *http.Request) {
	_, store := userFileOpts(b, opts, "alice", "wonderland")
	mw, err := session.Middleware(session.Config{Store: mustCookieStore(b)})
	if err != nil {
		b.Fatal(err)
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if protected {
			if _, ok := authform.User(r); !ok {
				b.Fatal("not authenticated")
			}
		} else if _, err := session.Load(r); err != nil {
			b.Fatal(err)
		}
	})
	if protected {
		protect, err := authform.Protect(authform.Options{
			AuthName: "/admin", Providers: []users.Store{store}, Require: authform.Require{ValidUser: true},
		})
		if err != nil {
			b.Fatal(err)
		}
		h = protect(h)
	}
	h = mw(h)
	r := httptest.NewRequest("GET", "/admin/", nil)
	r.Header.Set("Cookie", "session="+aliceCookie)
	h.ServeHTTP(&discardWriter{h: http.Header{}}, r) // warm the users cache
	return h, r
}

func benchServe(b *testing.B, h http.Handler, r *http.Request) {
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkProtect is an authenticated request through the session
// middleware and Protect, the users cache warm. Subtract
// BenchmarkSessionOnly for the auth step itself. The file store's default
// looks at the file (fstat) on every Check; StatInterval bounds that.
func BenchmarkProtect(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts users.Options
	}{
		{"stat-every-check", users.Options{}},
		{"stat-interval-1s", users.Options{StatInterval: time.Second}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, r := benchChain(b, true, bc.opts)
			benchServe(b, h, r)
		})
	}
}

// BenchmarkSessionOnly is the same request without Protect: the baseline.
func BenchmarkSessionOnly(b *testing.B) {
	h, r := benchChain(b, false, users.Options{})
	benchServe(b, h, r)
}
