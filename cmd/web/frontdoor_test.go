package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// writeCert writes tls/fullchain.pem (leaf, then CA) and tls/privkey.pem
// below root for 127.0.0.1, and returns a pool trusting the CA.
func writeCert(t *testing.T, root string, notAfter time.Time) *x509.CertPool {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	os.MkdirAll(filepath.Join(root, "tls"), 0o700)
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	if err := os.WriteFile(filepath.Join(root, "tls", "fullchain.pem"), chain, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "tls", "privkey.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool
}

// lockedBuffer collects the server's standard output.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// productionConfig is configs/production.example on free loopback ports, with
// 127.0.0.2 as the proxy so that the test can be both the proxy and a
// client that is not.
func productionConfig(t *testing.T) string {
	// Not a *.conf: it needs a certificate, so the test of every shipped
	// configuration cannot start it as it is.
	b, err := os.ReadFile("../../configs/production.example")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	for old, repl := range map[string]string{
		"Listen 127.0.0.1:8080\n":           "Listen 127.0.0.1:0\n",
		"Listen 8443 https\n":               "Listen 127.0.0.1:0 https\n",
		"RemoteIPInternalProxy 127.0.0.1\n": "RemoteIPInternalProxy 127.0.0.2\n",
	} {
		if !strings.Contains(conf, old) {
			t.Fatalf("production.example has no %q", old)
		}
		conf = strings.Replace(conf, old, repl, 1)
	}
	return conf
}

// startProduction serves conf from root and returns the http and https
// base URLs.
func startProduction(t *testing.T, root, conf string) (plain, secure string) {
	t.Helper()
	file := filepath.Join(root, "configs", "site.conf")
	os.MkdirAll(filepath.Dir(file), 0o755)
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	opts := options{configFile: file, getenv: func(string) string { return "" }, stdout: out, stderr: io.Discard}
	go func() { done <- serve(ctx, opts, func(addr string) { ready <- addr }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with: %v", err)
		}
	})
	m := regexp.MustCompile(`listening on http://(\S+) .*\n.*listening on https://(\S+) `).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no listening lines in %q", out.String())
	}
	return "http://" + m[1], "https://" + m[2]
}

