// Package apachetest starts a private Apache httpd for tests, so that what
// websession writes can be checked against the real mod_session family
// (mod_session, mod_session_cookie, mod_session_crypto, mod_session_dbd,
// mod_auth_form) and what httpd writes can be fed to websession.
//
// Start builds a throw-away ServerRoot with a minimal httpd.conf (prefork
// MPM, mod_cgi, a CGI folder at /cgi-bin/ and a document root at /), loads
// the modules the test asks for, listens on a free loopback port, and stops
// the server when the test ends. It is not part of the Apache manual; it
// exists only to compare with it.
//
// When no apache2 (or httpd) binary is installed the test is skipped,
// unless the environment variable CI is "true": CI must really run them.
package apachetest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Config describes one private server.
type Config struct {
	// Modules are loaded in addition to the base set (mpm_prefork,
	// authz_core, authz_host, mime, cgi, alias, dir, env, setenvif,
	// headers), by short name: "session_crypto" loads
	// mod_session_crypto.so. Order matters only as it does for httpd.
	Modules []string

	// Conf is appended to the generated httpd.conf. In it, ${SERVER_ROOT}
	// is the server root and ${PORT} the port (httpd Define variables).
	// The generated part already has DocumentRoot ${SERVER_ROOT}/htdocs
	// and ScriptAlias /cgi-bin/ ${SERVER_ROOT}/cgi-bin/, both readable
	// by everyone.
	Conf string

	// Files are written below the server root before start (path relative
	// to it, slash-separated), mode 0644; folders are created as needed.
	Files map[string]string

	// Scripts are written like Files but executable (0755): CGI programs
	// for cgi-bin/, and programs for SessionCryptoPassphrase exec:.
	Scripts map[string]string
}

