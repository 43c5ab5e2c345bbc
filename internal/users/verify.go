package users

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/singleflight"
)

// verifier is the part of Check shared by all stores: length and empty
// checks, the verified-credential cache, the hash comparison under the
// HashLimiter, the dummy bcrypt for unknown users and the once-per-user
// warnings.
type verifier struct {
	cost   int
	log    *slog.Logger
	cache  *credCache // nil when disabled
	hashes *HashLimiter
	warned sync.Map // name "\x00" stored hash -> struct{}

	observeCache func(hit bool)
	observeHash  func(scheme string, took time.Duration)

	dummyMu sync.Mutex
	dummies map[int][]byte // bcrypt cost -> a hash at that cost, for unknown users

	// flight lets concurrent checks of the same user, password and stored
	// hash share one slow verification: a burst of requests from a session
	// not yet in the cache (after a restart, say) pays one bcrypt, not one
	// each.
	flight singleflight.Group
}

func newVerifier(o Options) *verifier {
	v := &verifier{cost: o.Cost, log: o.Logger, hashes: o.Hashes, dummies: map[int][]byte{},
		observeCache: o.ObserveCache, observeHash: o.ObserveHash}
	if v.hashes == nil {
		v.hashes = NewHashLimiter(HashLimiterOptions{})
	}
	if o.CacheSize > 0 {
		v.cache = newCredCache(o.CacheSize)
	}
	return v
}

// check decides a password check given the stored hash (found false: no
// such user). dummyCost is the bcrypt cost an unknown user's check spends,
// the cost of the store's real hashes, so that the time says nothing about
// the name. The error is ErrBusy or the context's.
func (v *verifier) check(ctx context.Context, name, password, stored string, found bool, dummyCost int) (Result, error) {
	if password == "" || len(password) > MaxPasswordBytes {
		// Refused without hashing, for known and unknown users alike, so
		// the time says nothing about the name. Never truncated.
		if !found {
			return NotFound, nil
		}
		return Denied, nil
	}
	if !found {
		if err := v.dummyCompare(ctx, password, dummyCost); err != nil {
			return Denied, err
		}
		return NotFound, nil
	}
	if v.cache == nil {
		return v.verify(ctx, name, password, stored, nil)
	}
	mac := v.cache.mac(name, password)
	hit := v.cache.hit(name, &mac, stored)
	if v.observeCache != nil {
		v.observeCache(hit)
	}
	if hit {
		return Granted, nil
	}
	key := name + "\x00" + string(mac[:]) + "\x00" + stored
	res, err, _ := v.flight.Do(key, func() (any, error) {
		return v.verify(ctx, name, password, stored, &mac)
	})
	return res.(Result), err
}

// verify compares password with the stored hash the slow way and, when it
// matches, remembers it in the cache (mac is nil without a cache).
func (v *verifier) verify(ctx context.Context, name, password, stored string, mac *[sha256.Size]byte) (Result, error) {
	kind := kindOf(stored)
	if kind == hashUnsupported {
		v.warnOnce(name, stored, "unsupported password hash: the user cannot log in until the password is set again", kind)
		return Denied, nil
	}
	release, err := v.hashes.Acquire(ctx)
	if err != nil {
		return Denied, err
	}
	start := time.Now()
	ok := verifyHash(kind, stored, password)
	release()
	if v.observeHash != nil {
		v.observeHash(kind.String(), time.Since(start))
	}
	if !ok {
		return Denied, nil
	}
	if kind.weak() {
		v.warnOnce(name, stored, weakHashLogPrefix+": set the password again to store bcrypt", kind)
	}
	if mac != nil {
		v.cache.put(name, mac, stored)
	}
	return Granted, nil
}

func (v *verifier) warnOnce(name, stored, msg string, kind hashKind) {
	if _, dup := v.warned.LoadOrStore(name+"\x00"+stored, struct{}{}); dup {
		return
	}
	v.log.Warn(msg, "user", name, "scheme", kind.String())
}

