package revocation

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// pollOverlap is how far back each poll looks before the previous one's
// start, on the database's clock: a row whose insert began before a poll
// but committed after it is still seen. Rows seen twice are harmless.
const pollOverlap = 5 * time.Second

// Postgres keeps the record in the session_revocation table (migration
// 00004), shared by every server on the database.
type Postgres struct {
	db         *sqlx.DB
	maxEntries int
	timeout    time.Duration
	logger     *slog.Logger

	mu     sync.Mutex
	cursor time.Time // database time the next poll reads from
}

// NewPostgres returns a backend on db. maxEntries bounds the rows read at
// once (0: DefaultMaxEntries); logger may be nil.
func NewPostgres(db *sqlx.DB, maxEntries int, logger *slog.Logger) *Postgres {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Postgres{db: db, maxEntries: maxEntries, timeout: 5 * time.Second, logger: logger}
}

const selectEntries = `SELECT sid, name, cutoff, keep, reason, until FROM session_revocation
WHERE until > $1 AND added > $2 ORDER BY until DESC LIMIT $3`

// Load reads every live row, the latest-expiring first when there are
// more than the bound.
func (p *Postgres) Load(ctx context.Context, now time.Time) ([]Entry, error) {
	return p.read(ctx, now, time.Time{})
}

// Changes reads the rows added since the previous read.
func (p *Postgres) Changes(ctx context.Context, now time.Time) ([]Entry, error) {
	p.mu.Lock()
	since := p.cursor
	p.mu.Unlock()
	return p.read(ctx, now, since)
}

func (p *Postgres) read(ctx context.Context, now, since time.Time) ([]Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var dbNow time.Time
	if err := p.db.QueryRowContext(ctx, "SELECT clock_timestamp()").Scan(&dbNow); err != nil {
		return nil, fmt.Errorf("revocation: reading the database clock: %w", err)
	}
	rows, err := p.db.QueryContext(ctx, selectEntries, now.UnixMicro(), since, p.maxEntries)
	if err != nil {
		return nil, fmt.Errorf("revocation: select: %w", err)
	}
	defer rows.Close()
	var out []Entry
	bad := 0
	for rows.Next() {
		var e Entry
		var cutoff, until int64
		var reason string
		if err := rows.Scan(&e.SID, &e.User, &cutoff, &e.Keep, &reason, &until); err != nil {
			return nil, fmt.Errorf("revocation: select: %w", err)
		}
		e.Reason = Reason(reason)
		e.Until = time.UnixMicro(until)
		if e.SID == "" {
			e.Cutoff = time.UnixMicro(cutoff)
		}
		if e.check() != nil {
			bad++
			continue
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("revocation: select: %w", err)
	}
	if bad > 0 {
		p.logger.Warn("revocation table: unreadable rows skipped", "rows", bad)
	}
	p.mu.Lock()
	p.cursor = dbNow.Add(-pollOverlap)
	p.mu.Unlock()
	return out, nil
}

// Add inserts a row.
func (p *Postgres) Add(ctx context.Context, e Entry) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var cutoff int64
	if e.SID == "" {
		cutoff = e.Cutoff.UnixMicro()
	}
	_, err := p.db.ExecContext(ctx,
		"INSERT INTO session_revocation (sid, name, cutoff, keep, reason, until) VALUES ($1, $2, $3, $4, $5, $6)",
		e.SID, e.User, cutoff, e.Keep, string(e.Reason), e.Until.UnixMicro())
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	return nil
}

// Forget deletes the rows no longer needed.
func (p *Postgres) Forget(ctx context.Context, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	_, err := p.db.ExecContext(ctx, "DELETE FROM session_revocation WHERE until <= $1", now.UnixMicro())
	return err
}
