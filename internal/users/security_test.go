package users

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestCanonicalName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, want, err string // err: a fragment of the message
	}{
		{"alice", "alice", ""},
		{"Alice", "alice", ""},
		{"ALICE", "alice", ""},
		{"zo\u00eb", "zo\u00eb", ""},        // NFC
		{"zoe\u0308", "zo\u00eb", ""},       // NFD: the same name
		{"Jean Dupont", "jean dupont", ""},  // RFC 8265 §3.1: parts
		{"ｊｏｈｎ", "john", ""},                // full-width letters
		{"иван", "иван", ""},                // one alphabet, Cyrillic
		{"tanaka田中", "tanaka田中", ""},        // Latin with Han is allowed
		{"al\u200bice", "", "invisible"},    // zero-width space
		{"al\u00adice", "", "invisible"},    // soft hyphen
		{"\u0430lice", "", "alphabets"},     // Cyrillic а among Latin letters
		{"p\u03b1ypal", "", "alphabets"},    // Greek α
		{"Jean  Dupont", "", "two spaces"},  // look-alike of "Jean Dupont"
		{"alice\u2003", "", "begin or end"}, // trailing em space
		{"ali😀ce", "", "emoji"},             // a symbol
		{"al\x00ice", "", "control"},
		{"al\xffice", "", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.name), func(t *testing.T) {
			t.Parallel()
			got, err := CanonicalName(tt.name)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Fatalf("CanonicalName(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != FieldName || !strings.Contains(inv.Message, tt.err) {
				t.Fatalf("CanonicalName(%q) = %q, %v; want an InvalidError about %q", tt.name, got, err, tt.err)
			}
		})
	}
}

// TestLookAlikeAccounts is the attack of issue 15.17 against both stores:
// every look-alike of an existing account must be refused.
func TestLookAlikeAccounts(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T) Store{
		"file": func(t *testing.T) Store { return newFileStore(t, testOptions(nil)) },
		"db": func(t *testing.T) Store {
			s, _ := newDBStore(t, testOptions(nil))
			return s
		},
	}
	for kind, open := range stores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := open(t)
			for _, n := range []string{"alice", "zo\u00eb"} {
				if err := s.Add(ctx, n, "wonderland"); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range []string{"Alice", "ALICE", "zoe\u0308", "ZOË"} {
				if err := s.Add(ctx, n, "wonderland"); !errors.Is(err, ErrExists) {
					t.Errorf("Add(%q) = %v, want ErrExists", n, err)
				}
			}
			for _, n := range []string{"al\u200bice", "\u0430lice", "alice\u200d"} {
				var inv *InvalidError
				if err := s.Add(ctx, n, "wonderland"); !errors.As(err, &inv) {
					t.Errorf("Add(%q) = %v, want an InvalidError", n, err)
				}
			}
			// The canonical spellings log in to the one account.
			mustCheck(t, s, "Alice", "wonderland", Granted)
			mustCheck(t, s, "zoe\u0308", "wonderland", Granted)
			mustCheck(t, s, "\u0430lice", "wonderland", NotFound)
			if err := s.SetPassword(ctx, "ALICE", "looking-glass"); err != nil {
				t.Fatal(err)
			}
			mustCheck(t, s, "alice", "looking-glass", Granted)
		})
	}
}

// TestLegacyNamesKeepLoggingIn: names in a file written before names were
// canonical, even ones CanonicalName refuses, log in exactly as written.
func TestLegacyNamesKeepLoggingIn(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.htpasswd")
	var lines []string
	legacy := []string{"Alice", "alice", "Bob  Smith", "emile\u0301", "p\u03b1ypal"}
	for i, n := range legacy {
		h, err := bcrypt.GenerateFromPassword([]byte(fmt.Sprintf("secret %d", i)), testCost)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, n+":"+string(h))
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openFile(t, path, testOptions(nil))
	for i, n := range legacy {
		mustCheck(t, s, n, fmt.Sprintf("secret %d", i), Granted)
	}
	// "ALICE" has no line of its own: the first line with its canonical
	// form, "Alice", answers, as the first of duplicates does in Apache.
	mustCheck(t, s, "ALICE", "secret 0", Granted)
	if err := s.Add(context.Background(), "ALICE", "wonderland"); !errors.Is(err, ErrExists) {
		t.Fatalf("Add(ALICE) = %v, want ErrExists", err)
	}
}

