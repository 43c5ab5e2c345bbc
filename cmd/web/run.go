package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const usage = `Usage: web [-config FILE] [-listen ADDR] [command]

Commands:
  serve                      serve the site (the default)
  migrate up|down|status     apply or inspect the database migrations
  user add|passwd|delete NAME
                             manage users in the configured user store
                             (the password is read from standard input)
  session decode|encode      read or write a session cookie value outside
                             the server (-passphrase or -passphrase-file)
  session cleanup            delete expired session rows from the database
  health                     exit 0 when the server at -listen (or the
                             file's Listen) answers /healthz, for containers

Without -config, web runs its embedded default configuration: encrypted
cookie sessions and users in ./data/users.htpasswd, created on first run.

Flags:
`

// options are the flags shared by every command.
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
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := options{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	fs.StringVar(&opts.configFile, "config", "", "directive `file` to run (default: the embedded configs/default.conf)")
	fs.StringVar(&opts.listen, "listen", "", "`address` to listen on, overriding the file's Listen")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	rest := fs.Args()
	cmd := "serve"
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, opts, nil)
	case "migrate":
		return migrate(ctx, opts, rest)
	case "user":
		return userCommand(ctx, opts, rest)
	case "session":
		return sessionCommand(ctx, opts, rest)
	case "health":
		return health(ctx, opts)
	case "help":
		fs.Usage()
		return nil
	}
	return fmt.Errorf("unknown command %q; commands: %s (web -h for help)", cmd, strings.Join([]string{"serve", "migrate", "user", "session", "health"}, ", "))
}
