// Package database opens websession's PostgreSQL pool (mod_dbd's DBDriver
// pgsql and DBDParams) and runs the embedded goose migrations.
//
// Unlike mod_dbd, which keeps per-process connection pools, the pool is one
// database/sql pool shared by the whole server; stores prepare their own
// statements on it at start-up. mod_dbd's directives map onto it so:
//
//	DBDMin N      N connections opened at start-up (database/sql has no
//	              floor; they stay while DBDKeep and DBDExptime allow)
//	DBDKeep N     SetMaxIdleConns(N): connections kept open when idle;
//	              default DBDMax, so a loaded server never closes and
//	              reopens connections between bursts (mod_dbd's 2 is per
//	              process, and Apache runs many)
//	DBDMax N      SetMaxOpenConns(N): connections at most; default 10
//	DBDExptime S  SetConnMaxIdleTime(S): an idle connection is closed after
//	              S seconds without use; default 300
//
// A connection is also replaced after an hour (SetConnMaxLifetime), so a
// long-lived server follows a PostgreSQL failover or configuration change.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq" // DBDriver pgsql, and its errors
	"github.com/pressly/goose/v3"

	"github.com/websession/websession/migrations"
)

// PoolOptions sizes the pool, like mod_dbd's DBDMin/DBDKeep/DBDMax/DBDExptime.
// Zero values take the defaults noted on each field.
type PoolOptions struct {
	MinOpen     int           // DBDMin; opened at start-up
	MaxOpen     int           // DBDMax; default 10
	MaxIdle     int           // DBDKeep; default MaxOpen
	MaxIdleTime time.Duration // DBDExptime; default 5m
	MaxLifetime time.Duration // default 1h
	PingTimeout time.Duration // how long Open waits for the first ping; default 5s
}

// Open opens a pool on conninfo (DBDParams: a libpq key=value string or a
// postgres:// URL, which lib/pq reads as is) and pings it. Errors name
// DBDParams with the password masked.
func Open(ctx context.Context, conninfo string, pool PoolOptions) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", conninfo)
	if err != nil {
		return nil, fmt.Errorf("database: DBDParams %q: %w", Redact(conninfo), scrub(err, conninfo))
	}
	maxOpen := orInt(pool.MaxOpen, 10)
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(min(orInt(pool.MaxIdle, maxOpen), maxOpen))
	db.SetConnMaxIdleTime(orDur(pool.MaxIdleTime, 5*time.Minute))
	db.SetConnMaxLifetime(orDur(pool.MaxLifetime, time.Hour))
	pctx, cancel := context.WithTimeout(ctx, orDur(pool.PingTimeout, 5*time.Second))
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		if errors.Is(err, pq.ErrSSLNotSupported) {
			// lib/pq asks for TLS unless told otherwise (sslmode=require).
			return nil, fmt.Errorf("database: connecting with DBDParams %q: the server does not offer TLS; "+
				"if the connection need not be encrypted (the same host, a private network), add sslmode=disable to DBDParams "+
				"(\"... sslmode=disable\" or \"postgres://...?sslmode=disable\"): %w", Redact(conninfo), err)
		}
		return nil, fmt.Errorf("database: connecting with DBDParams %q: %w", Redact(conninfo), scrub(err, conninfo))
	}
	if err := warm(pctx, db, min(pool.MinOpen, maxOpen)); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: opening DBDMin connections with DBDParams %q: %w", Redact(conninfo), scrub(err, conninfo))
	}
	return db, nil
}

// warm opens n connections at once and puts them back in the pool idle.
func warm(ctx context.Context, db *sqlx.DB, n int) error {
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	return nil
}

func orInt(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

func orDur(v, d time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return d
}

var kvPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)

// Redact returns conninfo with any password replaced by "xxxxx", for logs
// and error messages.
func Redact(conninfo string) string {
	if strings.HasPrefix(conninfo, "postgres://") || strings.HasPrefix(conninfo, "postgresql://") {
		u, err := url.Parse(conninfo)
		if err != nil {
			return "(unparsable URL)"
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return kvPassword.ReplaceAllString(conninfo, "${1}xxxxx")
}

// scrub makes sure err's text never contains the password from conninfo.
func scrub(err error, conninfo string) error {
	pw := password(conninfo)
	if pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), pw, "xxxxx"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

func password(conninfo string) string {
	if u, err := url.Parse(conninfo); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if pw, ok := u.User.Password(); ok {
			return pw
		}
		return u.Query().Get("password")
	}
	if m := kvPassword.FindStringSubmatch(conninfo); m != nil {
		return strings.Trim(m[2], "'")
	}
	return ""
}

// Migrate runs the embedded migrations: "up" applies all pending ones,
// "down" rolls back the latest one, "status" lists them. Progress goes to out.
func Migrate(ctx context.Context, db *sqlx.DB, command string, out io.Writer) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db.DB, migrations.FS)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	switch command {
	case "up":
		res, err := p.Up(ctx)
		for _, r := range res {
			fmt.Fprintln(out, r)
		}
		if err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		if len(res) == 0 {
			fmt.Fprintln(out, "no pending migrations")
		}
	case "down":
		r, err := p.Down(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			fmt.Fprintln(out, "no migration to roll back")
			return nil
		}
		if err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		fmt.Fprintln(out, r)
	case "status":
		// goose's Status creates its version table when missing; status
		// must change nothing, so a database that never migrated is
		// answered from the embedded list alone.
		var table *string
		if err := db.GetContext(ctx, &table, "select to_regclass('goose_db_version')::text"); err != nil {
			return fmt.Errorf("migrate status: %w", err)
		}
		if table == nil {
			for _, src := range p.ListSources() {
				fmt.Fprintf(out, "%-25s %s\n", "pending", src.Path)
			}
			return nil
		}
		sts, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("migrate status: %w", err)
		}
		for _, s := range sts {
			applied := "pending"
			if s.State == goose.StateApplied {
				applied = s.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(out, "%-25s %s\n", applied, s.Source.Path)
		}
	default:
		return fmt.Errorf("migrate: unknown command %q (want up, down or status)", command)
	}
	return nil
}
