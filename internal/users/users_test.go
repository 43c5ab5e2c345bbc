package users

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/websession/websession/internal/testtool"
)

// testCost keeps bcrypt fast in tests; TestMain lowers minCost to allow it.
const testCost = bcrypt.MinCost

func testOptions(log *slog.Logger) Options {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Tests that add hundreds of users at once are about the file, not
	// about the bound on concurrent hashes: give them room.
	return Options{Cost: testCost, Logger: log, Hashes: NewHashLimiter(HashLimiterOptions{Queue: 10000, Wait: time.Minute})}
}

// newFileStore opens a store on a new file in a temporary folder.
func newFileStore(t testing.TB, opts Options) *FileStore {
	t.Helper()
	return openFile(t, filepath.Join(t.TempDir(), "data", "users.htpasswd"), opts)
}

func openFile(t testing.TB, path string, opts Options) *FileStore {
	t.Helper()
	s, err := OpenFile(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// htpasswd returns the path of Apache's htpasswd, skipping the test when
// it is missing (failing under CI=true).
func htpasswd(t *testing.T) string {
	t.Helper()
	return testtool.Path(t, "htpasswd", "apache2-utils")
}

func runHtpasswd(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(htpasswd(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("htpasswd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func mustCheck(t *testing.T, s Store, name, password string, want Result) {
	t.Helper()
	got, err := s.Check(context.Background(), name, password)
	if err != nil {
		t.Fatalf("Check(%q, %q): %v", name, password, err)
	}
	if got != want {
		t.Fatalf("Check(%q, %q) = %v, want %v", name, password, got, want)
	}
}

func TestValidateName(t *testing.T) {
	long := strings.Repeat("é", 33) // 66 bytes
	tests := []struct {
		name, want string // want "" means valid
	}{
		{"alice", ""},
		{"Jean Dupont", ""},
		{"émile", ""},
		{strings.Repeat("a", 64), ""},
		{"", "Enter a user name."},
		{strings.Repeat("a", 65), "The user name is too long: at most 64 bytes, this one has 65."},
		{long, "The user name is too long: at most 64 bytes, this one has 66."},
		{"al:ice", "The user name cannot contain a colon (:)."},
		{"al\tice", "The user name cannot contain control characters such as tabs or line breaks."},
		{"alice\n", "The user name cannot contain control characters such as tabs or line breaks."},
		{"al\x00ice", "The user name cannot contain control characters such as tabs or line breaks."},
		{"al\u0085ice", "The user name cannot contain control characters such as tabs or line breaks."},
		{" alice", "The user name cannot begin or end with a space."},
		{"alice ", "The user name cannot begin or end with a space."},
		{"alice\u00a0", "The user name cannot begin or end with a space."},
		{"#alice", "The user name cannot begin with #."},
		{"al\xffice", "The user name must be valid UTF-8 text."},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.name), func(t *testing.T) {
			err := ValidateName(tt.name)
			checkInvalid(t, err, FieldName, tt.want)
		})
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		password, want string
	}{
		{"12345670", ""},
		{"éèêëéèêë", ""}, // 8 characters, 16 bytes
		{strings.Repeat("abcd", 18), ""},
		{strings.Repeat("éèêë", 9), ""}, // 72 bytes
		{"", "The password is too short: use at least 8 characters."},
		{"1234567", "The password is too short: use at least 8 characters."},
		{"ééééééé", "The password is too short: use at least 8 characters."}, // 14 bytes, 7 characters
		{strings.Repeat("a", 73), "The password is too long: at most 72 bytes (bcrypt's limit), this one has 73. Non-ASCII characters take 2 to 4 bytes each."},
		{strings.Repeat("é", 37), "The password is too long: at most 72 bytes (bcrypt's limit), this one has 74. Non-ASCII characters take 2 to 4 bytes each."},
		{"12345678\x00", "The password cannot contain a NUL character."},
		{"12345678\xff", "The password must be valid UTF-8 text."},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20q/%d", tt.password, len(tt.password)), func(t *testing.T) {
			checkInvalid(t, ValidatePassword("someone", tt.password), FieldPassword, tt.want)
		})
	}
}

func checkInvalid(t *testing.T, err error, field, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("error = %v, want *InvalidError", err)
	}
	if inv.Field != field || inv.Message != want {
		t.Fatalf("got {%s, %q}, want {%s, %q}", inv.Field, inv.Message, field, want)
	}
}

