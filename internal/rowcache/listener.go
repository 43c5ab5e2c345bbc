package rowcache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The channels and triggers of migrations/00003_notify.sql.
const (
	SessionChannel = "websession_session"
	UsersChannel   = "websession_users"
)

// triggers names, per channel, the table and trigger that feed it: a cache
// is trusted only while its trigger exists, so a database migrated without
// 00003 (or rolled back) is read through instead of served stale.
var triggers = map[string]struct{ table, trigger string }{
	SessionChannel: {"session", "session_notify"},
	UsersChannel:   {"users", "users_notify"},
}

// DefaultMaxBytes bounds each cache when Listener.Cache is given 0.
const DefaultMaxBytes = 64 << 20

// pingInterval is how often the listen connection is checked; a connection
// that does not answer within pingTimeout is no longer trusted, because a
// silently broken connection loses notifications without any error.
const (
	pingInterval = time.Second
	pingTimeout  = 3 * time.Second
)

// Listener keeps one LISTEN connection to PostgreSQL and feeds the caches
// made with Cache. Call Cache for every table first, then Run.
type Listener struct {
	conninfo string
	db       *sqlx.DB
	logger   *slog.Logger

	mu      sync.Mutex
	caches  map[string]*Cache
	running bool
	up      bool // the listen connection is established (callback's view)
}

// NewListener returns a listener that will connect with conninfo (DBDParams)
// and check the triggers through db.
func NewListener(conninfo string, db *sqlx.DB, logger *slog.Logger) *Listener {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{conninfo: conninfo, db: db, logger: logger, caches: map[string]*Cache{}}
}

// Cache returns the cache fed by channel (SessionChannel or UsersChannel),
// making it on first use with room for maxBytes (DefaultMaxBytes when 0).
// Every caller naming the same channel shares one cache. A nil Listener
// returns a nil (disabled) cache.
func (l *Listener) Cache(channel string, maxBytes int) (*Cache, error) {
	if l == nil {
		return nil, nil
	}
	if _, ok := triggers[channel]; !ok {
		return nil, fmt.Errorf("rowcache: unknown channel %q", channel)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.caches[channel]; ok {
		return c, nil
	}
	if l.running {
		return nil, errors.New("rowcache: Cache called after Run")
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	c := New(maxBytes)
	l.caches[channel] = c
	return c, nil
}

// Run listens until ctx is done, then closes the connection. It returns
// at once when no cache was made (or l is nil). Start it with go; connection failures are
// logged and retried, and the caches read through meanwhile.
func (l *Listener) Run(ctx context.Context) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.running = true
	n := len(l.caches)
	l.mu.Unlock()
	if n == 0 {
		return
	}
	pl := pq.NewListener(l.conninfo, 10*time.Millisecond, 2*time.Second, l.event)
	defer pl.Close()

	// Listen blocks until the server has acknowledged, so once both calls
	// returned no notification can be missed.
	listened := make(chan error, 1)
	go func() {
		var errs []error
		for ch := range l.caches {
			if err := pl.Listen(ch); err != nil && !errors.Is(err, pq.ErrChannelAlreadyOpen) {
				errs = append(errs, err)
			}
		}
		listened <- errors.Join(errs...)
	}()

	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	var pinging chan error // the ping in flight, if any
	var pingStarted time.Time
	listening := false // every LISTEN has been acknowledged once
	stale := false     // a ping went unanswered
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-listened:
			if err != nil {
				l.logger.Error("DBDCache: LISTEN failed; session and user reads go to the database", "err", err)
				continue
			}
			listening = true
			l.trust(ctx)
		case n, ok := <-pl.Notify:
			if !ok {
				return
			}
			if n == nil {
				// Reconnected: whatever was sent meanwhile is lost.
				if listening {
					l.trust(ctx)
				}
				continue
			}
			c := l.caches[n.Channel]
			if n.Extra == "" {
				c.reset(c.Trusted()) // TRUNCATE
			} else {
				c.Invalidate(n.Extra)
			}
		case err := <-pinging:
			pinging = nil
			switch {
			case err != nil && !stale:
				stale = true
				l.distrustAll()
			case err == nil && stale && listening:
				stale = false
				l.trust(ctx)
			}
		case now := <-ping.C:
			switch {
			case pinging == nil:
				pinging = make(chan error, 1)
				pingStarted = now
				go func(done chan<- error) { done <- pl.Ping() }(pinging)
			case !stale && now.Sub(pingStarted) > pingTimeout:
				stale = true
				l.distrustAll()
				l.logger.Warn("DBDCache: the listen connection does not answer; reading through")
			}
		}
	}
}

// event is pq.Listener's callback, run on its connection goroutine before
// any notification of the new state is delivered.
func (l *Listener) event(ev pq.ListenerEventType, err error) {
	switch ev {
	case pq.ListenerEventConnected, pq.ListenerEventReconnected:
		l.mu.Lock()
		l.up = true
		l.mu.Unlock()
	case pq.ListenerEventDisconnected:
		l.mu.Lock()
		l.up = false
		l.mu.Unlock()
		l.distrustAll()
		l.logger.Warn("DBDCache: listen connection lost; reading through until it is back", "err", err)
	case pq.ListenerEventConnectionAttemptFailed:
		l.logger.Debug("DBDCache: listen connection attempt failed", "err", err)
	}
}

func (l *Listener) distrustAll() {
	for _, c := range l.caches {
		c.distrust()
	}
}

// trust empties every cache whose trigger is in place and lets it serve,
// if the connection is (still) up.
func (l *Listener) trust(ctx context.Context) {
	ok := map[string]bool{}
	for ch := range l.caches {
		t := triggers[ch]
		present, err := l.hasTrigger(ctx, t.table, t.trigger)
		switch {
		case err != nil:
			l.logger.Warn("DBDCache: cannot check the notify triggers; reading through", "err", err)
		case !present:
			l.logger.Warn("DBDCache: trigger missing, reads of this table go to the database; run `web migrate up`", "table", t.table, "trigger", t.trigger)
		}
		ok[ch] = present && err == nil
	}
	// Under l.mu, so a disconnect reported meanwhile cannot be overtaken.
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch, c := range l.caches {
		c.reset(l.up && ok[ch])
	}
}

func (l *Listener) hasTrigger(ctx context.Context, table, trigger string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var ok bool
	err := l.db.GetContext(ctx, &ok,
		`SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = to_regclass($2) AND tgenabled <> 'D')`,
		trigger, table)
	return ok, err
}
