package authform

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/websession/websession/internal/logins"
	"github.com/websession/websession/internal/revocation"
	"github.com/websession/websession/internal/session"
)

// SIDKey is the session key holding the login id of realm authName
// ("<AuthName>-sid"), a random id made at each login. httpd ignores keys
// it does not know, so sessions still move between httpd and websession.
func SIDKey(authName string) string { return authName + "-sid" }

// SinceKey is the session key holding when the login was made
// ("<AuthName>-since"), in microseconds since the Unix epoch.
func SinceKey(authName string) string { return authName + "-since" }

// NoticeKey is the session key holding why the last login of this
// session ended ("<AuthName>-notice"), until a page has said so once.
func NoticeKey(authName string) string { return authName + "-notice" }

// Notices: why a session's login ended, as kept under NoticeKey.
const (
	NoticeExpired  = "expired"
	NoticeLifetime = "lifetime"
	// The revocation reasons are notices too.
	NoticeLoggedOut  = string(revocation.LoggedOut)
	NoticeEverywhere = string(revocation.Everywhere)
	NoticePassword   = string(revocation.PasswordChanged)
	NoticeEnded      = string(revocation.EndedElsewhere)
)

// cookieLifetimeCap is how long an entry of the revocation record is kept
// when nothing else bounds the life of the session it ends: browsers keep
// no cookie longer (RFC 6265bis, 400 days).
const cookieLifetimeCap = 400 * 24 * time.Hour

// recordSlack covers requests in flight and small clock differences
// between servers when an entry's end is computed.
const recordSlack = time.Minute

// Logins is what the realm knows about logins beyond the credentials: the
// record of ended logins and the absolute lifetime. Share one between the
// login and logout handlers, every protected location and the site.
type Logins struct {
	// Record holds the ended logins; nil keeps none (a logout then only
	// removes the credentials from the session, as httpd does).
	Record *revocation.Record
	// Lifetime ends a login this long after it was made, whatever its
	// activity (AuthFormLoginLifetime); 0 means no limit.
	Lifetime time.Duration
	// MaxAge is SessionMaxAge: the idle timeout, which bounds how long an
	// entry of the record is needed. 0 means none.
	MaxAge time.Duration
	// Table lists the active logins, for the sessions page (a database is
	// configured); nil lists none. Its writes never fail a request: they
	// are logged to Logger and tried again when the login is next seen.
	Table *logins.Table
	// Logger receives the Table's failures; nil discards.
	Logger *slog.Logger
}

// loginOf is the login a session holds.
type loginOf struct {
	sid   string
	since time.Time // zero when the session has none (made by httpd)
}

func readLogin(s *session.Session, authName string) loginOf {
	var l loginOf
	l.sid, _ = s.Get(SIDKey(authName))
	if v, ok := s.Get(SinceKey(authName)); ok {
		if us, err := strconv.ParseInt(v, 10, 64); err == nil && us > 0 {
			l.since = time.UnixMicro(us)
		}
	}
	return l
}

// startLogin writes a new login id and time into the session and returns
// the id.
func startLogin(s *session.Session, authName string, now time.Time) string {
	id := revocation.NewID()
	s.Set(SIDKey(authName), id)
	s.Set(SinceKey(authName), strconv.FormatInt(now.UnixMicro(), 10))
	return id
}

// seen writes the login of user with id sid, made at since, into the
// Table: at once for a new login (force), else at most once per
// logins.TouchInterval. A failure is logged, never the request's.
func (l *Logins) seen(r *http.Request, user, sid string, since, now time.Time, force bool) {
	if l == nil || l.Table == nil || sid == "" || !force && !l.Table.Due(sid, now) {
		return
	}
	err := l.Table.Seen(r.Context(), logins.Login{
		ID: sid, User: user, Created: since, LastSeen: now,
		Client: clientAddr(r), Agent: r.UserAgent(), Until: l.until(since, now).Add(logins.TouchInterval),
	}, force)
	if err != nil && l.Logger != nil {
		l.Logger.Warn("login not listed; tried again at its next request", "user", user, "err", err)
	}
}

// LoginEntries are the session entries of a new login of user, in order,
// for pages that write them through a SessionHeader; the login is listed
// in the Table. A nil Logins gives the credentials alone.
func (l *Logins) LoginEntries(r *http.Request, authName, user, password string, now time.Time) [][2]string {
	entries := [][2]string{{UserKey(authName), user}, {PasswordKey(authName), password}}
	if l == nil {
		return entries
	}
	id := revocation.NewID()
	l.seen(r, user, id, now, now, true)
	return append(entries,
		[2]string{SIDKey(authName), id},
		[2]string{SinceKey(authName), strconv.FormatInt(now.UnixMicro(), 10)})
}

