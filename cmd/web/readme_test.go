package main

import (
	"bufio"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/websession/websession/internal/pgtest"
)

// documented is one command line of the README: the environment it sets
// and the arguments after "go run ./cmd/web".
type documented struct {
	line string
	env  []string
	args []string
}

// readmeCommands returns the README's indented command lines that run
// `go run ./cmd/web`, split as a shell would split them (single quotes
// only: the README uses no other quoting).
func readmeCommands(t *testing.T) []documented {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var list []documented
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "    ") || !strings.Contains(line, "go run ./cmd/web") {
			continue
		}
		words := shellWords(t, strings.TrimSpace(line))
		d := documented{line: strings.TrimSpace(line)}
		for len(words) > 0 && strings.Contains(words[0], "=") {
			d.env, words = append(d.env, words[0]), words[1:]
		}
		if len(words) < 3 || words[0] != "go" || words[1] != "run" || words[2] != "./cmd/web" {
			t.Fatalf("README: %q: not a go run ./cmd/web command", line)
		}
		d.args = words[3:]
		list = append(list, d)
	}
	return list
}

func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("README: unbalanced quote in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// serveCommand is the README's command that serves configs/NAME ("" for
// the embedded default): no command word after the flags.
func serveCommand(t *testing.T, cmds []documented, name string) documented {
	t.Helper()
	var found []documented
	for _, d := range cmds {
		want := []string{"-config", "configs/" + name}
		if name == "" {
			want = nil
		}
		if strings.Join(d.args, " ") == strings.Join(want, " ") {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		t.Fatalf("the README shows no command that serves %q", "configs/"+name)
	}
	return found[0]
}

// buildWeb builds cmd/web in a copy of the repository, which also proves
// that the copy builds on its own.
func buildWeb(t *testing.T) string {
	t.Helper()
	src := repoCopy(t)
	bin := filepath.Join(src, "web")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/web")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/web in a copy of the repository: %v\n%s", err, out)
	}
	return bin
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startDocumented runs a README command in root, a fresh copy of the
// repository, the way a user would: the same arguments and environment,
// except that it listens on a free port (-listen 127.0.0.1:0), and that
// a DATABASE_URL is replaced by a throwaway test database.
func startDocumented(t *testing.T, bin, root string, d documented) string {
	t.Helper()
	args := append(append([]string{}, d.args...), "-listen", "127.0.0.1:0")
	return startWeb(t, bin, root, documentedEnv(t, d), args...).base
}

// webProcess is the built web binary serving in a copy of the repository.
type webProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *lockedBuffer
	base   string
}

// startWeb runs bin with args in root, with env (nil: this process's), and
// waits for its listening line. The process is stopped, and must exit
// cleanly, when the test ends.
func startWeb(t *testing.T, bin, root string, env []string, args ...string) *webProcess {
	t.Helper()
	p := &webProcess{t: t, cmd: exec.Command(bin, args...), stderr: &lockedBuffer{}}
	p.cmd.Dir = root
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		stopProcess(p.cmd)
		select {
		case err := <-exited:
			if err != nil && runtime.GOOS != "windows" { // stopProcess kills it there
				t.Errorf("web %v stopped with %v\n%s", args, err, p.stderr)
			}
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			t.Errorf("web %v did not stop within 15s of an interrupt", args)
		}
	})
	select {
	case line := <-lines:
		m := listening.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("web %v: first line %q does not say where it listens", args, line)
		}
		p.base = m[1]
	case err := <-exited:
		t.Fatalf("web %v exited before serving: %v\n%s", args, err, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("web %v not serving within 60s\n%s", args, p.stderr)
	}
	return p
}

func documentedEnv(t *testing.T, d documented) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "SESSION_SECRET=") {
			env = append(env, kv)
		}
	}
	for _, kv := range d.env {
		if strings.HasPrefix(kv, "DATABASE_URL=") {
			kv = "DATABASE_URL=" + pgtest.URL(t)
		}
		env = append(env, kv)
	}
	return env
}

// stopProcess asks the server to stop as Ctrl-C would.
func stopProcess(cmd *exec.Cmd) {
	if runtime.GOOS == "windows" {
		cmd.Process.Kill()
		return
	}
	cmd.Process.Signal(os.Interrupt)
}

// runDocumented runs a one-shot README command (such as user add) in root
// with stdin as its input.
func runDocumented(t *testing.T, bin, root string, d documented, stdin string) {
	t.Helper()
	cmd := exec.Command(bin, d.args...)
	cmd.Dir = root
	cmd.Env = documentedEnv(t, d)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", d.line, err, out)
	}
}