func TestProductionConfiguration(t *testing.T) {
	root := serverRoot(t)
	pool := writeCert(t, root, time.Now().Add(time.Hour))
	if err := os.Mkdir(filepath.Join(root, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	plain, secure := startProduction(t, root, productionConfig(t))

	// HTTPS with a real HTTP/2 client, HSTS on TLS only.
	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	res, err := h2.Get(secure + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 || res.StatusCode != 200 {
		t.Errorf("https: %s %d, want HTTP/2 200", res.Proto, res.StatusCode)
	}
	if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=86400" {
		t.Errorf("https Strict-Transport-Security = %q", got)
	}
	res, err = http.Get(plain + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Error("Strict-Transport-Security sent over plain HTTP")
	}

	// The whole site works over HTTPS and HTTP/2.
	b := newVisitor(t, secure)
	b.client.Transport = h2.Transport
	res, _ = b.post("/register", url.Values{"username": {"erin"}, "password": {"correct horse"}, "confirm": {"correct horse"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	for range 2 {
		res, _ = b.get("/private/")
		expect(t, res, http.StatusOK, "")
	}
	// The login POST is logged with the user it logs in (%u), a refused
	// one without a user.
	res, _ = b.post("/logout", nil)
	expect(t, res, http.StatusTemporaryRedirect, "")
	res, _ = b.post("/login", url.Values{"httpd_username": {"erin"}, "httpd_password": {"wrong horse"}})
	expect(t, res, http.StatusUnauthorized, "")
	res, _ = b.post("/login", url.Values{"httpd_username": {"erin"}, "httpd_password": {"correct horse"}})
	expect(t, res, http.StatusFound, "/private/")

	// A forged X-Forwarded-For from a client that is not the proxy changes
	// nothing; from the proxy (127.0.0.2) it names the client.
	fromProxy := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}
	for _, c := range []struct {
		client *http.Client
		path   string
	}{{http.DefaultClient, "/?forged"}, {fromProxy, "/?proxied"}} {
		req, _ := http.NewRequest("GET", plain+c.path, nil)
		req.Header.Set("X-Forwarded-For", "198.51.100.7")
		res, err := c.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}

	// The session inspector shows the client address remoteip decided on.
	for _, c := range []struct {
		client     *http.Client
		want, lack string
	}{
		{http.DefaultClient, "<dd>127.0.0.1</dd>", "198.51.100.7"},
		{fromProxy, "<dd>198.51.100.7 (through the proxy at 127.0.0.2)</dd>", "<dd>127.0.0.2"},
	} {
		req, _ := http.NewRequest("GET", plain+"/session", nil)
		req.Header.Set("X-Forwarded-For", "198.51.100.7")
		res, err := c.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), c.want) || strings.Contains(string(body), c.lack) {
			t.Errorf("/session: %d, want %s and no %s in:\n%s", res.StatusCode, c.want, c.lack, body)
		}
	}

	// Metrics: the monitoring host (127.0.0.1) may read them, read back
	// with Prometheus's parser; the proxy's address may not.
	res, err = http.Get(plain + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("/metrics: %d %v", res.StatusCode, err)
	}
	for _, want := range []struct {
		name   string
		labels map[string]string
	}{
		{"websession_http_requests_total", map[string]string{"code": "200"}},
		{"websession_session_loads_total", map[string]string{"store": "cookie", "outcome": "found"}},
		{"websession_session_saves_total", map[string]string{"store": "cookie", "outcome": "saved"}},
		{"websession_credential_cache_lookups_total", map[string]string{"result": "hit"}},
	} {
		if v := sample(fams, want.name, want.labels); v < 1 {
			t.Errorf("%s%v = %v, want at least 1", want.name, want.labels, v)
		}
	}
	res, err = fromProxy.Get(plain + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("/metrics from 127.0.0.2: %d, want 403", res.StatusCode)
	}

	// The access log: combined format, the real client, the login user,
	// never a password or a cookie value.
	logText := waitFor(t, filepath.Join(root, "logs", "access.log"), `"GET /metrics HTTP/1.1" 403`)
	if !regexp.MustCompile(`(?m)^127\.0\.0\.1 - erin \[[^]]+\] "GET /private/ HTTP/2\.0" 200 \d+ "-" "Go-http-client/2\.0"$`).MatchString(logText) {
		t.Errorf("no combined line for erin's private page:\n%s", logText)
	}
	if !regexp.MustCompile(`(?m)^127\.0\.0\.1 - erin \[[^]]+\] "POST /login HTTP/2\.0" 302 `).MatchString(logText) {
		t.Errorf("the login POST is not logged with the user it logged in:\n%s", logText)
	}
	if !regexp.MustCompile(`(?m)^127\.0\.0\.1 - - \[[^]]+\] "POST /login HTTP/2\.0" 401 `).MatchString(logText) {
		t.Errorf("the refused login POST is not logged without a user:\n%s", logText)
	}
	if !regexp.MustCompile(`(?m)^127\.0\.0\.1 - - .*"GET /\?forged HTTP/1\.1" 200`).MatchString(logText) {
		t.Errorf("the forged header changed the client address:\n%s", logText)
	}
	if !regexp.MustCompile(`(?m)^198\.51\.100\.7 - - .*"GET /\?proxied HTTP/1\.1" 200`).MatchString(logText) {
		t.Errorf("the proxy's client address is not logged:\n%s", logText)
	}
	for _, secret := range []string{"correct horse", "correct+horse", "session="} {
		if strings.Contains(logText, secret) {
			t.Errorf("access log holds %q:\n%s", secret, logText)
		}
	}
}

func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return 0
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		for _, l := range m.Label {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		return m.GetCounter().GetValue()
	}
	return 0
}

// waitFor polls a file until it contains want (lines are written after
// the response has gone).
func waitFor(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not contain %q:\n%s", path, want, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFrontDoorStartupErrors(t *testing.T) {
	root := serverRoot(t)
	writeCert(t, root, time.Now().Add(time.Hour))
	os.Mkdir(filepath.Join(root, "logs"), 0o700)
	readOnly := filepath.Join(root, "ro")
	os.Mkdir(readOnly, 0o500)
	base := productionConfig(t)
	other := t.TempDir()
	writeCert(t, other, time.Now().Add(time.Hour))
	tests := []struct {
		name, old, repl, want string
	}{
		{"missing certificate", "SSLCertificateFile tls/fullchain.pem", "SSLCertificateFile tls/nope.pem", `SSLCertificateFile: cannot read the certificate: open ` + root + `/tls/nope.pem: no such file or directory; give the path of a PEM certificate file`},
		{"key of another certificate", "SSLCertificateKeyFile tls/privkey.pem", "SSLCertificateKeyFile " + other + "/tls/privkey.pem", `SSLCertificateKeyFile: the private key in ` + other + `/tls/privkey.pem does not belong to the certificate`},
		{"unwritable log folder", "CustomLog logs/access.log combined", "CustomLog nosuch/access.log combined", `CustomLog: cannot open ` + root + `/nosuch/access.log for appending: open ` + root + `/nosuch/access.log: no such file or directory; create the folder`},
		{"bad LogFormat", "CustomLog logs/access.log combined", `CustomLog logs/access.log "%h %Q"`, `CustomLog: unrecognized LogFormat directive %Q`},
	}
	if os.Geteuid() != 0 {
		tests = append(tests, struct{ name, old, repl, want string }{"read-only log folder", "CustomLog logs/access.log combined", "CustomLog ro/access.log combined", `permission denied; create the folder and let the user websession runs as write to it`})
	}
	for _, tt := range tests {
		conf := strings.Replace(base, tt.old, tt.repl, 1)
		line := 1 + strings.Count(conf[:strings.Index(conf, tt.repl)], "\n")
		file := filepath.Join(root, "configs", "site.conf")
		os.MkdirAll(filepath.Dir(file), 0o755)
		os.WriteFile(file, []byte(conf), 0o600)
		err := serve(context.Background(), options{configFile: file, getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard}, nil)
		prefix := file + ":" + strconv.Itoa(line) + ": "
		if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n got  %v\n want %s...%s", tt.name, err, prefix, tt.want)
		}
	}
}
