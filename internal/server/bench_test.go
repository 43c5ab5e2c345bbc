package server_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/logconfig"
	"github.com/websession/websession/internal/metrics"
	"github.com/websession/websession/internal/server"
	"github.com/websession/websession/internal/session/sessioncrypto"
)

// BenchmarkServe is one request through the whole server (location plan,
// headers, session, file), as bench/run.sh's rows 1 to 3 configure it,
// without the network: what websession adds to net/http per request.
// Profile it with -cpuprofile to see where a row's time goes. The
// crypto+metrics, crypto+log and crypto+both cases wrap the server as
// cmd/web does with metrics (requests by status, session and store
// counters) and a combined access log, for their cost on the encrypted
// page.
func BenchmarkServe(b *testing.B) {
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "www"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "www", "hello.txt"), []byte("hello\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	conf := `Alias /none/ www/
Alias /plain/ www/
Alias /crypto/ www/
<Location /plain>
    Session On
    SessionCookieName session path=/
    SessionMaxAge 3600
</Location>
<Location /crypto>
    Session On
    SessionCookieName session path=/
    SessionCryptoPassphrase secret
    SessionMaxAge 3600
</Location>
`
	cfg, err := config.Parse("bench.conf", []byte(conf), config.Options{ServerRoot: root})
	if err != nil {
		b.Fatal(err)
	}
	newServer := func(m *metrics.Metrics) *server.Server {
		srv, err := server.New(b.Context(), cfg, server.Deps{Metrics: m})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { srv.Close() })
		return srv
	}
	srv := newServer(nil)
	m := metrics.New()
	withMetrics := m.Requests(newServer(m))
	combined, err := logconfig.Compile(logconfig.Nicknames["combined"])
	if err != nil {
		b.Fatal(err)
	}
	logFile, err := logconfig.OpenFile(filepath.Join(root, "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { logFile.Close() })
	logged := func(h http.Handler) http.Handler {
		return logconfig.Handler(logconfig.Options{Logs: []logconfig.Log{{Format: combined, File: logFile}}}, h)
	}

	const plain = "user=alice&role=admin&theme=dark&lang=en-GB&cart=3&last=%2fshop%2fitem%2f42"
	codec, err := sessioncrypto.New([]string{"secret"}, "", sessioncrypto.Options{})
	if err != nil {
		b.Fatal(err)
	}
	encrypted, err := codec.Encrypt(plain)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, path, cookie string
		h                  http.Handler
	}{
		{"none", "/none/hello.txt", "", srv},
		{"plain", "/plain/hello.txt", "session=" + plain, srv},
		{"crypto", "/crypto/hello.txt", "session=" + encrypted, srv},
		{"crypto+metrics", "/crypto/hello.txt", "session=" + encrypted, withMetrics},
		{"crypto+log", "/crypto/hello.txt", "session=" + encrypted, logged(srv)},
		{"crypto+both", "/crypto/hello.txt", "session=" + encrypted, logged(withMetrics)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bc.path, nil)
			if bc.cookie != "" {
				req.Header.Set("Cookie", bc.cookie)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