// TestShippedConfigurationsAsDocumented starts every configuration in
// configs/, and the embedded default, with the README's command from the
// root of a plain copy of the repository, and uses what each offers.
func TestShippedConfigurationsAsDocumented(t *testing.T) {
	t.Parallel()
	cmds := readmeCommands(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, "configs", "*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configurations in configs/: %v", err)
	}
	checks := map[string]func(t *testing.T, base, root string, bin string){
		"":              checkDefault,
		"default.conf":  checkDefault,
		"postgres.conf": checkSite,
		"cookie.conf":   checkPlainCGI,
		"crypto.conf":   checkEncryptedCGI,
		"inline.conf": func(t *testing.T, base, root, bin string) {
			add := documented{}
			for _, d := range cmds {
				if strings.Join(d.args, " ") == "-config configs/inline.conf user add NAME" {
					add = d
					add.args = append(append([]string{}, d.args[:len(d.args)-1]...), "alice")
				}
			}
			if add.args == nil {
				t.Fatal("the README does not say how to add a user for configs/inline.conf")
			}
			runDocumented(t, bin, root, add, "wonderland\n")
			checkInlineCGI(t, base)
		},
	}
	names := []string{""}
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	bin := buildWeb(t)
	for _, name := range names {
		check, ok := checks[name]
		if !ok {
			t.Errorf("configs/%s: this test does not know what it offers; add a check", name)
			continue
		}
		d := serveCommand(t, cmds, name)
		t.Run(d.line, func(t *testing.T) {
			t.Parallel()
			root := repoCopy(t)
			before := filesUnder(t, root)
			base := startDocumented(t, bin, root, d)
			for _, path := range []string{"/", "/static/site.css", "/static/favicon.svg", "/healthz"} {
				res, err := http.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("GET %s: %s", path, res.Status)
				}
				// What a newcomer's browser and a search engine look for.
				if path == "/" {
					for _, want := range []string{`<link rel="icon" href="/static/favicon.svg"`, `<meta name="description" content="`} {
						if !strings.Contains(string(body), want) {
							t.Errorf("the home page lacks %s", want)
						}
					}
				}
			}
			check(t, base, root, bin)
			// Whatever the run wrote (secrets, users) is kept out of git.
			ignored := gitIgnored(t)
			for rel := range filesUnder(t, root) {
				if !before[rel] && !underIgnored(ignored, rel) {
					t.Errorf("the run wrote %s, which .gitignore does not cover", rel)
				}
			}
		})
	}
}

// checkSite: the whole site journey and the CGI demo the session page
// links to.
func checkSite(t *testing.T, base, _, _ string) {
	siteFlow(t, base)
	b := newVisitor(t, base)
	res, body := b.get("/cgi-bin/session-demo")
	expect(t, res, http.StatusOK, "")
	if !strings.Contains(body, "HTTP_SESSION=") {
		t.Errorf("CGI demo printed %q", body)
	}
}

// checkDefault is checkSite, and the data files the first run made under
// the repository root, private to their owner.
func checkDefault(t *testing.T, base, root, bin string) {
	checkSite(t, base, root, bin)
	for name, want := range map[string]os.FileMode{"data": 0o700 | os.ModeDir, "data/passphrase": 0o600, "data/users.htpasswd": 0o600} {
		fi, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), want)
		}
	}
}

func checkPlainCGI(t *testing.T, base, _, _ string) {
	b := newVisitor(t, base)
	res, _ := b.post("/cgi-bin/session-demo?set=colour=blue", nil)
	expect(t, res, http.StatusOK, "")
	if c := res.Header.Get("Set-Cookie"); !strings.HasPrefix(c, "session=colour=blue;") {
		t.Errorf("Set-Cookie %q", c)
	}
	_, body := b.get("/cgi-bin/session-demo")
	if !strings.Contains(body, "HTTP_SESSION=colour=blue\n") {
		t.Errorf("CGI saw %q", body)
	}
}

func checkEncryptedCGI(t *testing.T, base, _, _ string) {
	b := newVisitor(t, base)
	res, _ := b.post("/cgi-bin/session-demo?set=colour=blue", nil)
	expect(t, res, http.StatusOK, "")
	if c := res.Header.Get("Set-Cookie"); c == "" || strings.Contains(c, "colour") {
		t.Errorf("Set-Cookie %q: want an encrypted cookie", c)
	}
	_, body := b.get("/cgi-bin/session-demo")
	if !strings.Contains(body, "HTTP_SESSION=colour=blue&expiry=") {
		t.Errorf("CGI saw %q", body)
	}
}

func checkInlineCGI(t *testing.T, base string) {
	b := newVisitor(t, base)
	res, body := b.get("/cgi-bin/session-demo")
	expect(t, res, http.StatusUnauthorized, "")
	if !strings.Contains(body, `action="/cgi-bin/session-demo"`) {
		t.Fatalf("401 page has no login form posting back: %.300s", body)
	}
	res, body = b.post("/cgi-bin/session-demo", url.Values{"httpd_username": {"alice"}, "httpd_password": {"wonderland"}})
	expect(t, res, http.StatusOK, "")
	if !strings.Contains(body, "REMOTE_USER=alice") {
		t.Errorf("after the inline login the CGI printed %q", body)
	}
}

// filesUnder lists the regular files under root, relative to it.
func filesUnder(t *testing.T, root string) map[string]bool {
	t.Helper()
	files := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		files[rel] = true
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// underIgnored reports whether rel or one of its parent folders is ignored.
func underIgnored(ignored func(rel string, dir bool) bool, rel string) bool {
	if ignored(rel, false) {
		return true
	}
	for dir := filepath.Dir(rel); dir != "."; dir = filepath.Dir(dir) {
		if ignored(dir, true) {
			return true
		}
	}
	return false
}
