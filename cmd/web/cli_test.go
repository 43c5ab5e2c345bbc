package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/pgtest"
)

// userConf writes a configuration whose only job is a user file, and
// returns its path and the user file's.
func userConf(t *testing.T) (conf, userFile string) {
	t.Helper()
	dir := t.TempDir()
	conf = filepath.Join(dir, "users.conf")
	text := "<Location /private>\nAuthType form\nAuthName site\nAuthFormProvider file\nAuthUserFile users.htpasswd\nRequire valid-user\n</Location>\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf, filepath.Join(dir, "users.htpasswd")
}

// TestFlagsAfterTheCommand: a flag works wherever it stands, and one that
// a command does not use, or a word too many, is an error naming it.
func TestFlagsAfterTheCommand(t *testing.T) {
	t.Parallel()
	conf, userFile := userConf(t)
	for i, args := range [][]string{
		{"user", "add", "-config", conf, "alice"},
		{"user", "-config", conf, "add", "bob"},
		{"-config", conf, "user", "add", "carol"},
		{"user", "add", "dave", "-config", conf},
	} {
		if err := runWithInput(context.Background(), args, os.Getenv, strings.NewReader("long enough pw\n"), io.Discard, io.Discard); err != nil {
			t.Fatalf("web %s: %v", strings.Join(args, " "), err)
		}
		name := args[len(args)-1]
		if i == 3 {
			name = "dave"
		}
		data, _ := os.ReadFile(userFile)
		if !strings.Contains(string(data), name+":") {
			t.Errorf("web %s: %s not in the user file %q", strings.Join(args, " "), name, data)
		}
	}

	bad := filepath.Join(t.TempDir(), "bad.conf")
	if err := os.WriteFile(bad, []byte("Session On\nSessionMaxAge soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "-config", bad}, "bad.conf:2: SessionMaxAge"},
		{[]string{"health", "-config", bad}, "bad.conf:2: SessionMaxAge"},
		{[]string{"migrate", "status", "-config", bad}, "bad.conf:2: SessionMaxAge"},
		{[]string{"session", "cleanup", "-config", bad}, "bad.conf:2: SessionMaxAge"},
		{[]string{"-listen", "127.0.0.1:1", "migrate", "status"}, "-listen does not apply to web migrate"},
		{[]string{"-config", bad, "session", "decode", "a=b"}, "-config does not apply to web session"},
		{[]string{"session", "decode", "-config", bad, "a=b"}, "flag provided but not defined: -config"},
		{[]string{"serve", "extra"}, `unexpected "extra"`},
		{[]string{"user", "add", "-config", conf}, "missing arguments; usage: web user add|passwd|delete"},
		{[]string{"user", "add", "-config", conf, "a", "b"}, `unexpected "b"`},
		{[]string{"migrate", "sideways", "-config", conf}, `unknown migrate command "sideways"`},
		{[]string{"-listen", "abc", "-config", conf, "serve"}, `-listen: "abc" is not [address:]port`},
	} {
		err := run(ctx, tt.args, os.Getenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("web %s: error %v, want one with %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
}

// TestHealthListenAfterTheCommand: web health -listen ADDR asks ADDR.
func TestHealthListenAfterTheCommand(t *testing.T) {
	t.Parallel()
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if err := run(context.Background(), []string{"health", "-listen", addr}, os.Getenv, io.Discard, io.Discard); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	status = http.StatusServiceUnavailable
	err := run(context.Background(), []string{"health", "-listen", addr}, os.Getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("unhealthy server: %v", err)
	}
}

// TestBarePortListen: -listen 19209 means port 19209, as Listen 19209.
func TestBarePortListen(t *testing.T) {
	t.Parallel()
	conf, _ := userConf(t)
	cfg, err := loadConfig(options{configFile: conf, listen: "19209", getenv: os.Getenv})
	if err != nil || cfg.Listen != ":19209" {
		t.Fatalf("Listen %q, %v; want :19209", cfg.Listen, err)
	}
}

// TestSessionDecodeOfEncryptedValue: without a passphrase an encrypted
// value is not printed as a nonsense session, but refused, saying why.
func TestSessionDecodeOfEncryptedValue(t *testing.T) {
	t.Parallel()
	for _, cipher := range []string{"aes256", "3des192"} {
		var enc bytes.Buffer
		if err := run(context.Background(), []string{"session", "encode", "-cipher", cipher, "-passphrase", "secret", "user=alice&role=admin"}, os.Getenv, &enc, io.Discard); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err := run(context.Background(), []string{"session", "decode", strings.TrimSpace(enc.String())}, os.Getenv, &out, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "encrypted") || !strings.Contains(err.Error(), "-passphrase") || out.Len() != 0 {
			t.Errorf("%s: decode without passphrase: %v, printed %q", cipher, err, out.String())
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"session", "decode", "user=alice&role=admin"}, os.Getenv, &out, io.Discard); err != nil || out.String() != "user=alice\nrole=admin\n" {
		t.Fatalf("plain value: %q, %v", out.String(), err)
	}
}

// TestMigrateStatusChangesNothing: with DBDAutoMigrate On, migrate status
// creates no table, and migrate down is not undone by the next command.
func TestMigrateStatusChangesNothing(t *testing.T) {
	t.Parallel()
	dsn := pgtest.URL(t)
	conf := filepath.Join(t.TempDir(), "db.conf")
	if err := os.WriteFile(conf, []byte("DBDriver pgsql\nDBDParams \"${DATABASE_URL}\"\nDBDAutoMigrate On\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return dsn
		}
		return ""
	}
	web := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"-config", conf}, args...), getenv, &out, io.Discard); err != nil {
			t.Fatalf("web %s: %v", strings.Join(args, " "), err)
		}
		return out.String()
	}
	tables := func() int {
		t.Helper()
		db, err := sqlx.Open("postgres", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.Get(&n, "select count(*) from information_schema.tables where table_schema = 'public'"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	status := web("migrate", "status")
	for _, line := range strings.Split(strings.TrimSpace(status), "\n") {
		if !strings.HasPrefix(line, "pending") {
			t.Errorf("new database: status line %q, want pending", line)
		}
	}
	if n := tables(); n != 0 {
		t.Fatalf("after migrate status on a new database: %d tables, status %q", n, status)
	}
	web("migrate", "up")
	web("migrate", "down")
	status = web("migrate", "status")
	lines := strings.Split(strings.TrimSpace(status), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "pending") {
		t.Fatalf("after migrate down and status, the last migration is %q, want pending", last)
	}
	web("session", "cleanup")
	if status2 := web("migrate", "status"); status2 != status {
		t.Fatalf("session cleanup migrated: status %q, was %q", status2, status)
	}
}

// TestStartupLineOnce: serving prints one line saying where, on standard
// output, and nothing else repeats it.
func TestStartupLineOnce(t *testing.T) {
	t.Parallel()
	root := serverRoot(t)
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	opts := options{configFile: filepath.Join(root, "configs", "cookie.conf"), listen: "127.0.0.1:0", getenv: os.Getenv, stdout: &out, stderr: &out}
	err := serve(ctx, opts, func(string) { cancel() })
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "listening"); n != 1 {
		t.Fatalf("the start-up line appears %d times:\n%s", n, out.String())
	}
}

// TestPortInUse: a taken port says so and how to choose another.
func TestPortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	root := serverRoot(t)
	opts := options{configFile: filepath.Join(root, "configs", "cookie.conf"), listen: ln.Addr().String(), getenv: os.Getenv, stdout: io.Discard, stderr: io.Discard}
	err = serve(context.Background(), opts, nil)
	if err == nil || !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), "-listen") {
		t.Fatalf("error %v, want one saying the address is in use and suggesting -listen", err)
	}
}

// TestEmbeddedDefaultUnwritableData: started where data/ cannot be made,
// web names the embedded default (not a file the user never passed), the
// folder, and what to do.
func TestEmbeddedDefaultUnwritableData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A file where the folder should be stops it even for root.
	if err := os.WriteFile(filepath.Join(dir, "data"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-listen", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), asWeb+"=1")
	out, err := cmd.CombinedOutput()
	for _, want := range []string{"configs/default.conf (the embedded default):", filepath.Join(dir, "data"), "start web in a folder you can write to", "-config FILE"} {
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("exit %v, output %q: want %q", err, out, want)
		}
	}
}

// syncBuffer is a bytes.Buffer that the server's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