// Login writes the credentials and a new login into the request's
// session: authform.Login with a login id, for the site's pages that log a
// user in after registration. A nil Logins writes no login id.
func (l *Logins) Login(r *http.Request, authName, user, password string, now time.Time) error {
	if err := Login(r, authName, user, password); err != nil {
		return err
	}
	if l != nil {
		s, _ := session.Load(r)
		l.seen(r, user, startLogin(s, authName, now), now, now, true)
	}
	return nil
}

// ended reports why the session's login of user ended, "" when it has not.
func (l *Logins) ended(s *session.Session, authName, user string, now time.Time) string {
	if l == nil {
		return ""
	}
	lg := readLogin(s, authName)
	if l.Lifetime > 0 && !lg.since.IsZero() && !now.Before(lg.since.Add(l.Lifetime)) {
		return NoticeLifetime
	}
	if l.Record == nil {
		return ""
	}
	return string(l.Record.Ended(lg.sid, user, lg.since))
}

// until is when an entry ending logins made up to now (at since, when
// known) is no longer needed: each such session has reached its lifetime
// or gone idle past SessionMaxAge by then.
func (l *Logins) until(since, now time.Time) time.Time {
	end := now.Add(cookieLifetimeCap)
	if l.MaxAge > 0 {
		end = now.Add(l.MaxAge)
	}
	if l.Lifetime > 0 {
		from := since
		if from.IsZero() || from.After(now) {
			from = now
		}
		if e := from.Add(l.Lifetime); e.Before(end) {
			end = e
		}
	}
	return end.Add(recordSlack)
}

// clearLogin removes the realm's credentials and login from the session.
func clearLogin(s *session.Session, authName string) {
	for _, k := range []string{UserKey(authName), PasswordKey(authName), SiteKey(authName), SIDKey(authName), SinceKey(authName)} {
		if _, ok := s.Get(k); ok {
			s.Delete(k)
		}
	}
}

// endLogin records the session's login as ended (logout) and removes it
// from the session. A session without a login is left untouched, so that
// logging out without one writes nothing.
func (l *Logins) endLogin(ctx context.Context, s *session.Session, authName string, now time.Time) error {
	user, _ := s.Get(UserKey(authName))
	lg := readLogin(s, authName)
	if user == "" && lg.sid == "" {
		return nil
	}
	var err error
	if l != nil && l.Record != nil && lg.sid != "" {
		err = l.Record.EndLogin(ctx, lg.sid, revocation.LoggedOut, l.until(lg.since, now))
	}
	if l != nil && l.Table != nil && lg.sid != "" {
		// The row would go at its end anyway; failing here only lists a
		// logged-out login until then (the record refuses it).
		err = errors.Join(err, l.Table.End(ctx, lg.sid))
	}
	clearLogin(s, authName)
	return err
}

// EndOthers ends every other login of the request's user, on every server
// sharing the record, keeping this session's: log out everywhere (reason
// revocation.Everywhere) or after a password change
// (revocation.PasswordChanged). A session without a login id gets one
// first, so that it is the one kept.
func (l *Logins) EndOthers(r *http.Request, authName string, reason revocation.Reason, now time.Time) error {
	if l == nil || l.Record == nil {
		return errors.New("authform: no record of ended logins is configured")
	}
	s, err := session.Load(r)
	if err != nil {
		return err
	}
	user, _ := s.Get(UserKey(authName))
	if user == "" {
		return errors.New("authform: EndOthers: the session holds no login")
	}
	lg := readLogin(s, authName)
	if lg.sid == "" || lg.since.IsZero() {
		startLogin(s, authName, now)
		lg = readLogin(s, authName)
		l.seen(r, user, lg.sid, now, now, true)
	}
	if err := l.Record.EndUser(r.Context(), user, now, lg.sid, reason, l.until(time.Time{}, now)); err != nil {
		return err
	}
	if l.Table != nil {
		if err := l.Table.EndUser(r.Context(), user, lg.sid); err != nil && l.Logger != nil {
			// The record refuses them; the page lists them until their end.
			l.Logger.Warn("ended logins still listed", "user", user, "err", err)
		}
	}
	return nil
}

