// Package ssl is the subset of mod_ssl websession needs to answer HTTPS
// itself: a certificate chain and its key from PEM files
// (SSLCertificateFile, SSLCertificateKeyFile) checked at start-up, a
// tls.Config with Go's modern defaults (TLS 1.2 at least, HTTP/2 offered),
// a certificate that can be replaced while serving (reload), and the
// Strict-Transport-Security header on TLS responses.
package ssl

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// FileError is a problem with one of the two files; Key says which, so
// that the caller can name the directive.
type FileError struct {
	Key bool // the key file (SSLCertificateKeyFile), else the certificate file
	Err error
}

func (e *FileError) Error() string { return e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Load reads a PEM certificate chain (the server's certificate first, then
// intermediates) and its PEM private key, and checks that they belong
// together. Warnings are problems that do not stop serving but that a
// browser will complain about: a certificate that has expired or is not
// valid yet, as of now.
func Load(certFile, keyFile string, now time.Time) (cert *tls.Certificate, warnings []string, err error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, &FileError{Err: fmt.Errorf("cannot read the certificate: %w; give the path of a PEM certificate file", err)}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, &FileError{Key: true, Err: fmt.Errorf("cannot read the private key: %w; give the path of the PEM key file", err)}
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, explain(err, certFile, keyFile)
	}
	leaf := c.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, nil, &FileError{Err: fmt.Errorf("%s: the certificate cannot be parsed: %w", certFile, err)}
		}
	}
	name := leaf.Subject.CommonName
	if len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	switch {
	case now.After(leaf.NotAfter):
		warnings = append(warnings, fmt.Sprintf("the certificate for %q in %s expired on %s; browsers will refuse it, renew it", name, certFile, leaf.NotAfter.UTC().Format(time.DateOnly)))
	case now.Before(leaf.NotBefore):
		warnings = append(warnings, fmt.Sprintf("the certificate for %q in %s is not valid before %s; check the clock or the certificate", name, certFile, leaf.NotBefore.UTC().Format(time.RFC3339)))
	}
	return &c, warnings, nil
}

// explain turns crypto/tls's pairing errors into what the operator should
// do, naming the file at fault.
func explain(err error, certFile, keyFile string) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "does not match"):
		return &FileError{Key: true, Err: fmt.Errorf("the private key in %s does not belong to the certificate in %s; give the key the certificate was issued for", keyFile, certFile)}
	case strings.Contains(msg, "failed to find any PEM data in certificate"), strings.Contains(msg, "failed to find certificate PEM data"):
		return &FileError{Err: fmt.Errorf("%s holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the certificate file, not the key", certFile)}
	case strings.Contains(msg, "failed to find any PEM data in key"), strings.Contains(msg, "failed to find PEM block with type ending in \"PRIVATE KEY\""):
		return &FileError{Key: true, Err: fmt.Errorf("%s holds no PEM private key (-----BEGIN ... PRIVATE KEY-----); give the key file, not the certificate", keyFile)}
	}
	return &FileError{Err: fmt.Errorf("%s and %s: %w", certFile, keyFile, err)}
}

// Certificate holds the certificate a listener serves; Set replaces it for
// new handshakes while serving. It is safe for concurrent use.
type Certificate struct {
	cur atomic.Pointer[tls.Certificate]
}

// NewCertificate returns a Certificate serving c.
func NewCertificate(c *tls.Certificate) *Certificate {
	h := &Certificate{}
	h.cur.Store(c)
	return h
}

// Set replaces the certificate for the handshakes that follow.
func (h *Certificate) Set(c *tls.Certificate) { h.cur.Store(c) }

// TLSConfig returns the server's TLS configuration: Go's defaults (TLS 1.2
// at least, its modern cipher suites), HTTP/2 and HTTP/1.1 offered by ALPN,
// and the current certificate.
func (h *Certificate) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			c := h.cur.Load()
			if c == nil {
				return nil, errors.New("ssl: no certificate")
			}
			return c, nil
		},
	}
}

// DefaultHSTSMaxAge is the Strict-Transport-Security max-age websession
// sends unless configured otherwise: one day, short enough that a site
// that has to go back to plain HTTP is not locked out of browsers for long.
const DefaultHSTSMaxAge = 24 * time.Hour

// HSTS is a Strict-Transport-Security policy. The zero value sends none.
type HSTS struct {
	MaxAge            time.Duration
	IncludeSubDomains bool
	Preload           bool
}

// Value returns the header value, e.g. "max-age=86400; includeSubDomains".
func (h HSTS) Value() string {
	v := "max-age=" + strconv.FormatInt(int64(h.MaxAge/time.Second), 10)
	if h.IncludeSubDomains {
		v += "; includeSubDomains"
	}
	if h.Preload {
		v += "; preload"
	}
	return v
}

// Handler adds the Strict-Transport-Security header to every response
// sent over TLS (RFC 6797 forbids it over plain HTTP). A zero policy
// returns next.
func (h HSTS) Handler(next http.Handler) http.Handler {
	if h.MaxAge <= 0 {
		return next
	}
	value := h.Value()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", value)
		}
		next.ServeHTTP(w, r)
	})
}