// dummyCompare spends the time of a real bcrypt check at cost (0 means
// the store's cost for new hashes), under the limiter like a real one.
func (v *verifier) dummyCompare(ctx context.Context, password string, cost int) error {
	if cost == 0 {
		cost = v.cost
	}
	dummy, err := v.dummy(ctx, cost)
	if err != nil {
		return err
	}
	release, err := v.hashes.Acquire(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	_ = bcrypt.CompareHashAndPassword(dummy, []byte(password))
	release()
	if v.observeHash != nil {
		v.observeHash("bcrypt", time.Since(start))
	}
	return nil
}

// dummy returns a bcrypt hash of a random password at cost, made once.
func (v *verifier) dummy(ctx context.Context, cost int) ([]byte, error) {
	v.dummyMu.Lock()
	defer v.dummyMu.Unlock()
	if h, ok := v.dummies[cost]; ok {
		return h, nil
	}
	release, err := v.hashes.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		return nil, fmt.Errorf("users: dummy hash at cost %d: %w", cost, err)
	}
	v.dummies[cost] = h
	return h, nil
}

// hash makes the bcrypt hash of a new password under the limiter.
func (v *verifier) hash(ctx context.Context, password string) (string, error) {
	release, err := v.hashes.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return newHash(password, v.cost)
}

// forget drops a user's cache entry after we changed or deleted them.
// Correctness does not depend on it (the stored hash changed), it frees
// the slot early.
func (v *verifier) forget(name string) {
	if v.cache != nil {
		v.cache.remove(name)
	}
}

// credCache maps user name -> (HMAC-SHA256 of the password under a random
// per-process key, stored hash at verification time). Sharded by name so
// concurrent Checks rarely share a lock; each shard evicts an arbitrary
// entry when full.
type credCache struct {
	seed     maphash.Seed
	macs     sync.Pool // of *macState
	perShard int
	shards   [cacheShards]cacheShard
}

const cacheShards = 32

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]cacheEntry
	_  [40]byte // keep shards on separate cache lines
}

type cacheEntry struct {
	mac    [sha256.Size]byte
	stored string
}

func newCredCache(size int) *credCache {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand panics rather)
	c := &credCache{seed: maphash.MakeSeed(), perShard: max(1, (size+cacheShards-1)/cacheShards)}
	c.macs.New = func() any { return &macState{h: hmac.New(sha256.New, key)} }
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

// macState is a keyed HMAC with its own buffers, reused through a pool so
// that computing a MAC allocates nothing.
type macState struct {
	h   hash.Hash
	in  []byte
	sum [sha256.Size]byte
}

func (c *credCache) mac(name, password string) [sha256.Size]byte {
	m := c.macs.Get().(*macState)
	m.h.Reset()
	// The name is bound in too; a NUL cannot occur in a stored name.
	m.in = append(append(append(m.in[:0], name...), 0), password...)
	m.h.Write(m.in)
	m.h.Sum(m.sum[:0])
	out := m.sum
	clear(m.in) // no password left lying in the pool
	c.macs.Put(m)
	return out
}

func (c *credCache) shard(name string) *cacheShard {
	return &c.shards[maphash.String(c.seed, name)%cacheShards]
}

func (c *credCache) hit(name string, mac *[sha256.Size]byte, stored string) bool {
	s := c.shard(name)
	s.mu.RLock()
	e, ok := s.m[name]
	s.mu.RUnlock()
	return ok && e.stored == stored && hmac.Equal(e.mac[:], mac[:])
}

func (c *credCache) put(name string, mac *[sha256.Size]byte, stored string) {
	s := c.shard(name)
	s.mu.Lock()
	if _, ok := s.m[name]; !ok && len(s.m) >= c.perShard {
		for k := range s.m { // map order is random: a random victim
			delete(s.m, k)
			break
		}
	}
	s.m[name] = cacheEntry{mac: *mac, stored: stored}
	s.mu.Unlock()
}

func (c *credCache) remove(name string) {
	s := c.shard(name)
	s.mu.Lock()
	delete(s.m, name)
	s.mu.Unlock()
}

func (c *credCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