// Server is a running private httpd.
type Server struct {
	// URL is the server's base URL, "http://127.0.0.1:<port>", without
	// a trailing slash.
	URL string
	// Addr is the host:port it listens on.
	Addr string
	// Root is its ServerRoot: conf/httpd.conf, logs/error_log and the
	// caller's files live below it.
	Root string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// baseModules are loaded for every server.
var baseModules = []string{
	"mpm_prefork", "authz_core", "authz_host", "mime", "cgi", "alias",
	"dir", "env", "setenvif", "headers",
}

// binaries and moduleDirs are where Debian, Fedora and source builds put
// httpd.
var (
	binaries   = []string{"apache2", "httpd", "/usr/sbin/apache2", "/usr/sbin/httpd", "/usr/local/apache2/bin/httpd"}
	moduleDirs = []string{"/usr/lib/apache2/modules", "/usr/lib64/httpd/modules", "/usr/lib/httpd/modules", "/usr/local/apache2/modules"}
)

// Binary returns the httpd program and its modules folder, or an error
// saying what is missing.
func Binary() (bin, modules string, err error) {
	for _, b := range binaries {
		if p, err := exec.LookPath(b); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		return "", "", errors.New("apachetest: no apache2 or httpd binary installed")
	}
	for _, d := range moduleDirs {
		if _, err := os.Stat(filepath.Join(d, "mod_session.so")); err == nil {
			return bin, d, nil
		}
	}
	return "", "", fmt.Errorf("apachetest: %s found but no modules folder with mod_session.so in %v", bin, moduleDirs)
}

// Start starts a private httpd for cfg and registers its shutdown with
// tb.Cleanup. It skips the test when httpd is not installed (fails it when
// CI=true) and fails it, with the error log, when httpd does not start.
func Start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	bin, modDir, err := Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}

	root, err := os.MkdirTemp("", "apachetest-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(root) })
	// httpd's children run as an unprivileged user when we are root: they
	// must be able to read the tree.
	if err := os.Chmod(root, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, d := range []string{"conf", "logs", "run", "htdocs", "cgi-bin"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := writeFiles(root, cfg.Files, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := writeFiles(root, cfg.Scripts, 0o755); err != nil {
		tb.Fatal(err)
	}

	// A port picked free can be taken before httpd binds it; try again.
	var lastErr error
	for range 3 {
		s, err := start(tb, bin, modDir, root, cfg)
		if err == nil {
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	tb.Fatal(lastErr)
	return nil
}

func writeFiles(root string, files map[string]string, mode os.FileMode) error {
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if !strings.HasPrefix(p, root+string(filepath.Separator)) {
			return fmt.Errorf("apachetest: file %q is outside the server root", name)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			return err
		}
		if err := os.Chmod(p, mode); err != nil { // umask
			return err
		}
	}
	return nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(tb testing.TB, bin, modDir, root string, cfg Config) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(root, "conf", "httpd.conf")
	errorLog := filepath.Join(root, "logs", "error_log")
	os.Remove(errorLog)
	if err := os.WriteFile(conf, []byte(httpdConf(root, modDir, port, cfg)), 0o644); err != nil {
		return nil, err
	}

	cmd := exec.Command(bin, "-d", root, "-f", conf, "-DFOREGROUND")
	cmd.Dir = root
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C",
		// Read by Debian's apache2 only through its own configuration,
		// which we do not use; set so nothing falls back to /var.
		"APACHE_RUN_DIR=" + filepath.Join(root, "run"),
		"APACHE_LOCK_DIR=" + filepath.Join(root, "run"),
		"APACHE_LOG_DIR=" + filepath.Join(root, "logs"),
		"APACHE_PID_FILE=" + filepath.Join(root, "run", "httpd.pid"),
	}
	out := &strings.Builder{}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = ownProcessGroup()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("apachetest: %v", err)
	}
	s := &Server{
		URL:  "http://127.0.0.1:" + strconv.Itoa(port),
		Addr: "127.0.0.1:" + strconv.Itoa(port),
		Root: root,
		cmd:  cmd,
		done: make(chan struct{}),
	}
	go func() {
		cmd.Wait()
		close(s.done)
	}()

	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("apachetest: httpd exited at start (%v)\noutput:\n%s\nerror log:\n%s\nhttpd.conf:\n%s",
				cmd.ProcessState, out, s.ErrorLog(), readFile(conf))
		default:
		}
		if c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("apachetest: httpd did not answer on %s within 15s\nerror log:\n%s", s.Addr, s.ErrorLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Cleanup(func() {
		s.stop()
		if tb.Failed() {
			tb.Logf("apachetest: error log of %s:\n%s", s.URL, s.ErrorLog())
		}
	})
	return s, nil
}

// stop asks httpd to stop (SIGTERM, which it passes on to its children)
// and kills it if it has not exited after a few seconds.
func (s *Server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// ErrorLog returns the server's error log so far.
func (s *Server) ErrorLog() string {
	return readFile(filepath.Join(s.Root, "logs", "error_log"))
}

func readFile(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(b)
}

// httpdConf returns the configuration for one server.
func httpdConf(root, modDir string, port int, cfg Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Define SERVER_ROOT %q\nDefine PORT %d\n", root, port)
	fmt.Fprintf(&b, "ServerRoot %q\n", root)
	var loaded []string
	for _, m := range slices.Concat(baseModules, cfg.Modules) {
		if slices.Contains(loaded, m) {
			continue
		}
		loaded = append(loaded, m)
		fmt.Fprintf(&b, "LoadModule %s_module %q\n", m, filepath.Join(modDir, "mod_"+m+".so"))
	}
	if os.Geteuid() == 0 {
		u, g := unprivileged()
		fmt.Fprintf(&b, "User %s\nGroup %s\n", u, g)
	}
	b.WriteString(`ServerName 127.0.0.1
Listen 127.0.0.1:${PORT}
DefaultRuntimeDir "${SERVER_ROOT}/run"
PidFile "${SERVER_ROOT}/run/httpd.pid"
ErrorLog "${SERVER_ROOT}/logs/error_log"
LogLevel info
StartServers 1
MinSpareServers 1
MaxSpareServers 3
MaxRequestWorkers 16
Timeout 30
KeepAlive On
TypesConfig /dev/null
AddType text/html .html
AddType text/plain .txt
DocumentRoot "${SERVER_ROOT}/htdocs"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "${SERVER_ROOT}/htdocs">
    Require all granted
</Directory>
ScriptAlias /cgi-bin/ "${SERVER_ROOT}/cgi-bin/"
<Directory "${SERVER_ROOT}/cgi-bin">
    Options +ExecCGI
    Require all granted
</Directory>
`)
	b.WriteString("\n# Test configuration\n")
	b.WriteString(cfg.Conf)
	b.WriteString("\n")
	return b.String()
}

// unprivileged returns the user and group httpd's children switch to when
// started as root.
func unprivileged() (string, string) {
	for _, cand := range [][2]string{{"www-data", "www-data"}, {"apache", "apache"}, {"daemon", "daemon"}, {"nobody", "nogroup"}} {
		if _, err := user.Lookup(cand[0]); err != nil {
			continue
		}
		if _, err := user.LookupGroup(cand[1]); err != nil {
			continue
		}
		return cand[0], cand[1]
	}
	return "nobody", "#65534"
}
