package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/server"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/dbd"
	"github.com/websession/websession/internal/session/sessioncrypto"
	"github.com/websession/websession/internal/users"
)

// migrate runs `web migrate up|down|status` on the configured database.
// It never migrates on its own (DBDAutoMigrate applies when serving), so
// status changes nothing and down is not undone.
func migrate(ctx context.Context, opts options, verb string) error {
	switch verb {
	case "up", "down", "status":
	default:
		return fmt.Errorf("unknown migrate command %q: use up, down or status", verb)
	}
	a, err := openDatabase(ctx, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	return database.Migrate(ctx, a.db, verb, opts.stdout)
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
func userCommand(ctx context.Context, opts options, verb, name string) error {
	switch verb {
	case "add", "passwd", "delete":
	default:
		return fmt.Errorf("unknown user command %q: use add, passwd or delete", verb)
	}
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
		pw, err := newPassword(opts)
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

// newPassword gets the password for user add|passwd. On a terminal it is
// asked for twice, without echo; otherwise (a script piping it) it is the
// first line of standard input.
func newPassword(opts options) (string, error) {
	in := opts.stdin
	if in == nil {
		in = os.Stdin
	}
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		pw, err := readLine(in)
		if errors.Is(err, errNoInput) {
			return "", errors.New("no password on standard input")
		}
		return pw, err
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(opts.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(opts.stderr)
		return string(b), err
	}
	pw, err := ask("Password: ")
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", errors.New("no password given; nothing changed")
	}
	again, err := ask("Repeat the password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the two passwords differ; nothing changed")
	}
	return pw, nil
}

var errNoInput = errors.New("nothing on standard input")

// readLine reads one line without its line ending.
func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errNoInput
	}
	return line, nil
}

// sessionCleanup runs the configured cleanup statement once, as each
// server does every SessionDBDCleanupInterval.
func sessionCleanup(ctx context.Context, opts options) error {
	a, err := openDatabase(ctx, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	stmt, err := cleanupStatement(a.cfg)
	if err != nil {
		return err
	}
	n, err := dbd.DeleteExpired(ctx, a.db, stmt, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "deleted %d expired session rows\n", n)
	return nil
}

// cleanupStatement is the configuration's DBDPrepareSQL cleansession
// statement, or "" for the manual's. Sessions kept with statements of
// one's own may live in another table, so then it must be given, as the
// server also insists.
func cleanupStatement(cfg *config.Config) (string, error) {
	if stmt, ok := cfg.DBD.PrepareSQL[dbd.CleanupLabel]; ok {
		return stmt, nil
	}
	for _, set := range cfg.AllSettings() {
		for _, label := range []string{set.DBD.SelectLabel, set.DBD.InsertLabel, set.DBD.UpdateLabel, set.DBD.DeleteLabel} {
			if _, own := cfg.DBD.PrepareSQL[label]; own {
				return "", fmt.Errorf("%s: the session statements come from DBDPrepareSQL, so the cleanup cannot assume table session; "+
					"add DBDPrepareSQL \"delete from TABLE where expiry != 0 and expiry < %%lld\" %s", cfg.File, dbd.CleanupLabel)
			}
		}
	}
	return "", nil
}

// codecFlags are the flags of session decode|encode.
type codecFlags struct {
	list   passphraseList
	cipher string
}

// passphraseList is the -passphrase flag: each use adds one, in order.
type passphraseList []string

func (l *passphraseList) String() string { return "" } // never print secrets as defaults

func (l *passphraseList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// passphraseFileFlag is -passphrase-file: it adds the file's passphrases,
// read as SessionCryptoPassphraseFile reads them, to the same list, so the
// order of the flags is the order of the passphrases.
type passphraseFileFlag struct{ list *passphraseList }

func (f passphraseFileFlag) String() string { return "" }

func (f passphraseFileFlag) Set(path string) error {
	ps, err := config.ReadPassphraseFile(path, config.Options{})
	if err != nil {
		return err
	}
	*f.list = append(*f.list, ps...)
	return nil
}

// sessionCodec is the manual's "standalone application": it reads or
// writes a session value outside the server, decrypting or encrypting
// when a passphrase is given. The value comes from the argument or, if
// none, the first line of standard input.
func sessionCodec(opts options, verb string, flags codecFlags, value string) error {
	if verb != "decode" && verb != "encode" {
		return fmt.Errorf("unknown session command %q: use decode, encode or cleanup", verb)
	}
	if value == "" {
		in := opts.stdin
		if in == nil {
			in = os.Stdin
		}
		v, err := readLine(in)
		if err != nil {
			return errors.New("give the value as an argument or on standard input")
		}
		value = v
	}
	var codec session.Cipher
	if len(flags.list) > 0 {
		c, err := sessioncrypto.New(flags.list, flags.cipher, sessioncrypto.Options{})
		if err != nil {
			return err
		}
		codec = c
	} else if flags.cipher != "" {
		return errors.New("-cipher needs -passphrase or -passphrase-file")
	}
	switch verb {
	case "decode":
		if codec != nil {
			plain, err := codec.Decrypt(value)
			if err != nil {
				return errors.New("the value does not decrypt with these passphrases")
			}
			value = plain
		} else if looksEncrypted(value) {
			return errors.New("the value is encrypted (mod_session_crypto): give its passphrase with -passphrase or -passphrase-file")
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
	default:
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
}

// looksEncrypted reports whether a cookie value has mod_session_crypto's
// shape: standard base64 of an 8-byte MAC, a 16-byte salt, a 16-byte IV
// and whole cipher blocks (8 bytes for 3DES, 16 for AES). A plain session
// never has it: it holds '=' between its keys and values, which base64
// allows only as padding at the end.
func looksEncrypted(v string) bool {
	raw, err := base64.StdEncoding.DecodeString(v)
	return err == nil && len(raw) >= 8+16+16+8 && (len(raw)-40)%8 == 0
}
