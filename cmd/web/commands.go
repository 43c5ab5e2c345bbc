package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/server"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/dbd"
	"github.com/websession/websession/internal/session/sessioncrypto"
	"github.com/websession/websession/internal/users"
)

// migrate runs `web migrate up|down|status` on the configured database.
func migrate(ctx context.Context, opts options, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: web migrate up|down|status")
	}
	a, err := openDatabase(ctx, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	return database.Migrate(ctx, a.db, args[0], opts.stdout)
}

// openDatabase opens the configuration for a command that needs its
// database, refusing one that configures none.
func openDatabase(ctx context.Context, opts options) (*app, error) {
	a, err := open(ctx, opts)
	if err != nil {
		return nil, err
	}
	if a.db == nil {
		a.Close()
		return nil, fmt.Errorf("%s: DBDriver: no database configured (add DBDriver pgsql and DBDParams)", a.cfg.File)
	}
	return a, nil
}

// userCommand runs `web user add|passwd|delete NAME` against the user
// store of the /login location (or the first location that has one).
func userCommand(ctx context.Context, opts options, args []string) error {
	if len(args) != 2 {
		return errors.New("usage: web user add|passwd|delete NAME (the password is read from standard input)")
	}
	verb, name := args[0], args[1]
	a, err := open(ctx, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	store, err := configuredUserStore(a)
	if err != nil {
		return err
	}
	switch verb {
	case "add", "passwd":
		pw, err := readPassword(opts.stdin)
		if err != nil {
			return err
		}
		if verb == "add" {
			err = store.Add(ctx, name, pw)
		} else {
			err = store.SetPassword(ctx, name, pw)
		}
		if err != nil {
			return userError(err)
		}
	case "delete":
		if err := store.Delete(ctx, name); err != nil {
			return userError(err)
		}
	default:
		return fmt.Errorf("unknown user command %q: use add, passwd or delete", verb)
	}
	fmt.Fprintf(opts.stdout, "user %s: %s done\n", name, verb)
	return nil
}

func userError(err error) error {
	var inv *users.InvalidError
	switch {
	case errors.As(err, &inv):
		return errors.New(inv.Message)
	case errors.Is(err, users.ErrExists):
		return errors.New("that user already exists (use passwd to change the password)")
	case errors.Is(err, users.ErrNotFound):
		return errors.New("no such user")
	}
	return err
}

func configuredUserStore(a *app) (users.Store, error) {
	candidates := []*config.Settings{a.cfg.Resolve("/login")}
	candidates = append(candidates, a.cfg.AllSettings()...)
	for _, set := range candidates {
		if set.Auth.UserFile == "" && !hasProvider(set.Auth.Providers, "dbd") {
			continue
		}
		if !set.Auth.IsForm() && set.Handler != "form-login-handler" {
			continue
		}
		stores, err := server.Providers(a.users, set.Auth, a.logger)
		if err != nil {
			return nil, err
		}
		if len(stores) > 0 {
			return stores[0], nil
		}
	}
	return nil, fmt.Errorf("%s: no user store configured (AuthUserFile or AuthFormProvider dbd)", a.cfg.File)
}

func hasProvider(list []string, p string) bool {
	for _, x := range list {
		if x == p {
			return true
		}
	}
	return false
}

// readPassword reads one line: the password, without its line ending.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		r = os.Stdin
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

// sessionCommand runs `web session decode|encode|cleanup`.
func sessionCommand(ctx context.Context, opts options, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: web session decode|encode [-passphrase P | -passphrase-file F] [-cipher C] [VALUE] | web session cleanup")
	}
	if args[0] == "cleanup" {
		return sessionCleanup(ctx, opts)
	}
	return sessionCodec(opts, args[0], args[1:])
}

func sessionCleanup(ctx context.Context, opts options) error {
	a, err := openDatabase(ctx, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	// Only the cleanup statement runs; the store insists on a key source,
	// which it never uses here.
	st, err := dbd.New(dbd.Options{DB: a.db, CookieName: "unused"})
	if err != nil {
		return err
	}
	n, err := st.Cleanup(ctx, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "deleted %d expired session rows\n", n)
	return nil
}

// sessionCodec is the manual's "standalone application": it reads or
// writes a session value outside the server, decrypting or encrypting
// when a passphrase is given.
func sessionCodec(opts options, verb string, args []string) error {
	var passphrases []string
	cipherName := ""
	var value string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-passphrase", "-passphrase-file", "-cipher":
			if i+1 >= len(args) {
				return fmt.Errorf("%s needs a value", args[i])
			}
			v := args[i+1]
			i++
			switch args[i-1] {
			case "-passphrase":
				passphrases = append(passphrases, v)
			case "-cipher":
				cipherName = v
			default:
				ps, err := passphrasesFromFile(v)
				if err != nil {
					return err
				}
				passphrases = append(passphrases, ps...)
			}
		default:
			value = args[i]
		}
	}
	if value == "" {
		v, err := readPassword(opts.stdin)
		if err != nil {
			return errors.New("give the value as an argument or on standard input")
		}
		value = v
	}
	var codec session.Cipher
	if len(passphrases) > 0 {
		c, err := sessioncrypto.New(passphrases, cipherName, sessioncrypto.Options{})
		if err != nil {
			return err
		}
		codec = c
	}
	switch verb {
	case "decode":
		if codec != nil {
			plain, err := codec.Decrypt(value)
			if err != nil {
				return errors.New("the value does not decrypt with these passphrases")
			}
			value = plain
		}
		s := session.New()
		session.Decode(s, value)
		for _, k := range s.Keys() {
			v, _ := s.Get(k)
			fmt.Fprintf(opts.stdout, "%s=%s\n", k, v)
		}
		if s.Expiry != 0 {
			fmt.Fprintf(opts.stdout, "expiry=%d (%s)\n", s.Expiry, time.UnixMicro(s.Expiry).UTC().Format(time.RFC3339))
		}
		return nil
	case "encode":
		s := session.New()
		session.Decode(s, value)
		out := session.Encode(s)
		if codec != nil && out != "" {
			enc, err := codec.Encrypt(out)
			if err != nil {
				return err
			}
			out = enc
		}
		fmt.Fprintln(opts.stdout, out)
		return nil
	}
	return fmt.Errorf("unknown session command %q: use decode, encode or cleanup", verb)
}

// passphrasesFromFile reads a passphrase file exactly as the
// SessionCryptoPassphraseFile directive does, by parsing that directive.
func passphrasesFromFile(path string) ([]string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	line := fmt.Sprintf("SessionCryptoPassphraseFile %q\n", abs)
	cfg, err := config.Parse("-passphrase-file", []byte(line), config.Options{ServerRoot: filepath.Dir(abs)})
	if err != nil {
		return nil, err
	}
	return cfg.Server.Crypto.Passphrases, nil
}
