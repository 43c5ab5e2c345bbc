package site

import (
	"net/http"
	"time"

	"github.com/websession/websession/internal/revocation"
	"github.com/websession/websession/internal/session"
)

// loginSummary is what the sessions page shows of this login.
type loginSummary struct {
	Since      *time.Time // when the login was made; nil when unknown
	LifetimeAt *time.Time // when the absolute lifetime ends it; nil for none
	IdleAt     *time.Time // when it expires if not used (SessionMaxAge)
	CanEnd     bool       // log out everywhere is available
}

// sessionsPage shows what can be known of the user's sessions: with the
// sessions kept in cookies, only this one (its age and expiry), and the
// button that ends every other.
func (a *app) sessionsPage(w http.ResponseWriter, r *http.Request) error {
	user, ok := a.requireUser(w, r)
	if !ok {
		return nil
	}
	sum := &loginSummary{CanEnd: a.opts.Logins != nil && a.opts.Logins.Record != nil}
	if info, ok := a.opts.Logins.Info(r, a.opts.AuthName); ok {
		if !info.Since.IsZero() {
			t := info.Since.UTC()
			sum.Since = &t
		}
		if !info.Ends.IsZero() {
			t := info.Ends.UTC()
			sum.LifetimeAt = &t
		}
	}
	if s, err := session.Load(r); err == nil && s.Expiry != 0 {
		t := time.UnixMicro(s.Expiry).UTC()
		sum.IdleAt = &t
	}
	d := &pageData{User: user, Login: sum}
	if r.URL.Query().Get("ended") == "1" {
		d.Notice = "Every other session of yours has ended, on every server. This one stays logged in."
	}
	noStore(w)
	a.render(w, r, http.StatusOK, "sessions.html", d)
	return nil
}

// endOthers is log out everywhere: every other login of the user ends, on
// every server sharing the record, within a second; this one stays.
func (a *app) endOthers(w http.ResponseWriter, r *http.Request) error {
	user, ok := a.requireUser(w, r)
	if !ok {
		return nil
	}
	if a.opts.Logins == nil || a.opts.Logins.Record == nil {
		return &Error{Code: errNotConfigured}
	}
	if err := a.opts.Logins.EndOthers(r, a.opts.AuthName, revocation.Everywhere, a.opts.Now()); err != nil {
		return err
	}
	a.logger.Info("site: logged out everywhere else", "user", user)
	http.Redirect(w, r, "/sessions?ended=1", http.StatusSeeOther)
	return nil
}
