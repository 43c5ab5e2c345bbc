package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"

	"github.com/websession/websession/internal/rowcache"
)

// DBStore keeps users in the PostgreSQL table "users" (migrations/
// 00002_users.sql: name, password (bcrypt), created_at, updated_at), the
// AuthFormProvider dbd of mod_authn_dbd. Check runs Options.Query
// (AuthDBDUserPWQuery) once per call; bcrypt is skipped through the
// verified-credential cache.
type DBStore struct {
	db    *sqlx.DB
	query string
	opts  Options
	v     *verifier
	// cost is the bcrypt cost of the hash the last successful lookup
	// found: what an unknown user's dummy check spends (0 until then: the
	// cost of new hashes).
	cost atomic.Int64
	// cache holds hashes by name; nil unless Options.HashCache and the
	// default query.
	cache *rowcache.Cache
}

// NewDB returns a store over db. Options.Query may be written as Apache
// writes it, with "%s" for the user name.
func NewDB(db *sqlx.DB, opts Options) (*DBStore, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	q, err := PWQuery(opts.Query)
	if err != nil {
		return nil, err
	}
	st := &DBStore{db: db, query: q, opts: opts, v: newVerifier(opts)}
	if q == defaultDBPWQuery {
		st.cache = opts.HashCache
	}
	return st, nil
}

// Prepare checks the password query against the database now, so a wrong
// AuthDBDUserPWQuery stops start-up instead of failing every login.
func (s *DBStore) Prepare(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	p, err := s.db.PrepareContext(ctx, s.query)
	if err != nil {
		return fmt.Errorf("users: password query %q: %w", s.query, err)
	}
	return p.Close()
}

// PWQuery converts an AuthDBDUserPWQuery to PostgreSQL's placeholder: the
// one "%s" of apr_dbd becomes "$1". A query already using "$1" is kept.
// Empty gives the default, SELECT password FROM users WHERE name = $1.
func PWQuery(q string) (string, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return defaultDBPWQuery, nil
	}
	switch n := strings.Count(q, "%s"); {
	case n == 1 && !strings.Contains(q, "$1"):
		return strings.Replace(q, "%s", "$1", 1), nil
	case n == 0 && strings.Contains(q, "$1") && !strings.Contains(q, "$2"):
		return q, nil
	}
	return "", fmt.Errorf("users: AuthDBDUserPWQuery %q: want exactly one parameter, %%s (or $1), for the user name", q)
}

// lookup returns the stored hash for name, from the cache when it holds it.
func (s *DBStore) lookup(ctx context.Context, name string) (hash string, found bool, err error) {
	if h, ok := s.cache.Get(name, 0); ok {
		return h, true, nil
	}
	tok := s.cache.Begin()
	hash, found, err = s.query1(ctx, name)
	if err == nil && found {
		s.cache.Put(tok, name, hash, 0)
	}
	return hash, found, err
}

// query1 runs the password query for name.
func (s *DBStore) query1(ctx context.Context, name string) (hash string, found bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if s.opts.ObserveQuery != nil {
		defer func(start time.Time) { s.opts.ObserveQuery(time.Since(start)) }(time.Now())
	}
	rows, err := s.db.QueryContext(ctx, s.query, name)
	if err != nil {
		return "", false, fmt.Errorf("users: password query: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return "", false, fmt.Errorf("users: password query: %w", err)
		}
		return "", false, nil
	}
	// Like mod_authn_dbd, the first column is the hash; any others
	// (Apache exports them as AUTHENTICATE_* variables) are ignored.
	cols, err := rows.Columns()
	if err != nil {
		return "", false, err
	}
	var h sql.NullString
	dest := make([]any, len(cols))
	dest[0] = &h
	for i := 1; i < len(dest); i++ {
		dest[i] = new(sql.RawBytes)
	}
	if err := rows.Scan(dest...); err != nil {
		return "", false, fmt.Errorf("users: password query: %w", err)
	}
	if !h.Valid {
		return "", false, nil
	}
	return h.String, true, rows.Close()
}

