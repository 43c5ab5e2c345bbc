package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/server"
)

// logBuffer is a logger's output that tests read while the server writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines containing s.
func (b *logBuffer) lines(s string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// waitFor polls the log until a line contains s, failing after a deadline.
func (b *logBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(b.lines(s)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", s, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serveReal runs srv.Serve, the real net/http server with its timeouts
// and error log, on ln until the test ends, and checks that it stopped
// cleanly.
func serveReal(t *testing.T, conf string, deps server.Deps, ln net.Listener) *logBuffer {
	t.Helper()
	cfg, err := config.Parse("test.conf", []byte(conf), config.Options{ServerRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	deps.Logger = slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return logs
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestPanicIsLoggedAndAnswered: a handler that panics gets the friendly
// 500 page, one log line with the stack, and the server keeps serving. A
// panic after the response began drops the connection instead.
func TestPanicIsLoggedAndAnswered(t *testing.T) {
	t.Parallel()
	site := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/boom":
			w.Header().Set("Set-Cookie", "half=made")
			panic("secret internal state")
		case "/late":
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic("too late for a page")
		}
		io.WriteString(w, "fine")
	})
	ln := listen(t)
	logs := serveReal(t, "Listen 127.0.0.1:0\n", server.Deps{Site: func(server.SiteDeps) (http.Handler, error) { return site, nil }}, ln)
	base := "http://" + ln.Addr().String()

	res, err := http.Get(base + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "Something went wrong") {
		t.Errorf("panic answered %d %q, want the friendly 500 page", res.StatusCode, body)
	}
	if strings.Contains(string(body), "secret internal state") || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("the 500 page leaks the panic or the handler's headers: %q %q", body, res.Header)
	}
	got := logs.lines("handler panicked")
	if len(got) != 1 || !strings.Contains(got[0], "path=/boom") || !strings.Contains(got[0], "goroutine") {
		t.Errorf("want one log line with the path and the stack, got %q", got)
	}

	// The status line and part of the body went out: reading the rest
	// must fail rather than look whole.
	if res, err := http.Get(base + "/late"); err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil {
			t.Errorf("a panic after the response began gave a complete response")
		}
	}
	logs.waitFor(t, "too late for a page")
	if n := len(logs.lines("handler panicked")); n != 2 {
		t.Errorf("%d panic lines after two panics, want 2", n)
	}

	res, err = http.Get(base + "/")
	if err != nil {
		t.Fatalf("the server stopped serving after a panic: %v", err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "fine" {
		t.Errorf("after the panics: %d %q", res.StatusCode, body)
	}
	if strings.Contains(logs.String(), "http: panic serving") {
		t.Errorf("net/http logged the panic too:\n%s", logs)
	}
}

// TestHTTPServerErrorsAreLogged: net/http's own errors, such as a client
// speaking plain HTTP to a TLS port, reach the slog logger.
func TestHTTPServerErrorsAreLogged(t *testing.T) {
	t.Parallel()
	ln := tls.NewListener(listen(t), &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}})
	logs := serveReal(t, "Listen 127.0.0.1:0\n", server.Deps{}, ln)

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	bufio.NewReader(c).ReadString('\n') // the server's answer to plain HTTP
	logs.waitFor(t, "TLS handshake error")
	if got := logs.lines("TLS handshake error"); !strings.Contains(got[0], "level=WARN") {
		t.Errorf("log line %q, want a warning", got[0])
	}
}

// selfSigned makes a certificate for 127.0.0.1 that lasts the test.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