func TestOptionsCost(t *testing.T) {
	saved := minCost
	minCost = MinCost
	defer func() { minCost = saved }()
	for _, tt := range []struct {
		cost, want int
		ok         bool
	}{{0, DefaultCost, true}, {10, 10, true}, {9, 0, false}, {32, 0, false}} {
		o, err := Options{Cost: tt.cost}.withDefaults()
		if (err == nil) != tt.ok || (tt.ok && o.Cost != tt.want) {
			t.Errorf("Cost %d: got %d, %v", tt.cost, o.Cost, err)
		}
	}
}

func TestOverlongPasswordRefused(t *testing.T) {
	ctx := context.Background()
	s := newFileStore(t, testOptions(nil))
	p72 := strings.Repeat("wxyz", 18)
	p73 := p72 + "y"
	want := "The password is too long: at most 72 bytes (bcrypt's limit), this one has 73. Non-ASCII characters take 2 to 4 bytes each."

	checkInvalid(t, s.Add(ctx, "alice", p73), FieldPassword, want)
	if ok, _ := s.Exists(ctx, "alice"); ok {
		t.Fatal("alice was added with a refused password")
	}
	if err := s.Add(ctx, "alice", p72); err != nil {
		t.Fatal(err)
	}
	checkInvalid(t, s.SetPassword(ctx, "alice", p73), FieldPassword, want)
	mustCheck(t, s, "alice", p72, Granted)
	// bcrypt itself would accept p73 (it stops at byte 72); we must not.
	if err := bcrypt.CompareHashAndPassword([]byte(s.snap.users["alice"]), []byte(p73)); err != nil {
		t.Fatalf("premise: bcrypt ignores byte 73: %v", err)
	}
	mustCheck(t, s, "alice", p73, Denied)
	mustCheck(t, s, "nobody", p73, NotFound)
}

func TestCheckResults(t *testing.T) {
	ctx := context.Background()
	s := newFileStore(t, testOptions(nil))
	if err := s.Add(ctx, "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, password string
		want           Result
	}{
		{"alice", "wonderland", Granted},
		{"alice", "wonderland", Granted}, // cached
		{"alice", "Wonderland", Denied},
		{"alice", "", Denied},
		{"alice", "wonderlan", Denied},
		{"Alice", "wonderland", Granted}, // names are case-insensitive
		{"bob", "wonderland", NotFound},
		{"", "wonderland", NotFound},
		{"alice", "wonderland", Granted},
	} {
		mustCheck(t, s, tt.name, tt.password, tt.want)
	}
	if got := s.v.cache.len(); got != 2 {
		t.Fatalf("cache has %d entries, want 2 (alice, Alice)", got)
	}
	// The dummy comparison for unknown users runs at the cost of the
	// file's hashes.
	snap, _ := s.current()
	dummy, err := s.v.dummy(ctx, snap.cost)
	if c, cerr := bcrypt.Cost(dummy); err != nil || cerr != nil || c != testCost {
		t.Fatalf("dummy hash cost %d, %v %v; want %d", c, err, cerr, testCost)
	}
}

