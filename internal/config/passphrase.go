package config

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// execTimeout bounds a passphrase program run by the default Options.Exec.
const execTimeout = 10 * time.Second

// runProgram is the default Options.Exec: it runs argv and returns its
// standard output; standard error is included in the error on failure.
func runProgram(argv []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), execTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no answer within %v", execTimeout)
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	return out, nil
}

// passphrase returns the passphrase a word stands for: the word itself, or,
// for "exec:program args" (longer than 5 characters, as httpd), the first
// line of the program's standard output.
func (p *parser) passphrase(word string) (string, error) {
	if len(word) <= len("exec:") || !strings.HasPrefix(word, "exec:") {
		return word, nil
	}
	argv, err := splitWords(word[len("exec:"):])
	if err != nil || len(argv) == 0 {
		return "", p.fail("%q does not name a program; write \"exec:program args\"", word)
	}
	argv[0] = p.path(argv[0])
	out, err := p.opts.Exec(argv)
	if err != nil {
		return "", p.fail("running %q failed: %v", argv[0], err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", p.fail("%q printed no passphrase on its first line", argv[0])
	}
	return line, nil
}

// passphraseFile reads a SessionCryptoPassphraseFile as httpd does: every
// quote-aware word of every line is a passphrase, until a word starting
// with '#'; blank lines are skipped; "exec:" words are run.
func (p *parser) passphraseFile(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, p.fail("cannot read %q: %v", path, unwrapPath(err))
	}
	var list []string
	for i, line := range strings.Split(string(data), "\n") {
		words, err := splitWords(line)
		if err != nil {
			return nil, p.fail("%s:%d: %v", filepath.Base(path), i+1, err)
		}
		for _, w := range words {
			if strings.HasPrefix(w, "#") {
				break
			}
			pw, err := p.passphrase(w)
			if err != nil {
				return nil, err
			}
			list = append(list, pw)
		}
	}
	if len(list) == 0 {
		return nil, p.fail("%q holds no passphrase", path)
	}
	return list, nil
}

// ReadPassphraseFile reads a passphrase file exactly as the
// SessionCryptoPassphraseFile directive does, for programs that need the
// passphrases without a configuration (web session decode). A relative
// "exec:" program resolves against the file's folder.
func ReadPassphraseFile(path string, opts Options) ([]string, error) {
	if opts.Exec == nil {
		opts.Exec = runProgram
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	p := &parser{file: path, opts: opts, cfg: &Config{ServerRoot: filepath.Dir(abs)}}
	list, err := p.passphraseFile(abs)
	var ce *Error
	if errors.As(err, &ce) {
		return nil, errors.New(ce.Msg) // no directive or line to name
	}
	return list, err
}

// generatePassphraseFile creates path holding one random passphrase when
// it does not exist yet, mode 0600 (as os.CreateTemp makes it) in a folder of mode 0700. The file
// appears complete or not at all (written aside, then hard-linked into
// place), so a second server starting at the same moment never reads half
// a secret, and whichever server links first wins.
func (p *parser) generatePassphraseFile(path string) error {
	if _, err := os.Lstat(path); err == nil || errors.Is(err, fs.ErrPermission) {
		return nil // there already, or unreadable: reading it reports why
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return p.fail("cannot create the folder %q: %v; make it writable, or give a path you can write to (relative paths resolve against ServerRoot %s)", dir, unwrapPath(err), p.cfg.ServerRoot)
	}
	tmp, err := os.CreateTemp(dir, ".passphrase-*")
	if err != nil {
		return p.fail("cannot write in the folder %q: %v; make it writable, or give a path you can write to (relative paths resolve against ServerRoot %s)", dir, unwrapPath(err), p.cfg.ServerRoot)
	}
	defer os.Remove(tmp.Name())
	key := make([]byte, 32)
	rand.Read(key) // never fails: crypto/rand crashes the program instead
	secret := base64.RawStdEncoding.EncodeToString(key)
	_, werr := fmt.Fprintf(tmp, "# Made by websession on first run (SessionCryptoGeneratedPassphraseFile); keep it secret.\n%s\n", secret)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
			werr = err
		}
	}
	if werr != nil {
		return p.fail("cannot create %q: %v", path, werr)
	}
	return nil
}

// unwrapPath drops the path from an *os.PathError, which the message
// already names.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// MinPassphraseLen is the passphrase length below which start-up warns:
// a session cookie is enough to try passphrases offline, and a short one
// (the manual's "secret") falls to a dictionary at once.
const MinPassphraseLen = 16

// checkPassphrases refuses an empty passphrase, which would encrypt with a
// key anyone can derive, and warns (Config.Warnings) about short ones. The
// passphrase itself never goes into a message.
func (p *parser) checkPassphrases(list []string) error {
	for i, pw := range list {
		switch n := utf8.RuneCountInString(pw); {
		case n == 0:
			return p.fail("passphrase %d is empty; an empty passphrase protects nothing. Give at least %d random characters, e.g. the output of: openssl rand -base64 24", i+1, MinPassphraseLen)
		case n < MinPassphraseLen:
			p.cfg.Warnings = append(p.cfg.Warnings, &Error{File: p.file, Line: p.line, Directive: p.name,
				Msg: fmt.Sprintf("passphrase %d has only %d characters; anyone holding one session cookie can guess it offline. Use at least %d random characters, e.g. the output of: openssl rand -base64 24", i+1, n, MinPassphraseLen)})
		}
	}
	return nil
}