// TestWeakPasswordsRefused is the attack of issue 15.16.
func TestWeakPasswordsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, password, want string
	}{
		{"alice", "password", "one of the 10,000 most common"},
		{"alice", "PassWord", "one of the 10,000 most common"},
		{"alice", "12345678", "one of the 10,000 most common"},
		{"alice", "iloveyou", "one of the 10,000 most common"},
		{"alice", "aaaaaaaa", "too few different characters"},
		{"alice", "abababab", "too few different characters"},
		{"alice", "        ", "only spaces"},
		{"alice", "\t \t \t \t ", "only spaces"},
		{"alicebob", "alicebob", "too close to the user name"},
		{"alice", "Alice2024!", "too close to the user name"},
		{"Jean Dupont", "jeandupont1", "too close to the user name"},
		{"alice", "wonderland", ""},
		{"alice", "correct horse battery", ""},
	}
	for _, tt := range tests {
		t.Run(tt.password, func(t *testing.T) {
			t.Parallel()
			err := ValidatePassword(tt.name, tt.password)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != FieldPassword || !strings.Contains(inv.Message, tt.want) {
				t.Fatalf("ValidatePassword(%q, %q) = %v, want a message about %q", tt.name, tt.password, err, tt.want)
			}
		})
	}
	// The stores apply the policy too, not only the site.
	s := newFileStore(t, testOptions(nil))
	var inv *InvalidError
	if err := s.Add(context.Background(), "alice", "password"); !errors.As(err, &inv) {
		t.Fatalf("Add with a common password: %v", err)
	}
}

// TestCommonPasswordList: the vendored list is sorted and unique, which
// the binary search needs, and every entry is found.
func TestCommonPasswordList(t *testing.T) {
	t.Parallel()
	lines := strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
	if len(lines) < 2000 {
		t.Fatalf("only %d common passwords", len(lines))
	}
	for i, l := range lines {
		if i > 0 && lines[i-1] >= l {
			t.Fatalf("line %d %q not after %q", i+1, l, lines[i-1])
		}
		if !isCommonPassword(l) || isCommonPassword(l+"\x01") {
			t.Fatalf("lookup of %q wrong", l)
		}
	}
	if isCommonPassword("") || isCommonPassword("zzzzzzzzzzzzzzzzz") || isCommonPassword("!") {
		t.Fatal("found what is not listed")
	}
}

func TestHashLimiter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewHashLimiter(HashLimiterOptions{Slots: 1, Queue: 1, Wait: 1})
	release, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The one queue place: waits, then gives up.
	if _, err := l.Acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("queued acquire = %v, want ErrBusy", err)
	}
	release()
	r2, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2()
	none := NewHashLimiter(HashLimiterOptions{Slots: 1, Queue: -1})
	hold, _ := none.Acquire(ctx)
	defer hold()
	if _, err := none.Acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("acquire without a queue = %v, want ErrBusy", err)
	}
}

// TestHashLimiterDefaultQueue: by default 32 checks per slot may wait
// (they cost no CPU while they do) before one is refused at once; refusals
// are what a flood of logins would otherwise spend the cores on.
func TestHashLimiterDefaultQueue(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	l := NewHashLimiter(HashLimiterOptions{Slots: 1, Wait: time.Hour})
	hold, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	waiting := make(chan error)
	for range 32 {
		go func() { _, err := l.Acquire(ctx); waiting <- err }()
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(l.queue) < 32 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 32 checks found a queue place", len(l.queue))
		}
		runtime.Gosched()
	}
	if _, err := l.Acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("the 34th check: %v, want ErrBusy at once", err)
	}
	cancel()
	for range 32 {
		if err := <-waiting; !errors.Is(err, context.Canceled) {
			t.Fatalf("waiting check: %v, want context.Canceled", err)
		}
	}
}

// busyStore is a file store with alice whose one hash slot the test holds
// and no queue: every check or hash that needs bcrypt gets ErrBusy.
func busyStore(t *testing.T) *FileStore {
	t.Helper()
	opts := testOptions(nil)
	opts.Hashes = NewHashLimiter(HashLimiterOptions{Slots: 1, Queue: -1})
	s := newFileStore(t, opts)
	if err := s.Add(context.Background(), "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, s, "alice", "wonderland", Granted) // now cached
	release, err := opts.Hashes.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return s
}

// TestChecksBoundedByLimiter: a flood of wrong passwords (issue 15.4)
// cannot run more bcrypt at once than the limiter allows; a cached right
// password needs no bcrypt and still passes.
func TestChecksBoundedByLimiter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := busyStore(t)
	for _, c := range []struct{ name, pw string }{{"alice", "wrong password"}, {"mallory", "wonderland"}} {
		if _, err := s.Check(ctx, c.name, c.pw); !errors.Is(err, ErrBusy) {
			t.Errorf("Check(%q) = %v, want ErrBusy", c.name, err)
		}
	}
	if err := s.Add(ctx, "bob", "builder's secret"); !errors.Is(err, ErrBusy) {
		t.Errorf("Add = %v, want ErrBusy", err)
	}
	mustCheck(t, s, "alice", "wonderland", Granted)
}