func TestAddSetDelete(t *testing.T) {
	ctx := context.Background()
	s := newFileStore(t, testOptions(nil))
	if err := s.Add(ctx, "alice", "first secret"); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctx, "alice", "second secret"); !errors.Is(err, ErrExists) {
		t.Fatalf("second Add: %v, want ErrExists", err)
	}
	checkInvalid(t, s.Add(ctx, "a:b", "second secret"), FieldName, "The user name cannot contain a colon (:).")
	if err := s.SetPassword(ctx, "bob", "second secret"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetPassword(bob): %v, want ErrNotFound", err)
	}
	mustCheck(t, s, "alice", "first secret", Granted)
	if err := s.SetPassword(ctx, "alice", "second secret"); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s, "alice", "first secret", Denied)
	mustCheck(t, s, "alice", "second secret", Granted)
	if err := s.Delete(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
	mustCheck(t, s, "alice", "second secret", NotFound)

	// The file and its folder were created private; the lock file too.
	for path, want := range map[string]os.FileMode{
		s.Path():               0o600,
		filepath.Dir(s.Path()): 0o700 | os.ModeDir,
		s.Path() + ".lock":     0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
}

func TestRewriteKeepsOtherLines(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "users")
	orig := "# managed by hand\n\nnot a user line\ncarol:{SHA}6UJOfiqIYKDTGYp5TpQiLXoQg9I=:extra field\r\n" +
		"dave:esJ4oL4Sb7atM\ncarol:{SHA}second-entry-ignored\n"
	if err := os.WriteFile(path, []byte(orig), 0o640); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := openFile(t, path, testOptions(slog.New(slog.NewTextHandler(&logs, nil))))
	if !strings.Contains(logs.String(), "line not understood") || !strings.Contains(logs.String(), "line=3") {
		t.Errorf("invalid line not logged: %s", logs.String())
	}
	if !strings.Contains(logs.String(), "duplicate user") {
		t.Errorf("duplicate not logged: %s", logs.String())
	}
	mustCheck(t, s, "carol", "secret12", Granted) // the SHA line, extra field ignored, CRLF trimmed
	if err := s.Add(ctx, "erin", "first secret"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), orig) {
		t.Fatalf("existing lines changed:\n%s", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's own 0640 kept", fi.Mode().Perm())
	}
	// Delete removes every line of a user, so a later duplicate cannot
	// come back to life.
	if err := s.Delete(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if strings.Contains(string(got), "carol") {
		t.Fatalf("carol left in file:\n%s", got)
	}
	if !strings.Contains(string(got), "not a user line\n") {
		t.Fatalf("invalid line dropped:\n%s", got)
	}
}

func TestWeakAndUnsupportedHashesLoggedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	content := "sha:{SHA}6UJOfiqIYKDTGYp5TpQiLXoQg9I=\n" +
		"md5:$apr1$KP00Q8ow$9bAI/TXw6RJcfnc8CtnL0/\n" + // myPassword, from htpasswd -nbm
		"des:esJ4oL4Sb7atM\n" + // secret12, crypt(3) DES: unsupported
		"plain:secret12\n" + // htpasswd -p: unsupported
		"sha512:$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := openFile(t, path, testOptions(slog.New(slog.NewTextHandler(&logs, nil))))
	for range 3 {
		mustCheck(t, s, "sha", "secret12", Granted)
		mustCheck(t, s, "md5", "myPassword", Granted)
		mustCheck(t, s, "md5", "mypassword", Denied)
		mustCheck(t, s, "des", "secret12", Denied)
		mustCheck(t, s, "plain", "secret12", Denied)
		mustCheck(t, s, "sha512", "Hello world!", Granted)
		mustCheck(t, s, "sha512", "secret12", Denied)
	}
	out := logs.String()
	for _, want := range []string{
		"user=sha scheme=sha1", "user=md5 scheme=apr1-md5",
		"user=des scheme=unsupported", "user=plain scheme=unsupported",
	} {
		if n := strings.Count(out, want); n != 1 {
			t.Errorf("%q logged %d times, want once:\n%s", want, n, out)
		}
	}
}

func TestAPR1(t *testing.T) {
	for _, tt := range []struct{ password, salt, want string }{
		{"myPassword", "KP00Q8ow", "$apr1$KP00Q8ow$9bAI/TXw6RJcfnc8CtnL0/"},
		// From the Apache manual (Password Formats).
		{"myPassword", "r31.....", "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/"},
	} {
		if got := apr1(tt.password, tt.salt); got != tt.want {
			t.Errorf("apr1(%q, %q) = %s, want %s", tt.password, tt.salt, got, tt.want)
		}
	}
}

