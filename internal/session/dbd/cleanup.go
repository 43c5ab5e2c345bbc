package dbd

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// CleanupLabel is the DBDPrepareSQL label of the statement that deletes
// expired rows: the manual's name for it (httpd itself never runs it).
const CleanupLabel = "cleansession"

// DeleteExpired runs a cleanup statement once, without a session store:
// what `web session cleanup` does from cron. statement takes the one
// parameter of DefaultCleanup, now in µs since the Unix epoch; empty means
// DefaultCleanup.
func DeleteExpired(ctx context.Context, db *sqlx.DB, statement string, now time.Time) (int64, error) {
	if statement == "" {
		statement = DefaultCleanup
	}
	q, n, err := ConvertPlaceholders(statement)
	if err != nil {
		return 0, fmt.Errorf("dbd: cleanup statement: %w", err)
	}
	if n > 1 {
		return 0, fmt.Errorf("dbd: cleanup statement %q has %d parameters, at most 1 is bound", statement, n)
	}
	args := []any{now.UnixMicro()}[:n]
	res, err := db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("dbd: cleanup: %w", err)
	}
	return res.RowsAffected()
}
