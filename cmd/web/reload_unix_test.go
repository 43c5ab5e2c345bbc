//go:build unix

package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// hangUp sends SIGHUP and waits until the log says the reload is done:
// the want-th "configuration reloaded", or, when refused is set, one
// more refusal. It returns the log lines the reload added.
func (p *webProcess) hangUp(want int, refused string) string {
	p.t.Helper()
	before := p.stderr.String()
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		log := p.stderr.String()
		done := strings.Count(log, "configuration reloaded") >= want
		if refused != "" {
			done = strings.Count(log, "reload refused") > strings.Count(before, "reload refused")
		}
		if done {
			return log[len(before):]
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no reload within 30s of SIGHUP:\n%s", log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// getWithSession GETs path with only the session cookie given (no jar, so the
// cookie a response sets never replaces the one under test).
func getWithSession(client *http.Client, base, path, session string) (int, error) {
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		return 0, err
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: session})
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, err
}

// sessionCookie is the session cookie v's jar holds.
func sessionCookie(t *testing.T, v *visitor) string {
	t.Helper()
	u, _ := url.Parse(v.base)
	for _, c := range v.client.Jar.Cookies(u) {
		if c.Name == "session" {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// load requests the private page with one logged-in session and the home
// page from several goroutines until stop, half of them on a new
// connection each time, and counts the answers that were not 200.
type load struct {
	done, failed atomic.Int64
	mu           sync.Mutex
	errs         []string
	stop         chan struct{}
	wg           sync.WaitGroup
}

func startLoad(base, session string, workers int) *load {
	l := &load{stop: make(chan struct{})}
	for i := range workers {
		client := &http.Client{Timeout: 30 * time.Second,
			Transport:     &http.Transport{DisableKeepAlives: i%2 == 0},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		l.wg.Go(func() {
			defer client.CloseIdleConnections()
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				path := "/private/"
				if n%2 == 1 {
					path = "/"
				}
				code, err := getWithSession(client, base, path, session)
				if err != nil || code != http.StatusOK {
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.errs) < 10 {
						l.errs = append(l.errs, fmt.Sprintf("GET %s: %d %v", path, code, err))
					}
					l.mu.Unlock()
				}
				l.done.Add(1)
			}
		})
	}
	return l
}

// advance waits until n more requests have been answered, so that the
// load overlapped what came before.
func (l *load) advance(t *testing.T, n int64) {
	t.Helper()
	target := l.done.Load() + n
	deadline := time.Now().Add(30 * time.Second)
	for l.done.Load() < target {
		if time.Now().After(deadline) {
			t.Fatalf("the load stalled at %d requests", l.done.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// finish stops the load and reports how many requests it made.
func (l *load) finish(t *testing.T) int64 {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if f := l.failed.Load(); f > 0 {
		t.Errorf("%d of %d requests failed across the reloads: %v", f, l.done.Load(), l.errs)
	}
	return l.done.Load()
}

// TestReloadUnderLoad runs the built web binary on the default site and
// sends it SIGHUP several times under concurrent requests: not one may
// fail. A configuration that does not load is refused with its line in the
// log while the old one keeps serving, and a passphrase rotated in the
// passphrase file takes effect without a restart: the old passphrase
// still decrypts the cookies made with it, and new cookies are made with
// the new one.
func TestReloadUnderLoad(t *testing.T) {
	t.Parallel()
	bin := buildWeb(t)
	root := serverRoot(t)
	conf := filepath.Join(root, "configs", "default.conf")
	good, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	good = append(good, "CustomLog logs/access.log combined\n"...)
	if err := os.WriteFile(conf, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := startWeb(t, bin, root, nil, "-config", "configs/default.conf", "-listen", "127.0.0.1:0")

	erin := newVisitor(t, p.base)
	res, _ := erin.post("/register", url.Values{"username": {"erin"}, "password": {"correct horse"}, "confirm": {"correct horse"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	old := sessionCookie(t, erin) // made with the generated passphrase

	l := startLoad(p.base, old, 4)
	l.advance(t, 50)
	reloads := 0
	for range 3 {
		reloads++
		p.hangUp(reloads, "")
		l.advance(t, 50)
	}

	// logrotate moves the log away, then SIGHUP reopens it, while a login
	// is in flight: the login finishes on the configuration it started on
	// and is logged, with its user, in the file that configuration opened.
	logs := filepath.Join(root, "logs")
	if err := os.Rename(filepath.Join(logs, "access.log"), filepath.Join(logs, "access.log.1")); err != nil {
		t.Fatal(err)
	}
	reloads++
	slowLogin(t, p, reloads)
	l.advance(t, 50)
	rotated, _ := os.ReadFile(filepath.Join(logs, "access.log.1"))
	if !regexp.MustCompile(`(?m)^127\.0\.0\.1 - erin \[[^]]+\] "POST /login HTTP/1\.1" 302 `).Match(rotated) {
		t.Errorf("the login in flight is not in the rotated log:\n%s", rotated)
	}
	waitFor(t, filepath.Join(logs, "access.log"), `"GET /private/ HTTP/1.1" 200`)
	if strings.Contains(p.stderr.String(), "access log not written") {
		t.Errorf("an access log line was lost:\n%s", p.stderr)
	}

	// A configuration that does not load: refused, named at its line,
	// and the running one keeps answering.
	broken := strings.Replace(string(good), "SessionMaxAge 3600\n", "SessionMaxAge soon\n", 1)
	if broken == string(good) {
		t.Fatal("default.conf has no SessionMaxAge 3600 line")
	}
	line := 1 + strings.Count(broken[:strings.Index(broken, "SessionMaxAge soon")], "\n")
	if err := os.WriteFile(conf, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	added := p.hangUp(0, "refused")
	if want := fmt.Sprintf("configs/default.conf:%d: SessionMaxAge: ", line); !strings.Contains(added, want) {
		t.Errorf("the refused reload does not name %s:\n%s", want, added)
	}
	l.advance(t, 50)
	if err := os.WriteFile(conf, good, 0o644); err != nil {
		t.Fatal(err)
	}

	// Rotation: a new first passphrase, the old one after it.
	passFile := filepath.Join(root, "data", "passphrase")
	oldPass, err := os.ReadFile(passFile)
	if err != nil {
		t.Fatal(err)
	}
	const fresh = "a-new-passphrase-for-the-test"
	if err := os.WriteFile(passFile, append([]byte(fresh+"\n"), oldPass...), 0o600); err != nil {
		t.Fatal(err)
	}
	reloads++
	p.hangUp(reloads, "")
	l.advance(t, 50)
	n := l.finish(t)
	if n < 300 {
		t.Errorf("only %d requests across the reloads", n)
	}
	t.Logf("%d requests across %d reloads and a refused one, none failed", n, reloads)

	// A new login now gets a cookie made with the new passphrase: once
	// the old passphrase is gone, that cookie still logs in and the old
	// one no longer does.
	again := newVisitor(t, p.base)
	res, _ = again.post("/login", url.Values{"httpd_username": {"erin"}, "httpd_password": {"correct horse"}})
	expect(t, res, http.StatusFound, "/private/")
	renewed := sessionCookie(t, again)
	if err := os.WriteFile(passFile, []byte(fresh+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reloads++
	p.hangUp(reloads, "")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		name, cookie string
		want         int
	}{{"cookie made after the rotation", renewed, http.StatusOK}, {"cookie of the old passphrase", old, http.StatusFound}} {
		if code, err := getWithSession(client, p.base, "/private/", c.cookie); err != nil || code != c.want {
			t.Errorf("%s, with only the new passphrase: %d %v, want %d", c.name, code, err, c.want)
		}
	}
}

// slowLogin starts a login whose form is sent only once the server has
// begun reading it (100 Continue), reloads the server meanwhile as the
// want-th reload, then sends the form: the login must succeed.
func slowLogin(t *testing.T, p *webProcess, want int) {
	t.Helper()
	body, send := io.Pipe()
	req, err := http.NewRequest("POST", p.base+"/login", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Expect", "100-continue")
	reading := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{Got100Continue: func() { close(reading) }}))
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	type answer struct {
		res *http.Response
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := client.Do(req)
		answered <- answer{res, err}
	}()
	select {
	case <-reading:
	case a := <-answered:
		t.Fatalf("the login was answered before its form was sent: %v %v", a.res, a.err)
	case <-time.After(30 * time.Second):
		t.Fatal("no 100 Continue within 30s")
	}
	p.hangUp(want, "")
	go func() {
		send.Write([]byte(url.Values{"httpd_username": {"erin"}, "httpd_password": {"correct horse"}}.Encode()))
		send.Close()
	}()
	a := <-answered
	if a.err != nil {
		t.Fatalf("the login in flight across the reload failed: %v", a.err)
	}
	a.res.Body.Close()
	if a.res.StatusCode != http.StatusFound || a.res.Header.Get("Location") != "/private/" {
		t.Errorf("the login in flight across the reload: %d %s, want 302 /private/", a.res.StatusCode, a.res.Header.Get("Location"))
	}
}