// Check verifies name's password against the table (see Store): the row
// of exactly name, else of its canonical form (CanonicalName). A name that
// PostgreSQL cannot take as text (invalid UTF-8, NUL) names nobody.
func (s *DBStore) Check(ctx context.Context, name, password string) (Result, error) {
	stored, found, err := s.find(ctx, name)
	if err != nil {
		return Denied, err
	}
	if found && kindOf(stored) == hashBcrypt {
		if c, err := bcrypt.Cost([]byte(stored)); err == nil {
			s.cost.Store(int64(c))
		}
	}
	return s.v.check(ctx, name, password, stored, found, int(s.cost.Load()))
}

// find looks name up as it is, then in canonical form.
func (s *DBStore) find(ctx context.Context, name string) (hash string, found bool, err error) {
	if !cleanBytes(name) {
		return "", false, nil
	}
	hash, found, err = s.lookup(ctx, name)
	if err != nil || found {
		return hash, found, err
	}
	if key := lookupKey(name); key != "" && key != name {
		return s.lookup(ctx, key)
	}
	return "", false, nil
}

// Exists reports whether the table has a row for name or its canonical
// form.
func (s *DBStore) Exists(ctx context.Context, name string) (bool, error) {
	if !cleanBytes(name) {
		return false, nil
	}
	if _, ok := s.cache.Get(name, 0); ok {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	var ok bool
	if err := s.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM users WHERE name = $1::text OR name = $2::text)`, name, lookupKey(name)); err != nil {
		return false, fmt.Errorf("users: %w", err)
	}
	return ok, nil
}

// Add inserts a user under the name's canonical form; ErrExists when the
// name is taken, also by a row written before names were canonical that
// differs only in case. The hash is made first, so that a taken name costs
// the same time as a new one.
func (s *DBStore) Add(ctx context.Context, name, password string) error {
	key, err := CanonicalName(name)
	if err != nil {
		return err
	}
	if err := ValidatePassword(name, password); err != nil {
		return err
	}
	hash, err := s.v.hash(ctx, password)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	res, err := s.db.ExecContext(ctx, `INSERT INTO users (name, password) SELECT $1::text, $2::text
		WHERE NOT EXISTS (SELECT 1 FROM users WHERE lower(name) = lower($1::text))`, key, hash)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" { // unique_violation
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("users: add: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("users: add: %w", err)
	} else if n == 0 {
		return ErrExists
	}
	return nil
}

// SetPassword replaces the hash of name (or of its canonical form);
// ErrNotFound when there is no row.
func (s *DBStore) SetPassword(ctx context.Context, name, password string) error {
	if err := ValidatePassword(name, password); err != nil {
		return err
	}
	if !cleanBytes(name) {
		return ErrNotFound
	}
	hash, err := s.v.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.execResolved(ctx, `UPDATE users SET password = $2, updated_at = now() WHERE name = $1`, name, hash)
}

// Delete removes the row of name (or of its canonical form); ErrNotFound
// when there is none.
func (s *DBStore) Delete(ctx context.Context, name string) error {
	if !cleanBytes(name) {
		return ErrNotFound
	}
	return s.execResolved(ctx, `DELETE FROM users WHERE name = $1`, name)
}

// execResolved runs q for name, then, when no row has exactly name, for
// its canonical form. q's first parameter is the name.
func (s *DBStore) execResolved(ctx context.Context, q, name string, args ...any) error {
	defer s.v.forget(name)
	defer s.cache.Invalidate(name)
	err := s.execOne(ctx, q, append([]any{name}, args...)...)
	if key := lookupKey(name); errors.Is(err, ErrNotFound) && key != "" && key != name {
		defer s.v.forget(key)
		defer s.cache.Invalidate(key)
		return s.execOne(ctx, q, append([]any{key}, args...)...)
	}
	return err
}

func (s *DBStore) execOne(ctx context.Context, q string, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

var (
	_ Store = (*FileStore)(nil)
	_ Store = (*DBStore)(nil)
)
