// Package database opens websession's PostgreSQL pool (mod_dbd's DBDriver
// pgsql and DBDParams) and runs the embedded goose migrations.
//
// Unlike mod_dbd, which keeps per-process connection pools and prepares the
// DBDPrepareSQL statements at start-up, the pool is one database/sql pool
// shared by the whole server; stores prepare their own statements on it.
package database

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // DBDriver pgsql
	"github.com/pressly/goose/v3"

	"github.com/websession/websession/migrations"
)

// PoolOptions sizes the pool, like mod_dbd's DBDMin/DBDKeep/DBDMax/DBDExptime.
// Zero values take the defaults noted on each field.
type PoolOptions struct {
	MaxOpen     int           // DBDMax; default 10
	MaxIdle     int           // DBDKeep; default 2
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
	db.SetMaxOpenConns(orInt(pool.MaxOpen, 10))
	db.SetMaxIdleConns(orInt(pool.MaxIdle, 2))
	db.SetConnMaxIdleTime(orDur(pool.MaxIdleTime, 5*time.Minute))
	db.SetConnMaxLifetime(orDur(pool.MaxLifetime, time.Hour))
	pctx, cancel := context.WithTimeout(ctx, orDur(pool.PingTimeout, 5*time.Second))
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: connecting with DBDParams %q: %w", Redact(conninfo), scrub(err, conninfo))
	}
	return db, nil
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
