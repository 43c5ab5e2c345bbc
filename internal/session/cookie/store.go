package cookie

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/websession/websession/internal/session"
)

// ErrTooLarge reports a session whose cookie would exceed MaxCookieSize. The
// session is not saved; the response is served without the cookie.
var ErrTooLarge = errors.New("session cookie too large")

// Options configure a Store: the mod_session_cookie directives of one
// location.
type Options struct {
	// Name and Attrs come from SessionCookieName (name, then the attribute
	// string verbatim); Name2 and Attrs2 from SessionCookieName2, written
	// with Set-Cookie2 and preferred when reading.
	Name, Attrs   string
	Name2, Attrs2 string
	// Remove is SessionCookieRemove: take the session cookie out of the
	// request before handlers see it.
	Remove bool
	// OmitMaxAge is SessionCookieMaxAge Off: no Max-Age attribute even when
	// SessionMaxAge is set (the session's server-side expiry still holds).
	OmitMaxAge bool
}

// Store keeps the session in the cookie itself.
type Store struct {
	opts Options
}

// NewStore returns a cookie store, refusing a configuration that names no
// cookie.
func NewStore(opts Options) (*Store, error) {
	if opts.Name == "" && opts.Name2 == "" {
		return nil, errors.New("SessionCookieName: no cookie name configured")
	}
	return &Store{opts: opts}, nil
}

// Load reads the session cookie (the SessionCookieName2 cookie when one is
// configured). Ambiguous duplicates count as no session.
func (st *Store) Load(r *http.Request) (session.Stored, bool, error) {
	name := st.opts.Name
	if st.opts.Name2 != "" {
		name = st.opts.Name2
	}
	attrs := st.opts.Attrs
	if st.opts.Name2 != "" {
		attrs = st.opts.Attrs2
	}
	name, _ = ForRequest(r, name, attrs)
	value, ok, conflict := Read(r.Header, name, st.opts.Remove)
	if conflict {
		return session.Stored{}, false, fmt.Errorf("cookie %q sent more than once with different values", name)
	}
	return session.Stored{Encoded: value}, ok, nil
}

// Save writes the session cookie(s), or removal cookies for an empty
// session.
func (st *Store) Save(r *http.Request, h http.Header, s *session.Session, encoded string) error {
	maxAge := s.MaxAge
	if st.opts.OmitMaxAge {
		maxAge = 0
	}
	type target struct{ header, name, attrs string }
	var targets []target
	if st.opts.Name != "" {
		targets = append(targets, target{"Set-Cookie", st.opts.Name, st.opts.Attrs})
	}
	if st.opts.Name2 != "" {
		targets = append(targets, target{"Set-Cookie2", st.opts.Name2, st.opts.Attrs2})
	}
	lines := make([]string, len(targets))
	for i := range targets {
		targets[i].name, targets[i].attrs = ForRequest(r, targets[i].name, targets[i].attrs)
	}
	for i, t := range targets {
		if encoded == "" {
			lines[i] = RemovalLine(t.name, t.attrs)
			continue
		}
		lines[i] = Line(t.name, encoded, t.attrs, maxAge)
		if len(lines[i]) > MaxCookieSize {
			return fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(lines[i]), MaxCookieSize)
		}
	}
	for i, t := range targets {
		Set(h, t.header, t.name, lines[i])
	}
	return nil
}
