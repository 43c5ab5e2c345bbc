package users

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/rowcache"
)

// Registry opens user stores on demand and shares one per user file and
// one per query, so that every place that checks passwords for the same
// users sees the same verified-credential cache and takes the same file
// lock. It is meant to be filled at start-up, from one goroutine; Close
// closes what it opened.
type Registry struct {
	db    *sqlx.DB
	cache *rowcache.Listener // feeds the database stores' hash caches; may be nil
	// hashes bounds the bcrypt work of all the stores together: the CPU
	// is shared, so is the limit.
	hashes *HashLimiter
	stores map[string]Store
	opened []Opened // in opening order, for All and Close
	// observe holds the Observe* hooks given to every store opened.
	observe Options
}

// WithObservers gives every store opened from now on these metrics hooks
// (see Options.ObserveCache, ObserveHash, ObserveQuery); call it before
// the first File or DB.
func (g *Registry) WithObservers(cache func(hit bool), hash func(scheme string, took time.Duration), query func(took time.Duration)) *Registry {
	g.observe = Options{ObserveCache: cache, ObserveHash: hash, ObserveQuery: query}
	return g
}

// NewRegistry returns an empty registry; db may be nil when no database is
// configured, and then DB fails. cache, when not nil, feeds the hash caches
// of the database stores (DBDCache).
func NewRegistry(db *sqlx.DB, cache *rowcache.Listener) *Registry {
	return &Registry{db: db, cache: cache, hashes: NewHashLimiter(HashLimiterOptions{}), stores: map[string]Store{}}
}

// File returns the store of the htpasswd file at path (AuthUserFile),
// opening it the first time. The registry's HashLimiter replaces
// opts.Hashes when that is nil.
func (g *Registry) File(path string, opts Options) (Store, error) {
	opts = g.shared(opts)
	return g.get("file:"+path, func() (Store, error) { return OpenFile(path, opts) })
}

// DB returns the store that runs opts.Query (AuthDBDUserPWQuery) on the
// registry's database.
func (g *Registry) DB(opts Options) (Store, error) {
	if g.db == nil {
		return nil, errors.New("users: a database user store needs a database (DBDriver pgsql and DBDParams)")
	}
	opts = g.shared(opts)
	return g.get("dbd:"+opts.Query, func() (Store, error) {
		if opts.HashCache == nil {
			var err error
			if opts.HashCache, err = g.cache.Cache(rowcache.UsersChannel, 0); err != nil {
				return nil, err
			}
		}
		st, err := NewDB(g.db, opts)
		if err != nil {
			return nil, err
		}
		// A query the database refuses stops start-up, not every login.
		if err := st.Prepare(context.Background()); err != nil {
			return nil, err
		}
		return st, nil
	})
}

func (g *Registry) shared(opts Options) Options {
	if opts.Hashes == nil {
		opts.Hashes = g.hashes
	}
	if opts.ObserveCache == nil && opts.ObserveHash == nil && opts.ObserveQuery == nil {
		opts.ObserveCache, opts.ObserveHash, opts.ObserveQuery = g.observe.ObserveCache, g.observe.ObserveHash, g.observe.ObserveQuery
	}
	return opts
}

// Opened is a store the registry opened, with its key ("file:PATH" or
// "dbd:QUERY") and its kind ("file" or "dbd").
type Opened struct {
	Key, Kind string
	Store     Store
}

// All returns every store opened so far, in opening order, for health
// checks.
func (g *Registry) All() []Opened {
	return slices.Clone(g.opened)
}

func (g *Registry) get(key string, open func() (Store, error)) (Store, error) {
	if st, ok := g.stores[key]; ok {
		return st, nil
	}
	st, err := open()
	if err != nil {
		return nil, err
	}
	g.stores[key] = st
	kind, _, _ := strings.Cut(key, ":")
	g.opened = append(g.opened, Opened{Key: key, Kind: kind, Store: st})
	return st, nil
}

// Close closes the stores that hold something open (the file stores'
// descriptors), newest first. The database pool is the caller's.
func (g *Registry) Close() error {
	var errs []error
	for i := len(g.opened) - 1; i >= 0; i-- {
		if c, ok := g.opened[i].Store.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("users: closing a store: %w", err))
			}
		}
	}
	g.opened, g.stores = nil, map[string]Store{}
	return errors.Join(errs...)
}
