package ssl

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCert writes a certificate for 127.0.0.1 and localhost valid from
// notBefore to notAfter, signed by a fresh CA, with its key; the
// certificate file holds the chain (leaf, then CA). It returns the files
// and a pool trusting the CA.
func testCert(t *testing.T, dir string, notBefore, notAfter time.Time) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: notBefore, NotAfter: notAfter.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	if err := os.WriteFile(certFile, chain, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	return certFile, keyFile, pool
}

func TestLoad(t *testing.T) {
	t.Parallel()
	now := time.Now()
	good := t.TempDir()
	certFile, keyFile, _ := testCert(t, good, now.Add(-time.Hour), now.Add(24*time.Hour))
	other := t.TempDir()
	_, otherKey, _ := testCert(t, other, now.Add(-time.Hour), now.Add(24*time.Hour))
	expired := t.TempDir()
	expCert, expKey, _ := testCert(t, expired, now.Add(-48*time.Hour), now.Add(-24*time.Hour))

	c, warnings, err := Load(certFile, keyFile, now)
	if err != nil || len(warnings) != 0 || len(c.Certificate) != 2 {
		t.Fatalf("Load = %v %v, %d certificates; want the chain of 2", warnings, err, len(c.Certificate))
	}
	if _, warnings, err := Load(expCert, expKey, now); err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "expired on") {
		t.Errorf("expired: warnings %q, err %v", warnings, err)
	}
	if _, warnings, err := Load(certFile, keyFile, now.Add(-2*time.Hour)); err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "not valid before") {
		t.Errorf("not yet valid: warnings %q, err %v", warnings, err)
	}
	tests := []struct {
		name, cert, key string
		isKey           bool
		want            string
	}{
		{"missing certificate", filepath.Join(good, "nope.pem"), keyFile, false, "cannot read the certificate"},
		{"missing key", certFile, filepath.Join(good, "nope.pem"), true, "cannot read the private key"},
		{"key of another certificate", certFile, otherKey, true, "does not belong to the certificate"},
		{"files swapped", keyFile, certFile, false, "holds no PEM certificate"},
		{"certificate as key", certFile, certFile, true, "holds no PEM private key"},
	}
	for _, tt := range tests {
		_, _, err := Load(tt.cert, tt.key, now)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Key != tt.isKey || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v (key file blamed: %v), want %q", tt.name, err, fe != nil && fe.Key, tt.want)
		}
	}
}

// TestHTTP2AndHSTS serves through TLSConfig and HSTS and talks to it with a
// real HTTP/2 client; a TLS 1.1 client is refused.
func TestHTTP2AndHSTS(t *testing.T) {
	t.Parallel()
	now := time.Now()
	dir := t.TempDir()
	certFile, keyFile, pool := testCert(t, dir, now.Add(-time.Hour), now.Add(time.Hour))
	c, _, err := Load(certFile, keyFile, now)
	if err != nil {
		t.Fatal(err)
	}
	cert := NewCertificate(c)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := HSTS{MaxAge: DefaultHSTSMaxAge}.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Proto))
	}))
	srv := &http.Server{Handler: h, TLSConfig: cert.TLSConfig()}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2", resp.Proto)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=86400" {
		t.Errorf("Strict-Transport-Security %q", got)
	}
	if resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("TLS version %x", resp.TLS.Version)
	}

	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}}}
	if resp, err := old.Get("https://" + ln.Addr().String() + "/"); err == nil {
		resp.Body.Close()
		t.Error("a TLS 1.1 client was served")
	}

	// A new certificate is served to the next handshake.
	dir2 := t.TempDir()
	certFile2, keyFile2, pool2 := testCert(t, dir2, now.Add(-time.Hour), now.Add(time.Hour))
	c2, _, err := Load(certFile2, keyFile2, now)
	if err != nil {
		t.Fatal(err)
	}
	cert.Set(c2)
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool2}}}
	if resp, err := fresh.Get("https://" + ln.Addr().String() + "/"); err != nil {
		t.Errorf("after Set: %v", err)
	} else {
		resp.Body.Close()
	}
}

func TestHSTSNotOnPlainHTTP(t *testing.T) {
	t.Parallel()
	h := HSTS{MaxAge: time.Hour, IncludeSubDomains: true, Preload: true}
	if v := h.Value(); v != "max-age=3600; includeSubDomains; preload" {
		t.Errorf("Value = %q", v)
	}
	rec := httptest.NewRecorder()
	h.Handler(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "http://example.org/", nil))
	if rec.Header().Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain HTTP")
	}
}
