package logconfig

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/websession/websession/internal/apachetest"
)

// apacheFormat uses every directive websession supports whose value the
// two servers can agree on, plus the time-dependent ones (masked below).
const apacheFormat = `%h %l %u %t "%r" %>s %b %B "%{Referer}i" "%{User-agent}i" ` +
	`m=%m U=%U q=%q H=%H odd=%{X-Odd}i multi=%{X-Multi}i host=%{Host}i ct=%{Content-Type}o ` +
	`s=%s orig=%<s cond=%400,401{User-agent}i neg=%!200{Referer}i a=%a ca=%{c}a ch=%{c}h A=%A ` +
	`p=%p lp=%{local}p V=%V v=%v date=%{%Y-%m-%d %z|%a %b %e %j|%%}t ` +
	`T=%T Tms=%{ms}T D=%D sec=%{sec}t msec=%{msec}t endus=%{end:usec_frac}t rp=%{remote}p pct=%%`

// masks are the values that must differ between two servers answering
// the same request a moment apart: times, durations, the client's port
// and the local port.
var masks = []*regexp.Regexp{
	regexp.MustCompile(`:\d\d:\d\d:\d\d `),
	regexp.MustCompile(`\b(T|Tms|D|sec|msec|endus|rp|lp)=\d+`),
}

func mask(line string) string {
	for _, m := range masks {
		line = m.ReplaceAllStringFunc(line, func(s string) string {
			if i := strings.IndexByte(s, '='); i >= 0 {
				return s[:i+1] + "#"
			}
			return ":##:##:## "
		})
	}
	return line
}

// TestSameLineAsApache sends the same bytes to a live Apache httpd and to
// websession's Handler, which answers with what Apache answered, and
// compares the two access log lines field for field.
func TestSameLineAsApache(t *testing.T) {
	sum := sha1.Sum([]byte("secret"))
	htpasswd := "alice:{SHA}" + base64.StdEncoding.EncodeToString(sum[:]) + "\n" +
		`al"i\ce:{SHA}` + base64.StdEncoding.EncodeToString(sum[:]) + "\n"
	ap := apachetest.Start(t, apachetest.Config{
		Modules: []string{"auth_basic", "authn_core", "authn_file", "authz_user"},
		Files: map[string]string{
			"htdocs/hello.txt":         "hello\n",
			"htdocs/private/note.txt":  "private\n",
			"htdocs/empty.txt":         "",
			"conf/htpasswd":            htpasswd,
			"htdocs/ünï/cödé.txt":      "unicode\n",
			"htdocs/with space.txt":    "space\n",
			"htdocs/private/index.txt": "index\n",
		},
		Conf: `LogFormat "` + strings.ReplaceAll(apacheFormat, `"`, `\"`) + `" test
CustomLog "${SERVER_ROOT}/logs/access_log" test
<Location /private>
    AuthType Basic
    AuthName private
    AuthBasicProvider file
    AuthUserFile "${SERVER_ROOT}/conf/htpasswd"
    Require valid-user
</Location>
`,
	})
	f, err := Compile(apacheFormat)
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "access_log")
	lf, err := OpenFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()

	// replay answers with Apache's last response, so that status, body
	// size and content type are the same on both sides.
	var last *http.Response
	var lastBody []byte
	replay := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, _, ok := r.BasicAuth(); ok && last.StatusCode != http.StatusUnauthorized {
			SetUser(r, u)
		}
		if ct := last.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(last.StatusCode)
		w.Write(lastBody)
	})
	ws := httptest.NewServer(Handler(Options{Logs: []Log{{Format: f, File: lf}}, ServerName: "127.0.0.1"}, replay))
	defer ws.Close()

	basic := func(u string) string { return base64.StdEncoding.EncodeToString([]byte(u + ":secret")) }
	requests := []string{
		"GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8.0\r\nReferer: http://example.org/a?b=c\r\n",
		"GET /hello.txt?q=a%20b&x=%22y%22 HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: Mozilla/5.0 (X11; \"quoted\" \\ back)\r\nX-Odd: tab\there, ünïcödé\r\nX-Multi: one\r\nX-Multi: two\r\n",
		"HEAD /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n",
		"GET /empty.txt HTTP/1.0\r\n",
		"GET /hello.txt? HTTP/1.1\r\nHost: 127.0.0.1\r\nReferer:\r\n",
		"GET /private/note.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: nobody\r\nReferer: r\r\n",
		"GET /private/note.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic " + basic("alice") + "\r\n",
		"GET /private/index.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic " + basic(`al"i\ce`) + "\r\n",
		"GET /%C3%BCn%C3%AF/c%C3%B6d%C3%A9.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n",
		"GET /with%20space.txt HTTP/1.1\r\nHost: [::1]:99\r\n",
		"GET /missing HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ua\r\n",
	}
	apacheLog := filepath.Join(ap.Root, "logs", "access_log")
	for i, req := range requests {
		raw := req + "Connection: close\r\n\r\n"
		last, lastBody = roundTrip(t, ap.Addr, raw)
		if resp, _ := roundTrip(t, ws.Listener.Addr().String(), raw); resp.StatusCode != last.StatusCode {
			t.Fatalf("request %d: websession answered %d, Apache %d", i, resp.StatusCode, last.StatusCode)
		}
		want := waitLines(t, apacheLog, i+1)[i]
		got := waitLines(t, logPath, i+1)[i]
		if mask(got) != mask(want) {
			t.Errorf("request %d %q:\n apache:     %s\n websession: %s", i, strings.SplitN(req, "\r\n", 2)[0], want, got)
		}
	}
}

func roundTrip(t *testing.T, addr, raw string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(raw, " ")
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// waitLines polls a log file until it has at least n lines: httpd writes
// the line after the response has left.
func waitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) > 0 && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d lines, want %d:\n%s", path, len(lines), n, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
