package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/websession/websession/internal/rowcache"
)

// Result is the answer of a password check: the authn provider results of
// Apache (spec §6.2 step 5). The zero value is Denied, so a forgotten
// assignment fails closed.
type Result int

const (
	// Denied: the user exists and the password is wrong (or cannot be
	// checked: over 72 bytes, an unsupported stored hash). AUTH_DENIED.
	Denied Result = iota
	// Granted: the password is right. AUTH_GRANTED.
	Granted
	// NotFound: no such user. AUTH_USER_NOT_FOUND.
	NotFound
)

func (r Result) String() string {
	switch r {
	case Granted:
		return "granted"
	case Denied:
		return "denied"
	case NotFound:
		return "not found"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Store is a set of users with passwords: an htpasswd file (FileStore) or
// a database table (DBStore). All methods are safe for concurrent use.
type Store interface {
	// Check verifies a password. A non-nil error means the store could not
	// answer (Apache's AUTH_GENERAL_ERROR, a 500), never a wrong password.
	Check(ctx context.Context, name, password string) (Result, error)
	// Exists reports whether the user exists.
	Exists(ctx context.Context, name string) (bool, error)
	// Add creates a user. It returns an *InvalidError for a bad name or
	// password and ErrExists when the name is taken.
	Add(ctx context.Context, name, password string) error
	// SetPassword replaces a user's password: *InvalidError, ErrNotFound.
	SetPassword(ctx context.Context, name, password string) error
	// Delete removes a user: ErrNotFound when there is none.
	Delete(ctx context.Context, name string) error
}

var (
	// ErrExists is returned by Add when the user name is taken (a conflict).
	ErrExists = errors.New("users: user already exists")
	// ErrNotFound is returned by SetPassword and Delete for unknown users.
	ErrNotFound = errors.New("users: no such user")
)

// Field names carried by InvalidError.
const (
	FieldName     = "name"
	FieldPassword = "password"
)

// InvalidError reports a user name or password that cannot be stored. Its
// Message is meant for the person who typed it, to show next to Field.
type InvalidError struct {
	Field   string // FieldName or FieldPassword
	Message string // a full sentence, safe to show to the user
}

func (e *InvalidError) Error() string { return "invalid " + e.Field + ": " + e.Message }

// Limits on what we store.
const (
	MaxNameBytes      = 64
	MinPasswordRunes  = 8
	MaxPasswordBytes  = 72 // bcrypt reads no further
	DefaultCost       = 12
	MinCost           = 10
	DefaultCacheSize  = 10000
	DefaultDBTimeout  = 5 * time.Second
	defaultDBPWQuery  = "SELECT password FROM users WHERE name = $1"
	maxBcryptCost     = 31
	weakHashLogPrefix = "weak password hash"
)

// Options configure a store. The zero value is ready to use.
type Options struct {
	// Cost is the bcrypt cost for new hashes and for the dummy comparison
	// made for unknown users: 0 means DefaultCost; below MinCost is an error.
	Cost int
	// CacheSize bounds the verified-credential cache: 0 means
	// DefaultCacheSize, negative disables the cache (bcrypt on every Check).
	CacheSize int
	// Logger receives weak-hash, unsupported-hash and unparsable-line
	// warnings. nil means slog.Default().
	Logger *slog.Logger

	// StatInterval (file store) is how often Check looks at the file for a
	// change made by another program. 0 means on every Check (a stat(2),
	// well under a microsecond); a change is then seen by the next Check.
	StatInterval time.Duration

	// Query (database store) is AuthDBDUserPWQuery: a statement with one
	// parameter, the user name, whose first column is the stored hash.
	// Apache's "%s" placeholder is accepted. Empty means
	// "SELECT password FROM users WHERE name = $1".
	Query string
	// Timeout (database store) bounds each statement: 0 means
	// DefaultDBTimeout.
	Timeout time.Duration

	// Hashes bounds the bcrypt computations running at once. Stores of one
	// process should share one, so that together they leave the CPU to
	// requests that need no password check; nil gives the store its own
	// NewHashLimiter(HashLimiterOptions{}).
	Hashes *HashLimiter

	// For metrics, when set: ObserveCache is told each verified-credential
	// cache lookup, ObserveHash each slow password comparison (the hash
	// scheme, e.g. "bcrypt", and how long it took, the dummy comparison
	// for unknown users included), ObserveQuery each password query of the
	// database store.
	ObserveCache func(hit bool)
	ObserveHash  func(scheme string, took time.Duration)
	ObserveQuery func(took time.Duration)
	// HashCache (database store), when not nil, keeps the hashes read with
	// the default Query, dropped when PostgreSQL notifies a change of the
	// user (DBDCache; see internal/rowcache). A custom Query is never
	// cached: it may read tables the trigger does not watch.
	HashCache *rowcache.Cache
}

// minCost is MinCost; tests in this package lower it to keep bcrypt fast.
var minCost = MinCost

func (o Options) withDefaults() (Options, error) {
	if o.Cost == 0 {
		o.Cost = DefaultCost
	}
	if o.Cost < minCost || o.Cost > maxBcryptCost {
		return o, fmt.Errorf("users: bcrypt cost %d out of range %d..%d", o.Cost, MinCost, maxBcryptCost)
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultDBTimeout
	}
	if o.Hashes == nil {
		o.Hashes = NewHashLimiter(HashLimiterOptions{})
	}
	if o.StatInterval < 0 {
		o.StatInterval = 0
	}
	return o, nil
}
