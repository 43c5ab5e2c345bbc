package rowcache

import (
	"strconv"
	"testing"
)

func trusted(maxBytes int) *Cache {
	c := New(maxBytes)
	c.reset(true)
	return c
}

func TestCacheRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(c *Cache) (string, bool)
		want string // "" means a miss
	}{
		{"hit", func(c *Cache) (string, bool) {
			c.Put(c.Begin(), "k", "v", 0)
			return c.Get("k", 100)
		}, "v"},
		{"expired row not served", func(c *Cache) (string, bool) {
			c.Put(c.Begin(), "k", "v", 100)
			return c.Get("k", 100)
		}, ""},
		{"row not yet expired", func(c *Cache) (string, bool) {
			c.Put(c.Begin(), "k", "v", 101)
			return c.Get("k", 100)
		}, "v"},
		{"invalidated", func(c *Cache) (string, bool) {
			c.Put(c.Begin(), "k", "v", 0)
			c.Invalidate("k")
			return c.Get("k", 0)
		}, ""},
		{"read begun before an invalidation is not stored", func(c *Cache) (string, bool) {
			tok := c.Begin()
			c.Invalidate("k")
			c.Put(tok, "k", "v", 0)
			return c.Get("k", 0)
		}, ""},
		{"read begun after an invalidation is stored", func(c *Cache) (string, bool) {
			c.Invalidate("k")
			c.Put(c.Begin(), "k", "v", 0)
			return c.Get("k", 0)
		}, "v"},
		{"another key's invalidation does not matter", func(c *Cache) (string, bool) {
			tok := c.Begin()
			c.Invalidate("other")
			c.Put(tok, "k", "v", 0)
			return c.Get("k", 0)
		}, "v"},
		{"read older than every remembered invalidation is not stored", func(c *Cache) (string, bool) {
			tok := c.Begin()
			for i := range rememberedInvalidations + 1 {
				c.Invalidate("other" + strconv.Itoa(i))
			}
			c.Put(tok, "k", "v", 0)
			return c.Get("k", 0)
		}, ""},
		{"distrusted serves nothing", func(c *Cache) (string, bool) {
			c.Put(c.Begin(), "k", "v", 0)
			c.distrust()
			return c.Get("k", 0)
		}, ""},
		{"distrusted stores nothing, and trust again starts empty", func(c *Cache) (string, bool) {
			c.Put(c.Begin(), "old", "v", 0)
			c.distrust()
			tok := c.Begin()
			c.Put(tok, "k", "v", 0)
			c.reset(true)
			if _, ok := c.Get("old", 0); ok {
				return "old survived", true
			}
			c.Put(tok, "k", "v", 0) // begun before the reset
			return c.Get("k", 0)
		}, ""},
		{"too big for the cache", func(c *Cache) (string, bool) {
			c.Put(c.Begin(), "k", string(make([]byte, 2000)), 0)
			return c.Get("k", 0)
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.run(trusted(1000))
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("got %q %v, want %q", got, ok, tt.want)
			}
		})
	}
}

func TestUntrustedUntilListening(t *testing.T) {
	t.Parallel()
	c := New(1000)
	c.Put(c.Begin(), "k", "v", 0)
	if _, ok := c.Get("k", 0); ok || c.Len() != 0 {
		t.Fatal("a new cache served or stored a row before its listener trusted it")
	}
}

func TestBoundedMemory(t *testing.T) {
	t.Parallel()
	const maxBytes = 64 << 10
	c := trusted(maxBytes)
	for i := range 100000 {
		c.Put(c.Begin(), strconv.Itoa(i), "some session value", 0)
		if c.bytes > maxBytes {
			t.Fatalf("after %d puts the cache holds %d bytes, more than %d", i+1, c.bytes, maxBytes)
		}
	}
	if n := c.Len(); n == 0 || n*(entryOverhead+10) > maxBytes {
		t.Fatalf("cache holds %d rows", n)
	}
	// Invalidations of unknown keys are remembered only so far.
	for i := range 10 * rememberedInvalidations {
		c.Invalidate("gone" + strconv.Itoa(i))
	}
	if len(c.recent) > rememberedInvalidations {
		t.Fatalf("%d invalidations remembered", len(c.recent))
	}
}

func TestNilCacheIsDisabled(t *testing.T) {
	t.Parallel()
	var c *Cache
	c.Put(c.Begin(), "k", "v", 0)
	c.Invalidate("k")
	if _, ok := c.Get("k", 0); ok || c.Len() != 0 || c.Trusted() {
		t.Fatal("nil cache served a row")
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := trusted(DefaultMaxBytes)
	c.Put(c.Begin(), "6a1f3c2e-8b4d-4e6f-9a0b-1c2d3e4f5a6b", "a=1&b=2", 0)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Get("6a1f3c2e-8b4d-4e6f-9a0b-1c2d3e4f5a6b", 1)
		}
	})
}
