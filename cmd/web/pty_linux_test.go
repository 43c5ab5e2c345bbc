package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: what a user's terminal is to web.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

// terminalSession runs `web ARGS` with a terminal as its standard input,
// output and error, and types answer i once prompt i+1 is shown and the
// terminal stopped echoing (as reading a password makes it).
func terminalSession(t *testing.T, answers []string, args ...string) (screen string, err error) {
	t.Helper()
	master, tty := openPTY(t)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asWeb+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out strings.Builder
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 512)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String()
	}
	for i, answer := range answers {
		deadline := time.Now().Add(30 * time.Second)
		for {
			// Type only once echo is off: what we type is then never shown.
			tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if tio.Lflag&unix.ECHO == 0 && strings.Count(seen(), "assword: ") > i {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("no password prompt %d within 30s; the terminal shows %q", i+1, seen())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := master.WriteString(answer + "\r"); err != nil {
			t.Fatal(err)
		}
	}
	err = cmd.Wait()
	// The child's last words may still sit in the terminal: read until
	// the master reports that no one holds the terminal open any more.
	tty.Close()
	select {
	case <-drained:
	case <-time.After(30 * time.Second):
		t.Fatalf("the terminal did not close; it shows %q", seen())
	}
	return seen(), err
}

// TestUserAddOnATerminal: on a terminal the password is asked twice and
// never shown; two different answers change nothing.
func TestUserAddOnATerminal(t *testing.T) {
	t.Parallel()
	conf, userFile := userConf(t)
	screen, err := terminalSession(t, []string{"a long secret", "a long secret"}, "user", "add", "-config", conf, "alice")
	if err != nil {
		t.Fatalf("web user add on a terminal: %v; the terminal shows %q", err, screen)
	}
	if !strings.Contains(screen, "Password: ") || !strings.Contains(screen, "Repeat the password: ") || strings.Contains(screen, "secret") {
		t.Fatalf("the terminal shows %q: want two prompts and no password", screen)
	}
	if data, _ := os.ReadFile(userFile); !strings.Contains(string(data), "alice:$2") {
		t.Fatalf("user file %q", data)
	}

	screen, err = terminalSession(t, []string{"one password", "another one"}, "user", "passwd", "-config", conf, "alice")
	if err == nil || !strings.Contains(screen, "the two passwords differ") {
		t.Fatalf("different answers: %v; the terminal shows %q", err, screen)
	}
}