// ErrNoSuchLogin: the login to end is not one of the user's live logins.
var ErrNoSuchLogin = errors.New("authform: no such login of this user")

// EndOne ends the login id of the request's user, on every server sharing
// the record (reason revocation.EndedElsewhere): the End button of the
// sessions page. It needs the Table, which says whose login id is; a
// login that is not the user's, or no longer live, is ErrNoSuchLogin.
func (l *Logins) EndOne(ctx context.Context, user, id string, now time.Time) error {
	if l == nil || l.Record == nil || l.Table == nil {
		return errors.New("authform: ending one login needs the record of ended logins and the table of logins")
	}
	lg, ok, err := l.Table.Get(ctx, user, id, now)
	if err != nil {
		return err
	}
	if !ok || l.Record.Ended(lg.ID, user, lg.Created) != "" {
		return ErrNoSuchLogin
	}
	if err := l.Record.EndLogin(ctx, lg.ID, revocation.EndedElsewhere, l.until(lg.Created, now)); err != nil {
		return err
	}
	return l.Table.End(ctx, lg.ID)
}

// List returns the user's live logins from the Table, the most recently
// seen first, without those the record has ended (a request on another
// server may have written a row just before it learned so). nil without a
// Table.
func (l *Logins) List(ctx context.Context, user string, now time.Time) ([]logins.Login, error) {
	if l == nil || l.Table == nil {
		return nil, nil
	}
	all, err := l.Table.List(ctx, user, now)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, lg := range all {
		if l.Record == nil || l.Record.Ended(lg.ID, user, lg.Created) == "" {
			out = append(out, lg)
		}
	}
	return out, nil
}

// TakeNotice returns why this session's last login ended, once: the notice
// is removed from the session. "" when there is none.
func TakeNotice(r *http.Request, authName string) string {
	s, err := session.Load(r)
	if err != nil {
		return ""
	}
	n, ok := s.Get(NoticeKey(authName))
	if !ok {
		return ""
	}
	s.Delete(NoticeKey(authName))
	return n
}

// LoginInfo is what a page can show about the request's login.
type LoginInfo struct {
	// ID is the login id; Since when the login was made (zero when the
	// session came from httpd without one).
	ID    string
	Since time.Time
	// Ends is when the absolute lifetime ends the login; zero for none.
	Ends time.Time
}

// Info returns the request's login in realm authName.
func (l *Logins) Info(r *http.Request, authName string) (LoginInfo, bool) {
	s, err := session.Load(r)
	if err != nil {
		return LoginInfo{}, false
	}
	if u, _ := s.Get(UserKey(authName)); u == "" {
		return LoginInfo{}, false
	}
	lg := readLogin(s, authName)
	info := LoginInfo{ID: lg.sid, Since: lg.since}
	if l != nil && l.Lifetime > 0 && !lg.since.IsZero() {
		info.Ends = lg.since.Add(l.Lifetime)
	}
	return info, true
}

// goodCreds remembers, per process, credentials that were right recently,
// keyed by an HMAC so no password is kept. Session credentials found here
// are checked without counting an attempt, so the throttle (possibly a
// database transaction) stays off the path of every logged-in request;
// credentials not found here are counted like a login form's.
type goodCreds struct {
	key [32]byte
	max int

	mu sync.Mutex
	m  map[[sha256.Size]byte]struct{}
}

func newGoodCreds(max int) *goodCreds {
	g := &goodCreds{max: max, m: map[[sha256.Size]byte]struct{}{}}
	_, _ = rand.Read(g.key[:]) // crypto/rand.Read never fails on supported platforms
	return g
}

// mac is SHA-256 over the secret key, the user and the password: the
// digests never leave the process, so a keyed hash without HMAC's second
// pass is enough, and on the stack it costs no allocation per request.
func (g *goodCreds) mac(user, pw string) [sha256.Size]byte {
	var buf [256]byte
	b := append(buf[:0], g.key[:]...)
	b = append(b, user...)
	b = append(b, 0)
	b = append(b, pw...)
	return sha256.Sum256(b)
}

func (g *goodCreds) has(user, pw string) bool {
	m := g.mac(user, pw)
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.m[m]
	return ok
}

func (g *goodCreds) add(user, pw string) {
	m := g.mac(user, pw)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.m) >= g.max {
		clear(g.m) // rare; the next requests count one attempt each again
	}
	g.m[m] = struct{}{}
}

func (g *goodCreds) remove(user, pw string) {
	m := g.mac(user, pw)
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.m, m)
}
