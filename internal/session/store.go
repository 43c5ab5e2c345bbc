package session

import (
	"errors"
	"net/http"
)

// ErrUnavailable reports that a store could not be reached (for example the
// database is down). The middleware answers 503 for requests whose session
// could not be loaded for that reason, rather than silently starting a
// blank session that would then overwrite the stored one.
var ErrUnavailable = errors.New("session store unavailable")

// Stored is what a Store found for a request. Its two strings are named
// fields, not adjacent results, so a store cannot hand back its id as the
// session or the session as its id.
type Stored struct {
	// Encoded is the session as kept: urlencoded, encrypted when a Cipher
	// is in use.
	Encoded string
	// ID is the store's key for the session ("" when the store has none,
	// as the cookie store).
	ID string
	// Expired, with found false, says the request named a session the
	// store still holds but past its expiry (a database row the live
	// select skips): the session is absent, and Expired reports it, so the
	// user can be told they were logged out for being idle.
	Expired bool
}

// Store keeps the encoded session somewhere between requests: the
// session_load and session_save hooks of mod_session. The encoded string a
// Store sees is the urlencoded session, encrypted when a Cipher is in use.
type Store interface {
	// Load returns the stored session for the request. found is false
	// when the request carries no session, which is not an error. Load
	// may rewrite r's headers (SessionCookieRemove); it must not write a
	// response.
	Load(r *http.Request) (s Stored, found bool, err error)

	// Save stores the encoded session (encoded is "" for an empty session,
	// which stores remove) and writes whatever the client needs into h, the
	// response headers, which have not been sent yet. It sets s.ID when the
	// store issues a new id.
	Save(r *http.Request, h http.Header, s *Session, encoded string) error
}

// Cipher transforms the urlencoded session on its way to and from the
// store: mod_session_crypto's session_encode and session_decode hooks. It is
// applied only to non-empty strings, so an empty session stays empty and the
// store can remove it.
type Cipher interface {
	Encrypt(plain string) (string, error)
	// Decrypt returns an error for anything that does not authenticate;
	// the session is then treated as absent.
	Decrypt(wire string) (string, error)
}
