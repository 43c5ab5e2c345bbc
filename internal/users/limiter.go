package users

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// ErrBusy is returned when a password check or hash could not start: as
// many bcrypt computations as the HashLimiter allows are running and its
// queue is full or waited too long. Answer 503 with a Retry-After of
// BusyRetryAfter; it is not a wrong password.
var ErrBusy = errors.New("users: too many password checks at once")

// BusyRetryAfter is how long a client refused with ErrBusy should wait.
const BusyRetryAfter = 2 * time.Second

// HashLimiterOptions size a HashLimiter. The zero value is ready to use.
type HashLimiterOptions struct {
	// Slots is how many bcrypt computations run at once: 0 means
	// runtime.GOMAXPROCS(0), one per core the process may use.
	Slots int
	// Queue is how many more may wait for a slot: 0 means 32 × Slots,
	// negative means none. A waiting check costs no CPU, while one refused
	// at once comes straight back (a browser retrying, a script looping)
	// and its refusal costs a request's work: a short queue spends the
	// cores on refusals instead of on the logins that can be served.
	Queue int
	// Wait is the longest a computation waits in the queue: 0 means one
	// second.
	Wait time.Duration
}

// HashLimiter bounds the concurrent bcrypt computations of the stores that
// share it. bcrypt is meant to be slow, about a quarter of a second of one
// core at cost 12: a flood of wrong passwords would otherwise occupy every
// core and stall requests that need no password at all. Beyond the slots
// a short queue absorbs bursts, and past that a check fails fast with
// ErrBusy instead of piling up. Safe for concurrent use.
type HashLimiter struct {
	slots chan struct{}
	queue chan struct{}
	wait  time.Duration
}

// NewHashLimiter returns a limiter sized by o.
func NewHashLimiter(o HashLimiterOptions) *HashLimiter {
	if o.Slots <= 0 {
		o.Slots = runtime.GOMAXPROCS(0)
	}
	if o.Queue == 0 {
		o.Queue = 32 * o.Slots
	}
	if o.Wait <= 0 {
		o.Wait = time.Second
	}
	return &HashLimiter{
		slots: make(chan struct{}, o.Slots),
		queue: make(chan struct{}, max(o.Queue, 0)),
		wait:  o.Wait,
	}
}

// Acquire takes a slot, waiting in the queue if there is room, and returns
// the function that gives it back; ErrBusy when there is none in time.
// The stores call it around every bcrypt; other CPU-heavy work may share
// the bound the same way.
func (l *HashLimiter) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	default:
	}
	select {
	case l.queue <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	defer func() { <-l.queue }()
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *HashLimiter) release() { <-l.slots }
