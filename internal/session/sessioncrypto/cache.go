package sessioncrypto

import (
	"crypto/cipher"
	"sync"
)

// cacheKey names a derived key: the passphrase's index and the salt.
type cacheKey struct {
	pass int
	salt [saltLen]byte
}

// keyCache is a bounded map from (passphrase, salt) to the keyed block
// cipher, split into shards by the first salt byte (random) so concurrent
// requests rarely wait for one another. A full shard forgets an arbitrary
// entry (Go's randomised map iteration): random eviction, which needs no
// bookkeeping on the hot get path. Only values whose MAC verified are ever
// inserted, so clients cannot flood it with forged salts.
type keyCache struct {
	perShard int
	shards   []cacheShard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[cacheKey]cipher.Block
}

const cacheShards = 16

func newKeyCache(size int) *keyCache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	n := cacheShards
	if size < n {
		n = 1
	}
	c := &keyCache{perShard: (size + n - 1) / n, shards: make([]cacheShard, n)}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]cipher.Block)
	}
	return c
}

func (c *keyCache) shard(k *cacheKey) *cacheShard {
	return &c.shards[int(k.salt[0])%len(c.shards)]
}

func (c *keyCache) get(k cacheKey) (cipher.Block, bool) {
	s := c.shard(&k)
	s.mu.Lock()
	b, ok := s.m[k]
	s.mu.Unlock()
	return b, ok
}

func (c *keyCache) put(k cacheKey, b cipher.Block) {
	s := c.shard(&k)
	s.mu.Lock()
	if _, ok := s.m[k]; !ok && len(s.m) >= c.perShard {
		for old := range s.m {
			delete(s.m, old)
			break
		}
	}
	s.m[k] = b
	s.mu.Unlock()
}

// len reports the number of cached keys.
func (c *keyCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// capacity is the most keys the cache holds.
func (c *keyCache) capacity() int { return c.perShard * len(c.shards) }