// TestTakenNameCostsAHash: registering a taken name spends the bcrypt a
// new name spends (issue 15.12), so the time does not tell them apart. The
// limiter shows it: with its one slot held, a taken name is busy too
// instead of answering at once.
func TestTakenNameCostsAHash(t *testing.T) {
	t.Parallel()
	s := busyStore(t)
	if err := s.Add(context.Background(), "alice", "another secret"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Add(taken) = %v, want ErrBusy (no hash was spent)", err)
	}
}

// TestDummyCostFollowsFile is issue 15.12's attack: with a file of cost-5
// hashes (htpasswd -B -C 5) an unknown user's dummy check must cost 5, not
// the configured 12, or the time tells which names exist.
func TestDummyCostFollowsFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.htpasswd")
	var lines []string
	for _, n := range []string{"alice", "bob", "carol"} {
		h, err := bcrypt.GenerateFromPassword([]byte("wonderland"), 5)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, n+":"+string(h))
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("wonderland"), 6)
	lines = append(lines, "dave:"+string(h))
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := testOptions(nil)
	opts.Cost = DefaultCost
	s := openFile(t, path, opts)
	mustCheck(t, s, "mallory", "wonderland", NotFound)
	s.v.dummyMu.Lock()
	defer s.v.dummyMu.Unlock()
	if _, ok := s.v.dummies[5]; !ok || len(s.v.dummies) != 1 {
		costs := []int{}
		for c := range s.v.dummies {
			costs = append(costs, c)
		}
		t.Fatalf("dummy hashes at costs %v, want only 5 (the file's)", costs)
	}
}

// TestAddAppends: adding a user appends one line to the file in place (no
// rewrite of the whole file, issue 15.5) and ends a torn last line first.
func TestAddAppends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newFileStore(t, testOptions(nil))
	if err := s.Add(ctx, "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	ino := func() uint64 {
		var st syscall.Stat_t
		if err := syscall.Stat(s.Path(), &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	before := ino()
	// A crash mid-append left a torn line without its newline.
	f, err := os.OpenFile(s.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("torn:$2y$04$abc")
	f.Close()
	if err := s.Add(ctx, "bob", "builder's secret"); err != nil {
		t.Fatal(err)
	}
	if ino() != before {
		t.Fatal("Add replaced the file instead of appending to it")
	}
	raw, _ := os.ReadFile(s.Path())
	f2 := splitFile(raw)
	if len(f2.lines) != 3 || f2.lines[1] != "torn:$2y$04$abc" || !strings.HasPrefix(f2.lines[2], "bob:$2y$") {
		t.Fatalf("file:\n%s", raw)
	}
	s2 := openFile(t, s.Path(), testOptions(nil))
	mustCheck(t, s2, "bob", "builder's secret", Granted)
	mustCheck(t, s, "bob", "builder's secret", Granted)
	mustCheck(t, s, "alice", "wonderland", Granted)
}

// TestDBBadBytes is issue 15.10's attack: a NUL or an invalid UTF-8 byte in
// a user name made PostgreSQL fail the query and the login answer 500.
func TestDBBadBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newDBStore(t, testOptions(nil))
	if err := s.Add(ctx, "alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"al\x00ice", "al\xffice", "\xc3", "alice\x00"} {
		if r, err := s.Check(ctx, n, "wonderland"); r != NotFound || err != nil {
			t.Errorf("Check(%q) = %v, %v; want not found", n, r, err)
		}
		if ok, err := s.Exists(ctx, n); ok || err != nil {
			t.Errorf("Exists(%q) = %v, %v", n, ok, err)
		}
		if err := s.SetPassword(ctx, n, "looking-glass"); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetPassword(%q) = %v", n, err)
		}
		var inv *InvalidError
		if err := s.Add(ctx, n, "wonderland"); !errors.As(err, &inv) {
			t.Errorf("Add(%q) = %v, want an InvalidError", n, err)
		}
	}
}
