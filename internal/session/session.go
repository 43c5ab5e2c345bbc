package session

// Session is the table of one user's session, as seen by one request
// (httpd's session_rec). Keys are matched case-insensitively (ASCII folding)
// and keep the spelling they were first inserted with, as APR tables do.
// A Session is not safe for concurrent use; each request has its own.
type Session struct {
	entries []entry

	// Expiry is the absolute expiry time in microseconds since the Unix
	// epoch; 0 means the session does not expire.
	Expiry int64
	// MaxAge is SessionMaxAge in seconds as copied into the session when it
	// was loaded or saved; 0 means none.
	MaxAge int64
	// ID is the store's key for this session (the DBD store's session id);
	// empty for cookie sessions and for sessions not yet stored.
	ID string
	// LoginKept is set by the middleware before a store saves the session:
	// the keys Config.ProtectedKeys names (every realm's login) hold what
	// they held when the session was loaded. A change that keeps the login
	// may let a request still carrying the old id find the new session for
	// a moment (the database store's forwarding); a change of login must
	// not, or an id planted before a login would reach the logged-in
	// session (session fixation).
	LoginKept bool

	dirty bool
}

type entry struct {
	key, value string
}

// New returns an empty session.
func New() *Session { return &Session{} }

func (s *Session) index(key string) int {
	for i := range s.entries {
		if equalFold(s.entries[i].key, key) {
			return i
		}
	}
	return -1
}

// Get returns the value stored under key and whether it was present.
func (s *Session) Get(key string) (string, bool) {
	if i := s.index(key); i >= 0 {
		return s.entries[i].value, true
	}
	return "", false
}

// Set stores value under key, replacing an existing value in place, and
// marks the session changed even when the value is the same, as
// ap_session_set does.
func (s *Session) Set(key, value string) {
	s.dirty = true
	s.put(key, value)
}

// put sets without marking the session dirty (decoding does not).
func (s *Session) put(key, value string) {
	if i := s.index(key); i >= 0 {
		s.entries[i].value = value
		return
	}
	s.entries = append(s.entries, entry{key, value})
}

// Delete removes key and marks the session changed, even when the key was
// absent (ap_session_set with a NULL value).
func (s *Session) Delete(key string) {
	s.dirty = true
	s.remove(key)
}

func (s *Session) remove(key string) {
	out := s.entries[:0]
	for _, e := range s.entries {
		if !equalFold(e.key, key) {
			out = append(out, e)
		}
	}
	clear(s.entries[len(out):])
	s.entries = out
}

// Clear removes every entry and the expiry and marks the session changed.
// The store's ID is kept, so that the store can delete what it holds.
func (s *Session) Clear() {
	s.dirty = true
	clear(s.entries)
	s.entries = s.entries[:0]
	s.Expiry = 0
}

// reset empties the session in place without marking it dirty and forgets
// its ID; it is how an expired or undecodable session becomes a blank one
// (PR 56052).
func (s *Session) reset() {
	clear(s.entries)
	s.entries = s.entries[:0]
	s.Expiry = 0
	s.ID = ""
}

// Keys returns the keys in table order.
func (s *Session) Keys() []string {
	keys := make([]string, len(s.entries))
	for i, e := range s.entries {
		keys[i] = e.key
	}
	return keys
}

// Len reports the number of entries (the expiry is not an entry).
func (s *Session) Len() int { return len(s.entries) }

// Dirty reports whether the session was changed during this request.
func (s *Session) Dirty() bool { return s.dirty }

// MarkDirty forces the session to be saved, as a SessionHeader merge does.
func (s *Session) MarkDirty() { s.dirty = true }

// equalFold compares with ASCII case folding only, as APR tables do
// (strcasecmp); other bytes, including invalid UTF-8, must match exactly.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
