package authform_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/revocation"
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
	return benchChainLogins(b, protected, opts, nil, "")
}

// benchChainLogins is benchChain with a login record and extra cookie
// pairs (the login id and time).
func benchChainLogins(b *testing.B, protected bool, opts users.Options, logins *authform.Logins, extra string) (http.Handler, *http.Request) {
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
			AuthName: "/admin", Providers: []users.Store{store}, Require: authform.Require{ValidUser: true}, Logins: logins,
		})
		if err != nil {
			b.Fatal(err)
		}
		h = protect(h)
	}
	h = mw(h)
	r := httptest.NewRequest("GET", "/admin/", nil)
	r.Header.Set("Cookie", "session="+aliceCookie+extra)
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

// BenchmarkProtectWithRecord is BenchmarkProtect/stat-interval-1s with a
// login id in the session, without (bypassed) and with (checked) the
// record of ended logins holding 20,000 entries and the login lifetime:
// the hot-path cost of refusing logged-out copies.
func BenchmarkProtectWithRecord(b *testing.B) {
	// The entries go straight into the file, as a restart finds them.
	until := time.Now().Add(time.Hour)
	var lines strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&lines, "s id%d logout %d\nu user%d %d - everywhere %d\n", i, until.UnixMicro(), i, time.Now().UnixMicro(), until.UnixMicro())
	}
	path := filepath.Join(b.TempDir(), "revoked")
	if err := os.WriteFile(path, []byte(lines.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	rec, err := revocation.Open(context.Background(), revocation.NewFile(path, nil), revocation.Options{})
	if err != nil || rec.Len() != 20000 {
		b.Fatalf("record: %v, %d entries", err, rec.Len())
	}
	since := time.Now().UnixMicro()
	cookie := fmt.Sprintf("&%%2fadmin-sid=AAAAAAAAAAAAAAAAAAAAAA&%%2fadmin-since=%d", since)
	// bypassed is the same session (login id and time) with no record and
	// no lifetime: the before of checked.
	for _, bc := range []struct {
		name   string
		logins *authform.Logins
	}{
		{"bypassed", nil},
		{"checked", &authform.Logins{Record: rec, Lifetime: 12 * time.Hour}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, r := benchChainLogins(b, true, users.Options{StatInterval: time.Second}, bc.logins, cookie)
			benchServe(b, h, r)
		})
	}
}
