package config

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/websession/websession/internal/authzhost"
	"github.com/websession/websession/internal/logconfig"
	"github.com/websession/websession/internal/remoteip"
	"github.com/websession/websession/internal/ssl"
)

// Listener is one Listen line.
type Listener struct {
	Addr  string // host:port, ":port" for all addresses
	HTTPS bool   // "Listen ADDR https"
	Line  int
}

// SSLConfig is the mod_ssl subset: one certificate for every https
// listener. The Line fields say where each directive was, so that a file
// that does not load at start-up is reported there.
type SSLConfig struct {
	Engine                 bool // SSLEngine On
	EngineLine             int
	CertificateFile        string // absolute
	CertificateFileLine    int
	CertificateKeyFile     string // absolute; the certificate file when not given
	CertificateKeyFileLine int
	// HSTS is sent on TLS responses, default max-age one day.
	// websession extension: SSLStrictTransportSecurity.
	HSTS ssl.HSTS
}

// CustomLog is one CustomLog line.
type CustomLog struct {
	File   string // absolute
	Format *logconfig.Format
	Line   int
}

// frontDoorDirectives are the server-level directives of an internet-facing
// server: mod_ssl, mod_remoteip, mod_log_config.
var frontDoorDirectives = []*directive{
	{name: "Listen", scope: serverOnly, min: 1, max: 2, usage: "[address:]port [http|https]", fn: func(p *parser, a []string) error {
		https := false
		if len(a) == 2 {
			switch strings.ToLower(a[1]) {
			case "http":
			case "https":
				https = true
			default:
				return p.fail("protocol %q is not supported; give http or https", a[1])
			}
		}
		addr, err := ListenAddress(a[0])
		if err != nil {
			return p.fail("%v", err)
		}
		_, port, _ := net.SplitHostPort(addr)
		for _, l := range p.cfg.Listeners {
			if l.Addr == addr && port != "0" {
				return p.fail("%s is already given on line %d; listen on each address once", addr, l.Line)
			}
		}
		if len(p.cfg.Listeners) == 0 {
			p.cfg.Listen = addr
		}
		p.cfg.Listeners = append(p.cfg.Listeners, Listener{Addr: addr, HTTPS: https, Line: p.line})
		return nil
	}},
	{name: "SSLEngine", scope: serverOnly, min: 1, max: 1, usage: "On|Off", fn: func(p *parser, a []string) error {
		v, err := p.onOff(a[0])
		p.cfg.SSL.Engine, p.cfg.SSL.EngineLine = v, p.line
		return err
	}},
	{name: "SSLCertificateFile", scope: serverOnly, min: 1, max: 1, usage: "file (PEM, the server's certificate first, then its chain)", fn: func(p *parser, a []string) error {
		p.cfg.SSL.CertificateFile, p.cfg.SSL.CertificateFileLine = p.path(a[0]), p.line
		return nil
	}},
	{name: "SSLCertificateKeyFile", scope: serverOnly, min: 1, max: 1, usage: "file (PEM private key)", fn: func(p *parser, a []string) error {
		p.cfg.SSL.CertificateKeyFile, p.cfg.SSL.CertificateKeyFileLine = p.path(a[0]), p.line
		return nil
	}},
	{name: "SSLStrictTransportSecurity", scope: serverOnly, min: 1, max: 3, usage: "max-age=SECONDS [includeSubDomains] [preload] | Off", fn: func(p *parser, a []string) error {
		if len(a) == 1 && strings.EqualFold(a[0], "off") {
			p.cfg.SSL.HSTS = ssl.HSTS{}
			return nil
		}
		v, ok := strings.CutPrefix(strings.ToLower(a[0]), "max-age=")
		if !ok {
			return p.fail("%q: start with max-age=SECONDS, e.g. max-age=31536000, or give Off", a[0])
		}
		n, err := p.seconds(v)
		if err != nil {
			return err
		}
		if n == 0 {
			return p.fail("max-age=0 tells browsers to forget the policy; give at least 1 second, or Off to send none")
		}
		h := ssl.HSTS{MaxAge: time.Duration(n) * time.Second}
		for _, w := range a[1:] {
			switch strings.ToLower(w) {
			case "includesubdomains":
				h.IncludeSubDomains = true
			case "preload":
				h.Preload = true
			default:
				return p.fail("%q is not includeSubDomains or preload", w)
			}
		}
		p.cfg.SSL.HSTS = h
		return nil
	}},
	{name: "RemoteIPHeader", scope: serverOnly, min: 1, max: 1, usage: "header-name, e.g. X-Forwarded-For", fn: func(p *parser, a []string) error {
		p.cfg.RemoteIP.Header, p.remoteIPAt = a[0], p.line
		return nil
	}},
	{name: "RemoteIPTrustedProxy", scope: serverOnly, min: 1, max: -1, usage: "address|CIDR ...", fn: func(p *parser, a []string) error {
		return p.proxies(a, false)
	}},
	{name: "RemoteIPInternalProxy", scope: serverOnly, min: 1, max: -1, usage: "address|CIDR ...", fn: func(p *parser, a []string) error {
		return p.proxies(a, true)
	}},
	{name: "LogFormat", scope: serverOnly, min: 1, max: 2, usage: `"format" nickname`, fn: func(p *parser, a []string) error {
		if len(a) == 1 {
			return p.fail("give a nickname after the format, e.g. LogFormat \"%%h %%l %%u %%t \\\"%%r\\\" %%>s %%b\" common, and name it in CustomLog")
		}
		f, err := logconfig.Compile(a[0])
		if err != nil {
			return p.fail("%v", err)
		}
		if p.logFormats == nil {
			p.logFormats = map[string]*logconfig.Format{}
		}
		p.logFormats[a[1]] = f
		return nil
	}},
	{name: "CustomLog", scope: serverOnly, min: 2, max: 3, usage: `file "format"|nickname`, fn: func(p *parser, a []string) error {
		if strings.HasPrefix(a[0], "|") {
			return p.fail("piped logs are not supported; give a file, and rotate it with logrotate and a SIGHUP")
		}
		if len(a) == 3 {
			return p.fail("conditional logging (%s) is not supported; remove it", a[2])
		}
		p.cfg.CustomLogs = append(p.cfg.CustomLogs, CustomLog{File: p.path(a[0]), Line: p.line})
		p.customLogFormats = append(p.customLogFormats, a[1])
		return nil
	}},
}