// TestReadsApacheHtpasswd reads a file made by Apache's own htpasswd with
// each scheme it writes.
func TestReadsApacheHtpasswd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	runHtpasswd(t, "-B", "-b", "-c", path, "bcrypt", "bcrypt-pw")
	runHtpasswd(t, "-B", "-C", "10", "-b", path, "bcrypt10", "pässwörd-10")
	runHtpasswd(t, "-m", "-b", path, "apr1", "apr1-pw")
	runHtpasswd(t, "-s", "-b", path, "sha", "sha-pw")
	runHtpasswd(t, "-d", "-b", path, "des", "des-pw")
	runHtpasswd(t, "-2", "-b", path, "sha256", "sha256-pw")
	runHtpasswd(t, "-5", "-r", "6000", "-b", path, "sha512", "sha512-pw")
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), "bcrypt:$2y$") {
		t.Fatalf("premise: htpasswd -B writes $2y$:\n%s", raw)
	}
	s := openFile(t, path, testOptions(nil))
	for _, tt := range []struct {
		name, password string
		want           Result
	}{
		{"bcrypt", "bcrypt-pw", Granted},
		{"bcrypt", "bcrypt-PW", Denied},
		{"bcrypt10", "pässwörd-10", Granted},
		{"apr1", "apr1-pw", Granted},
		{"apr1", "apr1-pX", Denied},
		{"sha", "sha-pw", Granted},
		{"sha", "sha-pX", Denied},
		{"sha256", "sha256-pw", Granted},
		{"sha256", "sha256-pX", Denied},
		{"sha512", "sha512-pw", Granted},
		{"sha512", "sha512-pX", Denied},
		{"des", "des-pw", Denied}, // unsupported scheme
		{"nobody", "des-pw", NotFound},
	} {
		mustCheck(t, s, tt.name, tt.password, tt.want)
	}
}

// TestApacheReadsOurFile has Apache's htpasswd verify what we wrote.
func TestApacheReadsOurFile(t *testing.T) {
	htpasswd(t)
	ctx := context.Background()
	s := newFileStore(t, testOptions(nil))
	users := map[string]string{"alice": "wonderland", "émile": "pässwörd-ünïcode", "bob": strings.Repeat("bcde", 18)}
	for name, pw := range users {
		if err := s.Add(ctx, name, pw); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetPassword(ctx, "alice", "looking-glass"); err != nil {
		t.Fatal(err)
	}
	users["alice"] = "looking-glass"
	for name, pw := range users {
		runHtpasswd(t, "-v", "-b", s.Path(), name, pw)
		wrong := "X" + pw[1:] // not pw+"x": Apache's bcrypt ignores byte 73
		if err := exec.Command(htpasswd(t), "-v", "-b", s.Path(), name, wrong).Run(); err == nil {
			t.Errorf("htpasswd -v accepted a wrong password for %s", name)
		}
	}
	raw, _ := os.ReadFile(s.Path())
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if _, h, _ := strings.Cut(l, ":"); !strings.HasPrefix(h, "$2y$04$") {
			t.Errorf("line %q: want a $2y$ bcrypt hash", l)
		}
	}
}

// TestExternalChangeSeen is spec §9 scenario 19: a password changed in the
// file by another program ends the old password at the next Check, without
// a restart, cache or not.
func TestExternalChangeSeen(t *testing.T) {
	htpasswd(t)
	ctx := context.Background()
	for _, interval := range []string{"every Check", "StatInterval"} {
		t.Run(interval, func(t *testing.T) {
			opts := testOptions(nil)
			s := newFileStore(t, opts)
			if err := s.Add(ctx, "alice", "wonderland"); err != nil {
				t.Fatal(err)
			}
			if err := s.Add(ctx, "bob", "builder1"); err != nil {
				t.Fatal(err)
			}
			mustCheck(t, s, "alice", "wonderland", Granted)
			mustCheck(t, s, "alice", "wonderland", Granted) // from the cache
			if interval == "StatInterval" {
				s.opts.StatInterval = 1 // ns: elapsed by the next Check
			}

			// Same length hash, same cost, possibly the same mtime tick and
			// an in-place rewrite: the racy check must still see it.
			runHtpasswd(t, "-B", "-C", "4", "-b", s.Path(), "alice", "wonderlanD")
			mustCheck(t, s, "alice", "wonderland", Denied)
			mustCheck(t, s, "alice", "wonderlanD", Granted)

			runHtpasswd(t, "-D", s.Path(), "bob")
			mustCheck(t, s, "bob", "builder1", NotFound)

			runHtpasswd(t, "-m", "-b", s.Path(), "carol", "carol-pw")
			mustCheck(t, s, "carol", "carol-pw", Granted)
		})
	}
}

