package logconfig

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func entry() *Entry {
	r := httptest.NewRequest("GET", "http://example.org/a%20b?x=1", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("User-Agent", "ua")
	r.Header.Set("Cookie", "session=SECRET")
	r.Header.Set("Authorization", "Basic SECRET")
	h := http.Header{}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Set-Cookie", "session=SECRET")
	return &Entry{
		Request: r, Peer: "203.0.113.9:5555", Local: "10.0.0.1:8443", ServerName: "www", PID: 42,
		User: "alice", HasUser: true, Status: 404, Bytes: 1234,
		Start:    time.Date(2026, 3, 4, 5, 6, 7, 890123000, time.FixedZone("X", -(3*3600+30*60))),
		Duration: 1500 * time.Millisecond, Header: h,
	}
}

func TestAppend(t *testing.T) {
	t.Parallel()
	tests := []struct{ format, want string }{
		{"%h %{c}h %a %{c}a %A", "192.0.2.7 203.0.113.9 192.0.2.7 203.0.113.9 10.0.0.1"},
		{`%t`, "[04/Mar/2026:05:06:07 -0330]"},
		{`%{end:%H:%M:%S}t %{sec}t %{msec_frac}t %{usec_frac}t %{%j %e %u %w %s}t`, "05:06:09 1772613367 890 890123 063  4 3 3 1772613367"},
		{`"%r" %>s %b %B %D %T %{ms}T`, `"GET http://example.org/a%20b?x=1 HTTP/1.1" 404 1234 1234 1500000 1 1500`},
		{`%u %l %m %U%q %H %v %V %p %{local}p %{remote}p %P`, "alice - GET /a b?x=1 HTTP/1.1 www example.org 80 8443 5555 42"},
		{`%{User-agent}i|%{Missing}i|%{Content-Type}o|%{X}o`, "ua|-|text/html|-"},
		{`%404{User-agent}i %!404{User-agent}i %200,404s %!200,304s`, "ua - 404 404"},
		{`a\tb\nc\\d\qe %%`, "a\tb\nc\\d\\qe %"},
		{`%<s %>s %,404s`, "404 404 404"},
	}
	for _, tt := range tests {
		f, err := Compile(tt.format)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.format, err)
		}
		if got := string(f.Append(nil, entry())); got != tt.want {
			t.Errorf("%q:\n got  %q\n want %q", tt.format, got, tt.want)
		}
	}
}

func TestUserField(t *testing.T) {
	t.Parallel()
	f, _ := Compile("%u")
	e := entry()
	for _, tt := range []struct {
		user string
		has  bool
		want string
	}{{"", false, "-"}, {"", true, `""`}, {"a b\"\x01ü", true, `a b\"\x01\xc3\xbc`}} {
		e.User, e.HasUser = tt.user, tt.has
		if got := string(f.Append(nil, e)); got != tt.want {
			t.Errorf("%q %v: %q, want %q", tt.user, tt.has, got, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ format, want string }{
		{"%", "lone %"},
		{"%{User-agent", "no closing }"},
		{"%{x}", "not finished"},
		{"%Z", "unrecognized LogFormat directive %Z"},
		{"%k", "%k (the keep-alive request count) is an Apache directive websession does not support"},
		{"%i", "needs a header name"},
		{"%{Cookie}i", "session cookies"},
		{"%{authorization}i", "passwords"},
		{"%{Set-Cookie}o", "session cookies"},
		{"%{session}C", "%C would write cookie values"},
		{"%{x}T", "unit must be s, ms or us"},
		{"%{%Q}t", "strftime conversion %Q is not supported"},
		{"%{%}t", "lone %"},
		{"%{x}a", "only be c"},
		{"%{bad}p", "canonical, local or remote"},
		{"%{tid}P", "only pid"},
		{"%1000s", "not a status code"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.format)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compile(%q) = %v, want an error containing %q", tt.format, err, tt.want)
		}
	}
}

func TestHandlerWritesLinesAndReopens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	lf, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	f, _ := Compile(Nicknames["combined"] + " %{Cookie}n")
	if f != nil {
		t.Fatal("%n accepted")
	}
	f, _ = Compile(Nicknames["combined"])
	h := Handler(Options{Logs: []Log{{Format: f, File: lf}}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetUser(r, "bob")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("hello"))
	}))
	r := httptest.NewRequest("POST", "/x", nil)
	r.Header.Set("Cookie", "session=SECRET")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := lf.Reopen(); err != nil {
		t.Fatal(err)
	}
	h.ServeHTTP(httptest.NewRecorder(), r)
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	for _, b := range [][]byte{old, cur} {
		line := string(b)
		if !strings.HasPrefix(line, "192.0.2.1 - bob [") || !strings.HasSuffix(line, `] "POST /x HTTP/1.1" 201 5 "-" "-"`+"\n") {
			t.Errorf("line %q", line)
		}
		if strings.Contains(line, "SECRET") {
			t.Errorf("cookie value logged: %q", line)
		}
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	os.Remove(path)
	if os.Geteuid() != 0 {
		if err := lf.Reopen(); err == nil {
			t.Error("Reopen in a read-only folder succeeded")
		}
		// The old file stays in use.
		if err := lf.Write([]byte("x\n")); err != nil {
			t.Error(err)
		}
	}
}

func TestOpenFileError(t *testing.T) {
	t.Parallel()
	_, err := OpenFile(filepath.Join(t.TempDir(), "no", "such", "access.log"))
	if err == nil || !strings.Contains(err.Error(), "cannot open") {
		t.Errorf("OpenFile = %v", err)
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{Nicknames["combined"], "%{%Y}t", "%!200,304{Referer}i", `\n%%\t`, "%{end:msec}t", "%<{x}o", "%{c}a %{c}h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, format string) {
		fm, err := Compile(format)
		if err != nil {
			if fm != nil {
				t.Fatal("format and error")
			}
			return
		}
		out := fm.Append(nil, entry())
		if strings.Contains(string(out), "SECRET") {
			t.Fatal("secret in output")
		}
	})
}