func (p *parser) proxies(a []string, internal bool) error {
	if p.proxyAt == 0 {
		p.proxyAt, p.proxyName = p.line, p.name
	}
	for _, s := range a {
		pr, err := remoteip.ParseProxy(s, internal)
		if err != nil {
			return p.fail("%v", err)
		}
		p.cfg.RemoteIP.Proxies = append(p.cfg.RemoteIP.Proxies, pr)
	}
	return nil
}

// requireIP parses the networks of "Require ip".
func (p *parser) requireIP(a []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range a {
		n, err := authzhost.ParseNetwork(s)
		if err != nil {
			return nil, p.fail("%v", err)
		}
		out = append(out, n)
	}
	return out, nil
}

// finishFrontDoor resolves CustomLog nicknames (LogFormat may come after
// CustomLog, as in httpd) and checks that the TLS and proxy directives
// make a whole.
func (p *parser) finishFrontDoor() error {
	p.name = "CustomLog"
	for i, name := range p.customLogFormats {
		cl := &p.cfg.CustomLogs[i]
		p.line = cl.Line
		if f, ok := p.logFormats[name]; ok {
			cl.Format = f
			continue
		}
		if def, ok := logconfig.Nicknames[name]; ok {
			cl.Format, _ = logconfig.Compile(def)
			continue
		}
		if !strings.Contains(name, "%") {
			return p.fail("no LogFormat has the nickname %q; define it (LogFormat \"...\" %s), use common or combined, or give a format string", name, name)
		}
		f, err := logconfig.Compile(name)
		if err != nil {
			return p.fail("%v", err)
		}
		cl.Format = f
	}

	ssl := &p.cfg.SSL
	var https *Listener
	for i := range p.cfg.Listeners {
		if p.cfg.Listeners[i].HTTPS {
			https = &p.cfg.Listeners[i]
			break
		}
	}
	switch {
	case https != nil && !ssl.Engine:
		p.line, p.name = https.Line, "Listen"
		return p.fail("%s https needs SSLEngine On, SSLCertificateFile and SSLCertificateKeyFile", https.Addr)
	case ssl.Engine && https == nil:
		p.line, p.name = ssl.EngineLine, "SSLEngine"
		return p.fail("no Listen line says https; add one, e.g. Listen 443 https")
	case ssl.Engine && ssl.CertificateFile == "":
		p.line, p.name = ssl.EngineLine, "SSLEngine"
		return p.fail("On needs SSLCertificateFile (PEM certificate chain) and SSLCertificateKeyFile (its key)")
	}
	if ssl.CertificateKeyFile == "" {
		// As mod_ssl: the key may sit in the certificate file.
		ssl.CertificateKeyFile, ssl.CertificateKeyFileLine = ssl.CertificateFile, ssl.CertificateFileLine
	}

	ri := &p.cfg.RemoteIP
	switch {
	case ri.Header != "" && len(ri.Proxies) == 0:
		p.line, p.name = p.remoteIPAt, "RemoteIPHeader"
		return p.fail("no RemoteIPTrustedProxy or RemoteIPInternalProxy: give the address of your proxy, or any client could choose its own address")
	case ri.Header == "" && len(ri.Proxies) > 0:
		p.line, p.name = p.proxyAt, p.proxyName
		return p.fail("no RemoteIPHeader names the header the proxy sends; add RemoteIPHeader X-Forwarded-For")
	}
	return nil
}
