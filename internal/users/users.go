package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// ValidateName checks a user name for storing. Names must fit on an
// htpasswd line that Apache reads back unchanged: no colon, no control
// characters, no surrounding space (Apache trims it), no leading '#'
// (a comment line).
func ValidateName(name string) error {
	bad := func(msg string) error { return &InvalidError{Field: FieldName, Message: msg} }
	switch {
	case name == "":
		return bad("Enter a user name.")
	case !utf8.ValidString(name):
		return bad("The user name must be valid UTF-8 text.")
	case len(name) > MaxNameBytes:
		return bad(fmt.Sprintf("The user name is too long: at most %d bytes, this one has %d.", MaxNameBytes, len(name)))
	case strings.ContainsRune(name, ':'):
		return bad("The user name cannot contain a colon (:).")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return bad("The user name cannot contain control characters such as tabs or line breaks.")
	case strings.TrimFunc(name, unicode.IsSpace) != name:
		return bad("The user name cannot begin or end with a space.")
	case name[0] == '#':
		return bad("The user name cannot begin with #.")
	}
	return nil
}

// ValidatePassword checks a new password: at least MinPasswordRunes
// characters and at most MaxPasswordBytes bytes, because bcrypt would
// silently ignore the rest. No NUL, which Apache's C bcrypt stops at.
func ValidatePassword(password string) error {
	bad := func(msg string) error { return &InvalidError{Field: FieldPassword, Message: msg} }
	switch {
	case !utf8.ValidString(password):
		return bad("The password must be valid UTF-8 text.")
	case utf8.RuneCountInString(password) < MinPasswordRunes:
		return bad(fmt.Sprintf("The password is too short: use at least %d characters.", MinPasswordRunes))
	case len(password) > MaxPasswordBytes:
		return bad(fmt.Sprintf("The password is too long: at most %d bytes (bcrypt's limit), this one has %d. Non-ASCII characters take 2 to 4 bytes each.", MaxPasswordBytes, len(password)))
	case strings.IndexByte(password, 0) >= 0:
		return bad("The password cannot contain a NUL character.")
	}
	return nil
}

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
	if o.StatInterval < 0 {
		o.StatInterval = 0
	}
	return o, nil
}