// TestRacyRewriteSeen rewrites the file in place, same size, same inode,
// and puts the old mtime back (as a rewrite within one timestamp tick
// would look): the change is still seen (through ctime, or the content
// comparison made while the file is recent).
func TestRacyRewriteSeen(t *testing.T) {
	ctx := context.Background()
	s := newFileStore(t, testOptions(nil))
	if err := s.Add(ctx, "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s, "alice", "wonderland", Granted)
	fi, _ := os.Stat(s.Path())
	h, _ := newHash("wonderlanD", testCost)
	if err := os.WriteFile(s.Path(), []byte("alice:"+h+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(s.Path(), fi.ModTime(), fi.ModTime())
	if fi2, _ := os.Stat(s.Path()); fi2.Size() != fi.Size() {
		t.Fatalf("premise: same size, got %d and %d", fi.Size(), fi2.Size())
	}
	mustCheck(t, s, "alice", "wonderland", Denied)
	mustCheck(t, s, "alice", "wonderlanD", Granted)
}

// TestConcurrentAdd adds 300 users from 300 goroutines through two stores
// on the same file (two processes, as far as flock is concerned).
func TestConcurrentAdd(t *testing.T) {
	ctx := context.Background()
	a := newFileStore(t, testOptions(nil))
	b := openFile(t, a.Path(), testOptions(nil))
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			if err := s.Add(ctx, fmt.Sprintf("user%03d", i), fmt.Sprintf("secret word %03d", i)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	raw, err := os.ReadFile(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	f := splitFile(raw)
	if len(f.lines) != n {
		t.Fatalf("file has %d lines, want %d", len(f.lines), n)
	}
	for i, l := range f.lines {
		if _, h, k := parseLine(l); k != lineUser || kindOf(h) != hashBcrypt {
			t.Fatalf("line %d does not parse: %q", i+1, l)
		}
	}
	for _, s := range []*FileStore{a, b} {
		for i := range n {
			mustCheck(t, s, fmt.Sprintf("user%03d", i), fmt.Sprintf("secret word %03d", i), Granted)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(a.Path()), ".*tmp*")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// TestCrashMidWrite leaves what a crash during a write leaves, a partly
// written temporary file beside the real one, and checks nothing is lost.
func TestCrashMidWrite(t *testing.T) {
	ctx := context.Background()
	s := newFileStore(t, testOptions(nil))
	if err := s.Add(ctx, "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(s.Path())
	dir := filepath.Dir(s.Path())
	stray := filepath.Join(dir, "."+filepath.Base(s.Path())+".tmp-123456")
	if err := os.WriteFile(stray, before[:len(before)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	// A lock file left by a dead process does not block: flock locks die
	// with their holder.
	after, _ := os.ReadFile(s.Path())
	if !bytes.Equal(before, after) {
		t.Fatal("real file changed")
	}
	s2 := openFile(t, s.Path(), testOptions(nil))
	mustCheck(t, s2, "alice", "wonderland", Granted)
	if err := s2.Add(ctx, "bob", "builder1"); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s, "alice", "wonderland", Granted)
	mustCheck(t, s, "bob", "builder1", Granted)

	// A write that fails (the folder became unwritable) leaves the file
	// as it was. Root ignores permissions, so only when not root.
	if os.Geteuid() != 0 {
		os.Chmod(dir, 0o500)
		defer os.Chmod(dir, 0o700)
		if err := s.Add(ctx, "carol", "carol-pw"); err == nil {
			t.Fatal("Add succeeded in a read-only folder")
		}
		mustCheck(t, s, "bob", "builder1", Granted)
		mustCheck(t, s, "carol", "carol-pw", NotFound)
	}
}

func TestCacheBoundedAndKeyed(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(nil)
	opts.CacheSize = 40
	s := newFileStore(t, opts)
	for i := range 100 {
		name := fmt.Sprintf("u%d", i)
		if err := s.Add(ctx, name, fmt.Sprintf("secret-%d", i*37)); err != nil {
			t.Fatal(err)
		}
		mustCheck(t, s, name, fmt.Sprintf("secret-%d", i*37), Granted)
	}
	if n := s.v.cache.len(); n > 64 { // 32 shards of ceil(40/32) = 2
		t.Fatalf("cache holds %d entries", n)
	}
	// No entry holds a clear password.
	for i := range s.v.cache.shards {
		for name, e := range s.v.cache.shards[i].m {
			if strings.Contains(string(e.mac[:]), "secret-") || strings.Contains(e.stored, "secret-") || name == "" {
				t.Fatal("clear password in cache")
			}
		}
	}
	// A wrong password is never a hit, even right after a right one.
	mustCheck(t, s, "u99", fmt.Sprintf("secret-%d", 99*37), Granted)
	mustCheck(t, s, "u99", fmt.Sprintf("secret-%d", 98*37), Denied)
	mustCheck(t, s, "u98", fmt.Sprintf("secret-%d", 99*37), Denied)
}

func TestCacheDisabled(t *testing.T) {
	opts := testOptions(nil)
	opts.CacheSize = -1
	s := newFileStore(t, opts)
	if err := s.Add(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s, "alice", "wonderland", Granted)
	mustCheck(t, s, "alice", "wonderlanx", Denied)
}

func TestMissingFileIsAnError(t *testing.T) {
	s := newFileStore(t, testOptions(nil))
	os.Remove(s.Path())
	if _, err := s.Check(context.Background(), "alice", "wonderland"); err == nil {
		t.Fatal("Check on a removed file: no error")
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"alice:$2y$05$qRICluyDwtrSxP7aF1sG9OX3XxAyCoyk.ghdDAKfDFe88aWPpmdC6",
		"bob:{SHA}6UJOfiqIYKDTGYp5TpQiLXoQg9I=:extra", "  carol:esJ4oL4Sb7atM\r",
		"# comment", "", ":nohash", "noname:", "no colon", "a:b:c:d", "\t\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		name, hash, kind := parseLine(line)
		switch kind {
		case lineUser:
			if name == "" || hash == "" || strings.Contains(name, ":") || strings.Contains(hash, ":") {
				t.Fatalf("parseLine(%q) = %q, %q", line, name, hash)
			}
			if name[0] == '#' || name != strings.TrimLeft(name, " \t\r\n\v\f") {
				t.Fatalf("parseLine(%q): name %q", line, name)
			}
			// What we would write for a valid name re-reads the same.
			if ValidateName(name) == nil {
				n2, h2, k2 := parseLine(formatLine(name, strings.TrimSpace(hash)))
				if k2 != lineUser || n2 != name || h2 != strings.TrimSpace(hash) {
					t.Fatalf("round trip of %q: %q %q %v", line, n2, h2, k2)
				}
			}
		case lineOther, lineInvalid:
			if name != "" || hash != "" {
				t.Fatalf("parseLine(%q) kind %v returned %q %q", line, kind, name, hash)
			}
		}
		// A file of this line keeps it verbatim.
		if line != "" && !strings.Contains(line, "\n") {
			if got := string(splitFile([]byte(line + "\n")).bytes()); got != line+"\n" {
				t.Fatalf("rewrite of %q gave %q", line, got)
			}
		}
	})
}

func TestSHACrypt(t *testing.T) {
	for _, tt := range []struct{ password, want string }{
		// Drepper's specification: rounds below 1000 are raised to 1000.
		{"the minimum number is still observed", "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
		// openssl passwd -5 / -6 -salt saltstring 'Hello world!'
		{"Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		// htpasswd -nb -2 / -5 -r 10000
		{"Hello world!", "$5$fv1GHRCo.obY6JQd$v46Kxzgk7aLV1OO/Ze3XjgtOfa1lw.KtRYEFp385g08"},
		{"pw", "$6$rounds=10000$8FIlP4vVCcg7ko0o$wl4464F0WtI1di54T6RmDUJi0wpNV8u5uFRSgCDNz2vuajweuweDWuu/Vi1HjhZN.vX.pMky75SVxVB4tl96Y0"},
	} {
		if got := shaCrypt(tt.password, tt.want); got != tt.want {
			t.Errorf("shaCrypt(%q) = %s\nwant %s", tt.password, got, tt.want)
		}
	}
	if got := shaCrypt("Hello world!", "$6$rounds=10$roundstoolow"); !strings.HasPrefix(got, "$6$rounds=1000$roundstoolow$") {
		t.Errorf("rounds not clamped: %s", got)
	}
	for _, bad := range []string{"$5$rounds=x$salt$", "$5$rounds=10", "$7$salt$"} {
		if got := shaCrypt("pw", bad); got != "" {
			t.Errorf("shaCrypt(%q) = %q, want \"\"", bad, got)
		}
	}
	_ = shaCrypt("", "$5$$") // empty password and salt: no panic
}

func TestSHACryptNotLogged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	os.WriteFile(path, []byte("sha512:$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n"), 0o600)
	var logs bytes.Buffer
	s := openFile(t, path, testOptions(slog.New(slog.NewTextHandler(&logs, nil))))
	mustCheck(t, s, "sha512", "Hello world!", Granted)
	if logs.Len() != 0 {
		t.Errorf("SHA-crypt logged: %s", logs.String())
	}
}

// TestCheckDuringWrites checks a stable user from several goroutines while
// the file is rewritten by us and replaced by another store: no Check may
// fail or see a half-written file.
func TestCheckDuringWrites(t *testing.T) {
	ctx := context.Background()
	s := newFileStore(t, testOptions(nil))
	other := openFile(t, s.Path(), testOptions(nil))
	if err := s.Add(ctx, "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if r, err := s.Check(ctx, "alice", "wonderland"); r != Granted || err != nil {
					t.Errorf("Check during writes: %v, %v", r, err)
					return
				}
			}
		})
	}
	for i := range 40 {
		w := s
		if i%2 == 1 {
			w = other
		}
		if err := w.Add(ctx, fmt.Sprintf("u%d", i), "first secret"); err != nil {
			t.Error(err)
		}
	}
	close(done)
	wg.Wait()
	mustCheck(t, s, "u39", "first secret", Granted)
}

// TestConcurrentAddProcesses has real processes (this test binary, run as
// helpers) add users to one file at the same time as this process.
func TestConcurrentAddProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx := context.Background()
	s := newFileStore(t, testOptions(nil))
	const procs, each = 3, 40
	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAddProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("USERS_HELPER_ADD=%s|p%d|%d", s.Path(), p, each))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("helper %d:\n%s", p, out.String())
			}
		})
		cmds = append(cmds, cmd)
	}
	var wg sync.WaitGroup
	for i := range each {
		wg.Go(func() {
			if err := s.Add(ctx, fmt.Sprintf("main-%d", i), "first secret"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper %d: %v", i, err)
		}
	}
	names, err := s.Names(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != (procs+1)*each {
		t.Fatalf("%d users, want %d", len(names), (procs+1)*each)
	}
	for p := range procs {
		mustCheck(t, s, fmt.Sprintf("p%d-%d", p, each-1), "first secret", Granted)
	}
}

// TestHelperAddProcess is the child of TestConcurrentAddProcesses.
func TestHelperAddProcess(t *testing.T) {
	spec := os.Getenv("USERS_HELPER_ADD")
	if spec == "" {
		t.Skip("helper process only")
	}
	parts := strings.Split(spec, "|")
	var n int
	fmt.Sscan(parts[2], &n)
	s := openFile(t, parts[0], testOptions(nil))
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.Add(context.Background(), fmt.Sprintf("%s-%d", parts[1], i), "first secret"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
