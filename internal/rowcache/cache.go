// Package rowcache keeps rows read from PostgreSQL in memory and drops them
// when PostgreSQL says they changed: a trigger (migrations/00003) sends
// NOTIFY with the row's key on every update and delete (but a session
// row's refresh, which only moves its expiry later: migrations/00007, so
// a cached copy stays right until the expiry it was read with), and a
// Listener LISTENs on one connection per server. A change made by another
// server, by Apache's mod_session_dbd or by hand in psql evicts the entry
// on every server.
//
// The rules the caches keep:
//   - an entry is never served after its invalidation has been processed,
//     and a read that started before an invalidation is not cached;
//   - while the listen connection is down, or before it is first up, the
//     caches serve nothing (every read goes to the database) and store
//     nothing; when it is back they are emptied before they are trusted,
//     since notifications sent meanwhile are lost;
//   - an entry past its row's expiry is not served;
//   - memory is bounded: a cache holds at most MaxBytes of keys and values.
package rowcache

import "sync"

// entryOverhead approximates the map and string headers of one entry, so
// many tiny entries still count against MaxBytes.
const entryOverhead = 96

// rememberedInvalidations is how many recent invalidations a Cache keeps,
// to refuse a Put of a row read before one of them. A Put whose read is
// older than all of them is refused outright.
const rememberedInvalidations = 4096

// Cache holds the rows of one table by key. The zero value is not usable;
// a nil *Cache is a disabled cache (Get misses, Put does nothing).
type Cache struct {
	mu       sync.RWMutex
	trusted  bool
	rows     map[string]row
	bytes    int
	maxBytes int

	// Every invalidation takes the next seq. recent maps a key to the seq
	// of its latest remembered invalidation; ring holds the remembered
	// ones in order; forgotten is the newest seq no longer remembered (a
	// flush also moves it), so a read older than it cannot be checked.
	seq       uint64
	forgotten uint64
	recent    map[string]uint64
	ring      []invalidation
	pos       int
}

type row struct {
	value  string
	expiry int64 // µs since the Unix epoch; 0 = never
}

type invalidation struct {
	key string
	seq uint64
}

// Token marks the moment a read-through began; see Begin.
type Token uint64

// New returns an empty cache holding at most maxBytes. It serves nothing
// until a Listener trusts it (after its LISTEN is in place).
func New(maxBytes int) *Cache {
	return &Cache{
		rows:     map[string]row{},
		maxBytes: maxBytes,
		recent:   map[string]uint64{},
		ring:     make([]invalidation, rememberedInvalidations),
	}
}

// Get returns the cached value of key if the cache is trusted and the row
// has not expired at now (µs since the Unix epoch).
func (c *Cache) Get(key string, now int64) (string, bool) {
	if c == nil {
		return "", false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.trusted {
		return "", false
	}
	r, ok := c.rows[key]
	if !ok || r.expiry != 0 && r.expiry <= now {
		return "", false
	}
	return r.value, true
}

// Begin returns the token to pass to Put for a row read from the database
// from now on. Take it before running the query.
func (c *Cache) Begin() Token {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return Token(c.seq)
}

// Put stores a row read (or written) after t was taken, unless the cache is
// not trusted or key was invalidated since t (the row read may be the one
// that invalidation removed).
func (c *Cache) Put(t Token, key, value string, expiry int64) {
	if c == nil {
		return
	}
	size := len(key) + len(value) + entryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	seq := uint64(t)
	if !c.trusted || seq < c.forgotten || c.recent[key] > seq || size > c.maxBytes {
		return
	}
	if old, ok := c.rows[key]; ok {
		c.bytes -= len(key) + len(old.value) + entryOverhead
	}
	// Full: drop entries at random (map order), which needs no bookkeeping
	// per read and keeps the hot rows likely enough.
	for k, r := range c.rows {
		if c.bytes+size <= c.maxBytes {
			break
		}
		delete(c.rows, k)
		c.bytes -= len(k) + len(r.value) + entryOverhead
	}
	c.rows[key] = row{value: value, expiry: expiry}
	c.bytes += size
}

// Invalidate drops key and refuses Puts of reads that began before now.
func (c *Cache) Invalidate(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	if r, ok := c.rows[key]; ok {
		delete(c.rows, key)
		c.bytes -= len(key) + len(r.value) + entryOverhead
	}
	old := c.ring[c.pos]
	if old.seq != 0 {
		if c.recent[old.key] == old.seq {
			delete(c.recent, old.key)
		}
		c.forgotten = old.seq
	}
	c.ring[c.pos] = invalidation{key: key, seq: c.seq}
	c.recent[key] = c.seq
	c.pos = (c.pos + 1) % len(c.ring)
}

// Len reports how many rows the cache holds.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.rows)
}

// Trusted reports whether the cache serves rows (its listener is up).
func (c *Cache) Trusted() bool {
	if c == nil {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.trusted
}

// reset empties the cache, refuses Puts of every read begun so far, and
// sets whether it may serve rows from now on.
func (c *Cache) reset(trusted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.forgotten = c.seq
	clear(c.rows)
	clear(c.recent)
	clear(c.ring)
	c.pos = 0
	c.bytes = 0
	c.trusted = trusted
}

// distrust stops serving rows at once; the rows are dropped at the next
// reset.
func (c *Cache) distrust() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.forgotten = c.seq
	c.trusted = false
}
