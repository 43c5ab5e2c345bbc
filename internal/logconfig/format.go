package logconfig

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Nicknames are the LogFormat nicknames every configuration has, with the
// definitions Apache's own configuration files give them.
var Nicknames = map[string]string{
	"common":   `%h %l %u %t "%r" %>s %b`,
	"combined": `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`,
}

// Format is a compiled LogFormat string. It is immutable and safe for
// concurrent use.
type Format struct {
	src   string
	items []item
}

// String returns the format string it was compiled from.
func (f *Format) String() string { return f.src }

// item is one piece of a format: literal text, or a % directive with its
// {argument} and status conditions.
type item struct {
	literal string
	fn      func(b []byte, e *Entry, arg string) []byte
	arg     string
	conds   []int // status codes; nil means always
	negate  bool  // "!" before the codes: log unless the status is listed
}

// Compile compiles a LogFormat string as mod_log_config parses it:
// literal text with \n, \t, \r and \\ escapes, and % directives with an
// optional "!" and comma-separated status codes, "<" or ">", and a
// {argument}. Directives that would put a session cookie or a password
// into the log (%C, %{Cookie}i, %{Authorization}i, %{Set-Cookie}o) are
// refused.
func Compile(format string) (*Format, error) {
	f := &Format{src: format}
	s := format
	for s != "" {
		if s[0] != '%' {
			i := strings.IndexByte(s, '%')
			if i < 0 {
				i = len(s)
			}
			f.items = append(f.items, item{literal: unescapeLiteral(s[:i])})
			s = s[i:]
			continue
		}
		it, rest, err := parseDirective(s[1:])
		if err != nil {
			return nil, err
		}
		f.items = append(f.items, it)
		s = rest
	}
	return f, nil
}

// unescapeLiteral applies mod_log_config's backslash escapes; any other
// backslash is kept.
func unescapeLiteral(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '\\':
			b.WriteByte('\\')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		default:
			b.WriteByte('\\')
			continue
		}
		i++
	}
	return b.String()
}

// unsupported are Apache directives websession knows but cannot fill in.
var unsupported = map[byte]string{
	'e': "environment variables",
	'f': "the file name a request maps to",
	'k': "the keep-alive request count",
	'L': "the error log id",
	'n': "module notes",
	'R': "the handler",
	'X': "the connection status",
	'I': "bytes received including headers (mod_logio)",
	'O': "bytes sent including headers (mod_logio)",
	'S': "bytes transferred (mod_logio)",
}

// secretHeaders are request and response headers that carry session
// cookies or passwords; logging them is refused.
var secretHeaders = map[string]bool{
	"cookie": true, "cookie2": true, "authorization": true, "proxy-authorization": true,
	"set-cookie": true, "set-cookie2": true,
}

func parseDirective(s string) (item, string, error) {
	var it item
	if s == "" {
		return it, "", fmt.Errorf("the format ends with a lone %%; write %%%% for a literal %%")
	}
	if s[0] == '%' {
		it.literal = "%"
		return it, s[1:], nil
	}
	for {
		if s == "" {
			return it, "", fmt.Errorf("a %% directive is not finished at the end of the format; add its letter, e.g. %%{User-agent}i")
		}
		c := s[0]
		switch {
		case c == '!':
			it.negate = !it.negate
			s = s[1:]
		case c == '<' || c == '>' || c == ',':
			// The original and the final status are the same in
			// websession: it makes no internal redirects that change it.
			s = s[1:]
		case c == '{':
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return it, "", fmt.Errorf("%q has no closing }", "%"+s)
			}
			it.arg, s = s[1:end], s[end+1:]
		case c >= '0' && c <= '9':
			n := 0
			for s != "" && s[0] >= '0' && s[0] <= '9' {
				n = n*10 + int(s[0]-'0')
				if n > 999 {
					return it, "", fmt.Errorf("status condition in %q is not a status code; give codes from 100 to 999", "%"+s)
				}
				s = s[1:]
			}
			it.conds = append(it.conds, n)
		default:
			if err := it.bind(c); err != nil {
				return it, "", err
			}
			return it, s[1:], nil
		}
	}
}

