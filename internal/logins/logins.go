// Package logins keeps the table of active logins (session_login,
// migration 00005), so that a user can see their sessions, on every
// server sharing the database, and end any one of them.
//
// A row is keyed by the login id kept in the session (the id the record
// of ended logins names). It is written at login, and when the login is
// seen again at most once every TouchInterval per login and process, so
// the table costs no query on most requests. Rows go at logout, when a
// login is ended, and once they are past their end (Forget).
package logins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// TouchInterval is how often a login's last-seen time is written, at
// most: the page shows it to the minute.
const TouchInterval = time.Minute

// Column limits (the table has the same).
const (
	MaxIDLen     = 64
	MaxUserLen   = 255
	MaxClientLen = 64
	MaxAgentLen  = 255
)

// MaxListed bounds the logins List returns: the most recently seen.
const MaxListed = 100

// maxTouched bounds the per-process memory of when each login was last
// written; past it the memory starts again (each login is written once
// more).
const maxTouched = 100000

// Login is one row: a login of a user, as the sessions page shows it.
type Login struct {
	ID       string
	User     string
	Created  time.Time
	LastSeen time.Time
	// Client is the client address it was last seen from.
	Client string
	// Agent is the User-Agent it was last seen with.
	Agent string
	// Until is when the row is no longer needed: the session has expired
	// or reached its lifetime by then.
	Until time.Time
}

// Table is the session_login table on a database. It is safe for
// concurrent use.
type Table struct {
	db      *sqlx.DB
	timeout time.Duration
	logger  *slog.Logger

	mu      sync.Mutex
	touched map[string]time.Time // login id: when this process last wrote it
}

// New returns the table on db; logger may be nil.
func New(db *sqlx.DB, logger *slog.Logger) *Table {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Table{db: db, timeout: 5 * time.Second, logger: logger, touched: map[string]time.Time{}}
}

// clip cuts s to at most n bytes of valid UTF-8 without control
// characters, so that whatever a client sends fits the column and reads
// back as text.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

func check(l Login) error {
	switch {
	case l.ID == "" || len(l.ID) > MaxIDLen:
		return fmt.Errorf("login id of %d bytes, want 1 to %d", len(l.ID), MaxIDLen)
	case l.User == "" || len(l.User) > MaxUserLen:
		return fmt.Errorf("user name of %d bytes, want 1 to %d", len(l.User), MaxUserLen)
	case l.Until.IsZero():
		return errors.New("no end")
	}
	return nil
}

const upsert = `INSERT INTO session_login (id, name, created, last_seen, client, agent, until)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen, client = EXCLUDED.client,
    agent = EXCLUDED.agent, until = EXCLUDED.until
WHERE session_login.name = EXCLUDED.name`

// Seen records that login l was used at l.LastSeen: at once when force is
// set (a login), else only when this process has not written it for
// TouchInterval. A row that is missing (the database was down at login,
// or the session was made before the table) is written anew. A row of the
// same id but another user is left alone.
func (t *Table) Seen(ctx context.Context, l Login, force bool) error {
	if err := check(l); err != nil {
		return fmt.Errorf("logins: %w", err)
	}
	t.mu.Lock()
	last, ok := t.touched[l.ID]
	if !force && ok && l.LastSeen.Sub(last) < TouchInterval {
		t.mu.Unlock()
		return nil
	}
	if len(t.touched) >= maxTouched {
		clear(t.touched)
	}
	t.touched[l.ID] = l.LastSeen
	t.mu.Unlock()
	if l.Created.IsZero() {
		l.Created = l.LastSeen
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	_, err := t.db.ExecContext(ctx, upsert, l.ID, l.User, l.Created.UnixMicro(), l.LastSeen.UnixMicro(),
		clip(l.Client, MaxClientLen), clip(l.Agent, MaxAgentLen), l.Until.UnixMicro())
	if err != nil {
		t.forgetTouch(l.ID) // try again on the next request
		return fmt.Errorf("logins: writing login: %w", err)
	}
	return nil
}

// Due reports whether Seen would write login id seen at now without
// force: the check a request makes before it gathers what a write needs.
func (t *Table) Due(id string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	last, ok := t.touched[id]
	return !ok || now.Sub(last) >= TouchInterval
}

func (t *Table) forgetTouch(ids ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		delete(t.touched, id)
	}
}

type row struct {
	ID       string `db:"id"`
	User     string `db:"name"`
	Created  int64  `db:"created"`
	LastSeen int64  `db:"last_seen"`
	Client   string `db:"client"`
	Agent    string `db:"agent"`
	Until    int64  `db:"until"`
}

func (r row) login() Login {
	return Login{ID: r.ID, User: r.User, Created: time.UnixMicro(r.Created), LastSeen: time.UnixMicro(r.LastSeen),
		Client: r.Client, Agent: r.Agent, Until: time.UnixMicro(r.Until)}
}

// List returns the user's logins still live at now, the most recently
// seen first, at most MaxListed.
func (t *Table) List(ctx context.Context, user string, now time.Time) ([]Login, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var rows []row
	err := t.db.SelectContext(ctx, &rows, `SELECT id, name, created, last_seen, client, agent, until FROM session_login
WHERE name = $1 AND until > $2 ORDER BY last_seen DESC, id LIMIT $3`, user, now.UnixMicro(), MaxListed)
	if err != nil {
		return nil, fmt.Errorf("logins: listing the logins of a user: %w", err)
	}
	out := make([]Login, len(rows))
	for i, r := range rows {
		out[i] = r.login()
	}
	return out, nil
}

// Get returns the login id of user, false when the user has no such
// live login at now.
func (t *Table) Get(ctx context.Context, user, id string, now time.Time) (Login, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var rows []row
	err := t.db.SelectContext(ctx, &rows, `SELECT id, name, created, last_seen, client, agent, until FROM session_login
WHERE id = $1 AND name = $2 AND until > $3`, id, user, now.UnixMicro())
	if err != nil {
		return Login{}, false, fmt.Errorf("logins: reading a login: %w", err)
	}
	if len(rows) == 0 {
		return Login{}, false, nil
	}
	return rows[0].login(), true, nil
}

// End deletes the row of login id (a logout, or a login ended from
// another session).
func (t *Table) End(ctx context.Context, id string) error {
	t.forgetTouch(id)
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	if _, err := t.db.ExecContext(ctx, "DELETE FROM session_login WHERE id = $1", id); err != nil {
		return fmt.Errorf("logins: deleting a login: %w", err)
	}
	return nil
}

// EndUser deletes every row of user but the login keep (log out
// everywhere, a password change).
func (t *Table) EndUser(ctx context.Context, user, keep string) error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var ids []string
	err := t.db.SelectContext(ctx, &ids, "DELETE FROM session_login WHERE name = $1 AND id <> $2 RETURNING id", user, keep)
	t.forgetTouch(ids...)
	if err != nil {
		return fmt.Errorf("logins: deleting the logins of a user: %w", err)
	}
	return nil
}

// Forget deletes the rows past their end at now, and reports how many.
func (t *Table) Forget(ctx context.Context, now time.Time) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	res, err := t.db.ExecContext(ctx, "DELETE FROM session_login WHERE until <= $1", now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("logins: deleting ended logins: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Run deletes the rows past their end every interval until ctx ends.
// Start it with go.
func (t *Table) Run(ctx context.Context, interval time.Duration, now func() time.Time) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := t.Forget(ctx, now())
		switch {
		case err != nil && ctx.Err() == nil:
			t.logger.Warn("ended logins not deleted", "err", err)
		case n > 0:
			t.logger.Info("ended logins deleted", "rows", n)
		}
	}
}
