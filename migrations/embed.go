// Package migrations holds websession's goose SQL migrations, embedded so
// the binary can run them (web migrate up|down|status) with no files around.
package migrations

import "embed"

// FS holds the *.sql migrations, named NNNNN_what.sql.
//
//go:embed *.sql
var FS embed.FS