// bind sets the function of directive letter c, checking its argument.
func (it *item) bind(c byte) error {
	switch c {
	case 'a':
		it.fn = clientIP
		if it.arg == "c" {
			it.fn = peerIP
		} else if it.arg != "" {
			return fmt.Errorf("%%{%s}a: the argument may only be c (the peer's address)", it.arg)
		}
	case 'h':
		it.fn = clientIP
		if it.arg == "c" {
			it.fn = peerIP
		}
	case 'A':
		it.fn = localIP
	case 'b':
		it.fn = bytesCLF
	case 'B':
		it.fn = bytesSent
	case 'D':
		it.fn = durationMicros
	case 'T':
		switch it.arg {
		case "", "s":
			it.fn = durationSeconds
		case "ms":
			it.fn = durationMillis
		case "us":
			it.fn = durationMicros
		default:
			return fmt.Errorf("%%{%s}T: the unit must be s, ms or us", it.arg)
		}
	case 'H':
		it.fn = protocol
	case 'i':
		if it.arg == "" {
			return fmt.Errorf("%%i needs a header name, e.g. %%{User-agent}i")
		}
		if secretHeaders[strings.ToLower(it.arg)] {
			return fmt.Errorf("%%{%s}i would write session cookies or passwords into the log; websession refuses it, remove it", it.arg)
		}
		it.fn = headerIn
	case 'o':
		if it.arg == "" {
			return fmt.Errorf("%%o needs a header name, e.g. %%{Content-Type}o")
		}
		if secretHeaders[strings.ToLower(it.arg)] {
			return fmt.Errorf("%%{%s}o would write session cookies into the log; websession refuses it, remove it", it.arg)
		}
		it.fn = headerOut
	case 'C':
		return fmt.Errorf("%%C would write cookie values, among them the session, into the log; websession refuses it, remove it")
	case 'l':
		it.fn = dash
	case 'm':
		it.fn = method
	case 'p':
		switch it.arg {
		case "", "canonical":
			it.fn = canonicalPort
		case "local":
			it.fn = localPort
		case "remote":
			it.fn = remotePort
		default:
			return fmt.Errorf("%%{%s}p: the argument must be canonical, local or remote", it.arg)
		}
	case 'P':
		if it.arg != "" && it.arg != "pid" {
			return fmt.Errorf("%%{%s}P: only pid is supported (Go has no thread ids to log)", it.arg)
		}
		it.fn = pid
	case 'q':
		it.fn = query
	case 'r':
		it.fn = requestLine
	case 's':
		it.fn = status
	case 't':
		return it.bindTime()
	case 'u':
		it.fn = user
	case 'U':
		it.fn = urlPath
	case 'v':
		it.fn = serverName
	case 'V':
		it.fn = hostName
	default:
		if what, ok := unsupported[c]; ok {
			return fmt.Errorf("%%%c (%s) is an Apache directive websession does not support; remove it", c, what)
		}
		return fmt.Errorf("unrecognized LogFormat directive %%%c; see the mod_log_config manual for the list", c)
	}
	return nil
}

// Entry is what one request leaves for the access log.
type Entry struct {
	Request *http.Request
	// Peer is the address the connection came from, host:port; the
	// request's RemoteAddr is the client's (mod_remoteip may have replaced
	// it).
	Peer string
	// Local is the server's address of the connection, host:port.
	Local string
	// ServerName is %v.
	ServerName string
	// PID is %P.
	PID int
	// User is the authenticated user; HasUser is false for none ("-").
	User    string
	HasUser bool
	Status  int
	Bytes   int64
	Start   time.Time
	// Duration is from Start to the end of the response.
	Duration time.Duration
	// Header is the response header.
	Header http.Header
}

// Append appends the log line of e, without the newline, to b.
func (f *Format) Append(b []byte, e *Entry) []byte {
	for i := range f.items {
		it := &f.items[i]
		if it.fn == nil {
			b = append(b, it.literal...)
			continue
		}
		if it.conds != nil && slicesContains(it.conds, e.Status) == it.negate {
			b = append(b, '-')
			continue
		}
		b = it.fn(b, e, it.arg)
	}
	return b
}

func slicesContains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// appendEscaped appends s as ap_escape_logitem escapes it: '"' and '\'
// get a backslash, \b \n \r \t \v their C escapes, and every other byte
// outside printable ASCII becomes \xhh.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20 && c < 0x7f:
			b = append(b, c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\v':
			b = append(b, '\\', 'v')
		default:
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
		}
	}
	return b
}

