package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const usage = `Usage: web [flags] [command] [flags] [arguments]

Commands:
  serve [-config FILE] [-listen ADDR]
                             serve the site (the default)
  migrate up|down|status [-config FILE]
                             apply or inspect the database migrations
  user add|passwd|delete [-config FILE] NAME
                             manage users in the configured user store; the
                             password is asked twice on a terminal, else read
                             from standard input
  session decode|encode [-passphrase P]... [-passphrase-file F]... [-cipher C] [VALUE]
                             read or write a session cookie value outside
                             the server
  session cleanup [-config FILE]
                             delete expired session rows from the database
  health [-config FILE] [-listen ADDR]
                             exit 0 when the server at -listen (or the
                             file's Listen) answers /healthz, for containers

Flags go before or after the command; "web COMMAND -h" lists a command's.
Without -config, web runs its embedded default configuration: encrypted
cookie sessions and users in ./data/users.htpasswd, created on first run.

Flags:
`

// options are what every command may be given.
type options struct {
	configFile string
	listen     string
	getenv     func(string) string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
}

// run parses the command line and runs one command; main only adds the
// process's environment, so tests can call run directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWithInput(ctx, args, getenv, nil, stdout, stderr)
}

func runWithInput(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	opts := options{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	top := flag.NewFlagSet("web", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	configFlag(top, &opts)
	listenFlag(top, &opts)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usage)
			top.SetOutput(stderr)
			top.PrintDefaults()
			return nil
		}
		return fmt.Errorf("%w (web -h for help)", err)
	}
	rest := top.Args()
	name := "serve"
	if len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	cmd, ok := commands[name]
	if !ok {
		if name == "help" {
			return runWithInput(ctx, []string{"-h"}, getenv, stdin, stdout, stderr)
		}
		return fmt.Errorf("unknown command %q; commands: serve, migrate, user, session, health (web -h for help)", name)
	}
	if err := cmd(ctx, &opts, top, rest); !errors.Is(err, errHelpShown) {
		return err
	}
	return nil
}

// A command runs with the options the flags before it set (top tells
// which were given) and the words after it.
type command func(ctx context.Context, opts *options, top *flag.FlagSet, args []string) error

var commands = map[string]command{
	"serve": func(ctx context.Context, opts *options, top *flag.FlagSet, args []string) error {
		fs := commandFlags("serve", "web serve [-config FILE] [-listen ADDR]", opts, top, "config", "listen")
		if _, err := fs.words(args, 0, 0); err != nil {
			return err
		}
		return serve(ctx, *opts, nil)
	},
	"health": func(ctx context.Context, opts *options, top *flag.FlagSet, args []string) error {
		fs := commandFlags("health", "web health [-config FILE] [-listen ADDR]", opts, top, "config", "listen")
		if _, err := fs.words(args, 0, 0); err != nil {
			return err
		}
		return health(ctx, *opts)
	},
	"migrate": func(ctx context.Context, opts *options, top *flag.FlagSet, args []string) error {
		fs := commandFlags("migrate", "web migrate up|down|status [-config FILE]", opts, top, "config")
		words, err := fs.words(args, 1, 1)
		if err != nil {
			return err
		}
		return migrate(ctx, *opts, words[0])
	},
	"user": func(ctx context.Context, opts *options, top *flag.FlagSet, args []string) error {
		fs := commandFlags("user", "web user add|passwd|delete [-config FILE] NAME", opts, top, "config")
		words, err := fs.words(args, 2, 2)
		if err != nil {
			return err
		}
		return userCommand(ctx, *opts, words[0], words[1])
	},
	"session": func(ctx context.Context, opts *options, top *flag.FlagSet, args []string) error {
		if len(args) > 0 && args[0] == "cleanup" {
			fs := commandFlags("session cleanup", "web session cleanup [-config FILE]", opts, top, "config")
			if _, err := fs.words(args[1:], 0, 0); err != nil {
				return err
			}
			return sessionCleanup(ctx, *opts)
		}
		fs := commandFlags("session", "web session decode|encode [-passphrase P]... [-passphrase-file F]... [-cipher C] [VALUE]", opts, top)
		var c codecFlags
		fs.Var(&c.list, "passphrase", "a `passphrase` (repeat for several; the first encrypts)")
		fs.Var(passphraseFileFlag{&c.list}, "passphrase-file", "read passphrases from `file`, as SessionCryptoPassphraseFile does")
		fs.StringVar(&c.cipher, "cipher", "", "`cipher` of SessionCryptoCipher (default aes256)")
		words, err := fs.words(args, 1, 2)
		if err != nil {
			return err
		}
		value := ""
		if len(words) == 2 {
			value = words[1]
		}
		return sessionCodec(*opts, words[0], c, value)
	},
}

// commandSet is one command's flag set.
type commandSet struct {
	*flag.FlagSet
	usage  string
	stderr io.Writer
	unused []string // shared flags given before the command, which it does not use
}

// commandFlags makes the flag set of a command, offering those of the
// shared flags it uses. A shared flag given before the command that it
// does not use is an error, not silently dropped.
func commandFlags(name, usage string, opts *options, top *flag.FlagSet, shared ...string) *commandSet {
	fs := &commandSet{FlagSet: flag.NewFlagSet("web "+name, flag.ContinueOnError), usage: usage, stderr: opts.stderr}
	fs.SetOutput(io.Discard)
	uses := map[string]bool{}
	for _, s := range shared {
		uses[s] = true
		switch s {
		case "config":
			configFlag(fs.FlagSet, opts)
		case "listen":
			listenFlag(fs.FlagSet, opts)
		}
	}
	top.Visit(func(f *flag.Flag) {
		if !uses[f.Name] {
			fs.unused = append(fs.unused, f.Name)
		}
	})
	return fs
}

func configFlag(fs *flag.FlagSet, opts *options) {
	fs.StringVar(&opts.configFile, "config", opts.configFile, "directive `file` to run (default: the embedded configs/default.conf)")
}

func listenFlag(fs *flag.FlagSet, opts *options) {
	fs.StringVar(&opts.listen, "listen", opts.listen, "`address` to listen on ([host]:port or a bare port), overriding the file's Listen")
}

// words parses the command's flags wherever they stand among its words
// (`web user add -config F NAME` and `web user -config F add NAME` alike;
// after "--" every word is a word) and returns the words, between min and
// max of them.
func (fs *commandSet) words(args []string, min, max int) ([]string, error) {
	if len(fs.unused) > 0 {
		return nil, fmt.Errorf("-%s does not apply to %s; usage: %s", fs.unused[0], fs.Name(), fs.usage)
	}
	var words []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(fs.stderr, "Usage: %s\n", fs.usage)
			fs.SetOutput(fs.stderr)
			fs.PrintDefaults()
			return nil, errHelpShown
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w; usage: %s", fs.Name(), err, fs.usage)
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			words = append(words, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		words = append(words, rest[0])
		args = rest[1:]
	}
	switch {
	case len(words) > max:
		return nil, fmt.Errorf("%s: unexpected %q; usage: %s", fs.Name(), strings.Join(words[max:], " "), fs.usage)
	case len(words) < min:
		return nil, fmt.Errorf("%s: missing arguments; usage: %s", fs.Name(), fs.usage)
	}
	return words, nil
}

// errHelpShown ends a command after -h printed its usage.
var errHelpShown = errors.New("help shown")
