package config

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/websession/websession/internal/ssl"
)

func TestFrontDoorDirectives(t *testing.T) {
	t.Parallel()
	opts := testOptions(t)
	c := mustParse(t, `Listen 127.0.0.1:8080
Listen 8443 https
SSLEngine on
SSLCertificateFile tls/cert.pem
SSLCertificateKeyFile /etc/tls/key.pem
SSLStrictTransportSecurity max-age=31536000 includeSubDomains
RemoteIPHeader X-Forwarded-For
RemoteIPTrustedProxy 203.0.113.9 198.51.100.0/24
RemoteIPInternalProxy 10.0.0.0/8
CustomLog logs/access.log combined
CustomLog /var/log/ws/mine.log mine
CustomLog logs/inline.log "%h %>s"
LogFormat "%h %u \"%r\"" mine
<Location /metrics>
SetHandler metrics
Require ip 127.0.0.1 10.1
Require ip ::1
</Location>
`, opts)
	root := c.ServerRoot
	if want := []Listener{{"127.0.0.1:8080", false, 1}, {":8443", true, 2}}; !equalListeners(c.Listeners, want) || c.Listen != "127.0.0.1:8080" {
		t.Errorf("Listeners = %v, Listen %q", c.Listeners, c.Listen)
	}
	s := c.SSL
	if !s.Engine || s.CertificateFile != filepath.Join(root, "tls/cert.pem") || s.CertificateFileLine != 4 ||
		s.CertificateKeyFile != "/etc/tls/key.pem" || s.CertificateKeyFileLine != 5 ||
		s.HSTS != (ssl.HSTS{MaxAge: 365 * 24 * time.Hour, IncludeSubDomains: true}) {
		t.Errorf("SSL = %+v", s)
	}
	if c.RemoteIP.Header != "X-Forwarded-For" || len(c.RemoteIP.Proxies) != 3 || !c.RemoteIP.Proxies[2].Internal || c.RemoteIP.Proxies[1].Prefix.String() != "198.51.100.0/24" {
		t.Errorf("RemoteIP = %+v", c.RemoteIP)
	}
	wantLogs := []struct{ file, format string }{
		{filepath.Join(root, "logs/access.log"), `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`},
		{"/var/log/ws/mine.log", `%h %u "%r"`},
		{filepath.Join(root, "logs/inline.log"), `%h %>s`},
	}
	for i, w := range wantLogs {
		if l := c.CustomLogs[i]; l.File != w.file || l.Format.String() != w.format || l.Line != 10+i {
			t.Errorf("CustomLog %d = %s %q line %d, want %s %q", i, l.File, l.Format, l.Line, w.file, w.format)
		}
	}
	m := c.Resolve("/metrics")
	if m.Handler != "metrics" || len(m.Auth.Require.IP) != 3 || m.Auth.Require.IP[1] != netip.MustParsePrefix("10.1.0.0/16") || m.Auth.Require.Any() {
		t.Errorf("/metrics = %q %v", m.Handler, m.Auth.Require)
	}
}

func equalListeners(a, b []Listener) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFrontDoorDefaults(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "SSLStrictTransportSecurity Off\n", testOptions(t))
	if len(c.Listeners) != 1 || c.Listeners[0].Addr != "127.0.0.1:8080" || c.Listeners[0].HTTPS {
		t.Errorf("Listeners = %v", c.Listeners)
	}
	if c.SSL.HSTS != (ssl.HSTS{}) || c.RemoteIP.Header != "" || len(c.CustomLogs) != 0 {
		t.Errorf("defaults: %+v %+v %v", c.SSL, c.RemoteIP, c.CustomLogs)
	}
	if c := mustParse(t, "", testOptions(t)); c.SSL.HSTS.MaxAge != 24*time.Hour {
		t.Errorf("default HSTS %v", c.SSL.HSTS)
	}
	// The key may sit in the certificate file, as in mod_ssl.
	c = mustParse(t, "Listen 443 https\nSSLEngine On\nSSLCertificateFile /tls/both.pem\n", testOptions(t))
	if c.SSL.CertificateKeyFile != "/tls/both.pem" || c.SSL.CertificateKeyFileLine != 3 {
		t.Errorf("key file %q line %d", c.SSL.CertificateKeyFile, c.SSL.CertificateKeyFileLine)
	}
}

func TestFrontDoorErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"Listen 443 https", `site.conf:1: Listen: :443 https needs SSLEngine On, SSLCertificateFile and SSLCertificateKeyFile`},
		{"SSLEngine on\nSSLCertificateFile c.pem", `site.conf:1: SSLEngine: no Listen line says https; add one, e.g. Listen 443 https`},
		{"Listen 443 https\nSSLEngine on", `site.conf:2: SSLEngine: On needs SSLCertificateFile (PEM certificate chain) and SSLCertificateKeyFile (its key)`},
		{"SSLEngine maybe", `site.conf:1: SSLEngine: "maybe" must be On or Off`},
		{"SSLStrictTransportSecurity 3600", `site.conf:1: SSLStrictTransportSecurity: "3600": start with max-age=SECONDS, e.g. max-age=31536000, or give Off`},
		{"SSLStrictTransportSecurity max-age=0", `site.conf:1: SSLStrictTransportSecurity: max-age=0 tells browsers to forget the policy; give at least 1 second, or Off to send none`},
		{"SSLStrictTransportSecurity max-age=60 everything", `site.conf:1: SSLStrictTransportSecurity: "everything" is not includeSubDomains or preload`},
		{"RemoteIPHeader X-Forwarded-For", `site.conf:1: RemoteIPHeader: no RemoteIPTrustedProxy or RemoteIPInternalProxy: give the address of your proxy, or any client could choose its own address`},
		{"RemoteIPInternalProxy 10.0.0.1", `site.conf:1: RemoteIPInternalProxy: no RemoteIPHeader names the header the proxy sends; add RemoteIPHeader X-Forwarded-For`},
		{"RemoteIPHeader X-Forwarded-For\nRemoteIPTrustedProxy proxy.example", `site.conf:2: RemoteIPTrustedProxy: "proxy.example" is not an address or CIDR block, e.g. 10.0.0.1 or 10.0.0.0/8`},
		{`LogFormat "%h %Z" odd`, `site.conf:1: LogFormat: unrecognized LogFormat directive %Z; see the mod_log_config manual for the list`},
		{`LogFormat "%h %{Cookie}i" odd`, `site.conf:1: LogFormat: %{Cookie}i would write session cookies or passwords into the log; websession refuses it, remove it`},
		{`LogFormat "%h"`, `site.conf:1: LogFormat: give a nickname after the format`},
		{"\nCustomLog logs/a.log nosuch", `site.conf:2: CustomLog: no LogFormat has the nickname "nosuch"; define it (LogFormat "..." nosuch), use common or combined, or give a format string`},
		{`CustomLog logs/a.log "%h %k"`, `site.conf:1: CustomLog: %k (the keep-alive request count) is an Apache directive websession does not support; remove it`},
		{`CustomLog "|/usr/bin/rotatelogs x" common`, `site.conf:1: CustomLog: piped logs are not supported; give a file, and rotate it with logrotate and a SIGHUP`},
		{`CustomLog a.log common env=!dontlog`, `site.conf:1: CustomLog: conditional logging (env=!dontlog) is not supported; remove it`},
		{"<Location /m>\nRequire ip 10.0.0.0/33\n</Location>", `site.conf:2: Require: "10.0.0.0/33" is not an address or network; give e.g. 10.1.2.3, 10.1.0.0/16, 10.1 or 2001:db8::/32`},
		{"<Location /m>\nRequire ip 10.0.0.1\nRequire valid-user\n</Location>", `site.conf:3: Require: Require ip and Require user/valid-user in one <Location> are not supported; protect the path with one kind`},
		{"<Location /m>\nRequire user bob\nRequire ip 10.0.0.1\n</Location>", `site.conf:3: Require: Require ip and Require user/valid-user in one <Location> are not supported; protect the path with one kind`},
		{"<Location /m>\nRequire ip\n</Location>", `site.conf:2: Require: "ip" is not supported`},
	}
	for _, tt := range tests {
		_, err := Parse("site.conf", []byte(tt.src), testOptions(t))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q:\n got  %v\n want %s", tt.src, err, tt.want)
		}
	}
}