func host(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

func port(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return p
}

func orDash(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendEscaped(b, s)
}

func dash(b []byte, _ *Entry, _ string) []byte { return append(b, '-') }

func clientIP(b []byte, e *Entry, _ string) []byte {
	return orDash(b, host(e.Request.RemoteAddr))
}

func peerIP(b []byte, e *Entry, _ string) []byte { return orDash(b, host(e.Peer)) }

func localIP(b []byte, e *Entry, _ string) []byte { return orDash(b, host(e.Local)) }

func bytesCLF(b []byte, e *Entry, _ string) []byte {
	if e.Bytes == 0 {
		return append(b, '-')
	}
	return strconv.AppendInt(b, e.Bytes, 10)
}

func bytesSent(b []byte, e *Entry, _ string) []byte { return strconv.AppendInt(b, e.Bytes, 10) }

func durationMicros(b []byte, e *Entry, _ string) []byte {
	return strconv.AppendInt(b, e.Duration.Microseconds(), 10)
}

func durationMillis(b []byte, e *Entry, _ string) []byte {
	return strconv.AppendInt(b, e.Duration.Milliseconds(), 10)
}

func durationSeconds(b []byte, e *Entry, _ string) []byte {
	return strconv.AppendInt(b, int64(e.Duration/time.Second), 10)
}

func protocol(b []byte, e *Entry, _ string) []byte { return appendEscaped(b, e.Request.Proto) }

func method(b []byte, e *Entry, _ string) []byte { return appendEscaped(b, e.Request.Method) }

// headerIn is a request header; httpd merges repeated headers with ", ".
// Go keeps Host apart from the others.
func headerIn(b []byte, e *Entry, name string) []byte {
	if strings.EqualFold(name, "Host") {
		return orDash(b, e.Request.Host)
	}
	v := e.Request.Header.Values(name)
	if v == nil {
		return append(b, '-')
	}
	return appendEscaped(b, strings.Join(v, ", "))
}

// headerOut is a response header, its first value as apr_table_get finds
// it; Content-Type without its parameters, as httpd logs r->content_type.
func headerOut(b []byte, e *Entry, name string) []byte {
	v := e.Header.Values(name)
	if v == nil {
		return append(b, '-')
	}
	s := v[0]
	if strings.EqualFold(name, "Content-Type") {
		s, _, _ = strings.Cut(s, ";")
		s = strings.TrimRight(s, " \t")
	}
	return appendEscaped(b, s)
}

// canonicalPort is httpd's %p: the port of ServerName, which websession
// does not have, so the scheme's default port.
func canonicalPort(b []byte, e *Entry, _ string) []byte {
	if e.Request.TLS != nil {
		return append(b, "443"...)
	}
	return append(b, "80"...)
}

func localPort(b []byte, e *Entry, _ string) []byte { return orDash(b, port(e.Local)) }

func remotePort(b []byte, e *Entry, _ string) []byte { return orDash(b, port(e.Peer)) }

func pid(b []byte, e *Entry, _ string) []byte { return strconv.AppendInt(b, int64(e.PID), 10) }

func query(b []byte, e *Entry, _ string) []byte {
	u := e.Request.URL
	if u.RawQuery == "" && !u.ForceQuery {
		return b
	}
	return appendEscaped(append(b, '?'), u.RawQuery)
}

// requestLine is httpd's r->the_request, the first line of the request.
func requestLine(b []byte, e *Entry, _ string) []byte {
	r := e.Request
	b = appendEscaped(b, r.Method)
	b = append(b, ' ')
	b = appendEscaped(b, r.RequestURI)
	b = append(b, ' ')
	return appendEscaped(b, r.Proto)
}

func status(b []byte, e *Entry, _ string) []byte { return strconv.AppendInt(b, int64(e.Status), 10) }

// user is %u: "-" for none, "" quoted for an empty name, as httpd writes.
func user(b []byte, e *Entry, _ string) []byte {
	switch {
	case !e.HasUser:
		return append(b, '-')
	case e.User == "":
		return append(b, `""`...)
	}
	return appendEscaped(b, e.User)
}

func urlPath(b []byte, e *Entry, _ string) []byte { return orDash(b, e.Request.URL.Path) }

func serverName(b []byte, e *Entry, _ string) []byte { return orDash(b, e.ServerName) }

// hostName is %V with UseCanonicalName Off: the Host header's host, lower
// case, else the server name.
func hostName(b []byte, e *Entry, _ string) []byte {
	h := e.Request.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	if h == "" {
		return orDash(b, e.ServerName)
	}
	return appendEscaped(b, strings.ToLower(h))
}
