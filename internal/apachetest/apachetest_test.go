package apachetest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestStartServesStaticFilesAndCGI(t *testing.T) {
	s := Start(t, Config{
		Files:   map[string]string{"htdocs/hello.txt": "hello\n"},
		Scripts: map[string]string{"cgi-bin/env.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nquery=%s\\n' \"$QUERY_STRING\"\n"},
		Conf:    "Header always set X-Test ${PORT}\n",
	})
	tests := []struct {
		path, want string
	}{
		{"/hello.txt", "hello\n"},
		{"/cgi-bin/env.sh?a=1", "query=a=1\n"},
	}
	for _, tt := range tests {
		resp, err := http.Get(s.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != tt.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tt.path, resp.StatusCode, body, tt.want)
		}
		if !strings.HasSuffix(s.Addr, ":"+resp.Header.Get("X-Test")) {
			t.Errorf("X-Test %q: ${PORT} not expanded to the port of %s", resp.Header.Get("X-Test"), s.Addr)
		}
	}
}

func TestStartReportsBadConfig(t *testing.T) {
	if _, _, err := Binary(); err != nil {
		t.Skip(err)
	}
	ft := &fakeTB{TB: t}
	func() {
		defer func() { recover() }()
		Start(ft, Config{Conf: "NoSuchDirective here\n"})
	}()
	if !ft.fatal || !strings.Contains(ft.msg, "NoSuchDirective") {
		t.Fatalf("Start with a bad directive: fatal=%v, message %q", ft.fatal, ft.msg)
	}
}

func TestMissingApacheSkipsUnlessCI(t *testing.T) {
	saved := binaries
	binaries = []string{"/nonexistent/apache2"}
	t.Cleanup(func() { binaries = saved })
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		ft := &fakeTB{TB: t}
		func() {
			defer func() { recover() }()
			Start(ft, Config{})
		}()
		if want := ci == "true"; ft.fatal != want || ft.skipped == want {
			t.Errorf("CI=%q: fatal=%v skipped=%v", ci, ft.fatal, ft.skipped)
		}
	}
}

// fakeTB records Fatal and Skip instead of ending the test.
type fakeTB struct {
	testing.TB
	fatal, skipped bool
	msg            string
}

func (f *fakeTB) Skip(args ...any) {
	f.skipped = true
	panic("skip")
}

func (f *fakeTB) Fatal(args ...any) {
	f.fatal = true
	for _, a := range args {
		if e, ok := a.(error); ok {
			f.msg += e.Error()
		}
	}
	panic("fatal")
}
