package site

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/revocation"
	"github.com/websession/websession/internal/session"
)

// loginSummary is what the sessions page shows of this login.
type loginSummary struct {
	Since      *time.Time // when the login was made; nil when unknown
	LifetimeAt *time.Time // when the absolute lifetime ends it; nil for none
	IdleAt     *time.Time // when it expires if not used (SessionMaxAge)
	CanEnd     bool       // log out everywhere is available
	// Listed: the server keeps a table of logins (a database is
	// configured), so Sessions lists every live one.
	Listed   bool
	Sessions []listedLogin
}

// listedLogin is one row of the sessions page's list.
type listedLogin struct {
	ID       string
	Created  time.Time
	LastSeen time.Time
	Client   string
	Browser  string
	Current  bool
}

// Notices of the sessions page, after its buttons (?ended=).
var endedNotices = map[string]string{
	"1":    "Every other session of yours has ended, on every server. This one stays logged in.",
	"one":  "That session has ended, on every server.",
	"gone": "That session had already ended.",
	"self": "That is the session you are using: log out to end it.",
}

// sessionsPage shows what can be known of the user's sessions: with a
// table of logins, every live one (created, last seen, address, browser),
// this one marked and each other one endable; without, only this one (its
// age and expiry). Both offer the button that ends every other.
func (a *app) sessionsPage(w http.ResponseWriter, r *http.Request) error {
	user, ok := a.requireUser(w, r)
	if !ok {
		return nil
	}
	logins := a.opts.Logins
	sum := &loginSummary{CanEnd: logins != nil && logins.Record != nil, Listed: logins != nil && logins.Table != nil}
	info, ok := logins.Info(r, a.opts.AuthName)
	if ok {
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
	if sum.Listed {
		list, err := logins.List(r.Context(), user, a.opts.Now())
		if err != nil {
			return err
		}
		for _, lg := range list {
			sum.Sessions = append(sum.Sessions, listedLogin{
				ID: lg.ID, Created: lg.Created.UTC(), LastSeen: lg.LastSeen.UTC(), Client: lg.Client,
				Browser: browserOf(lg.Agent), Current: lg.ID == info.ID,
			})
		}
	}
	d := &pageData{User: user, Login: sum, Notice: endedNotices[r.URL.Query().Get("ended")]}
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

// endOne is the End button of one listed session: that login ends on
// every server sharing the record, within a second.
func (a *app) endOne(w http.ResponseWriter, r *http.Request) error {
	user, ok := a.requireUser(w, r)
	if !ok {
		return nil
	}
	if a.opts.Logins == nil || a.opts.Logins.Record == nil || a.opts.Logins.Table == nil {
		return &Error{Code: errNotConfigured}
	}
	values, err := readForm(w, r)
	if err != nil {
		return err
	}
	id := values.Get("id")
	if info, ok := a.opts.Logins.Info(r, a.opts.AuthName); ok && info.ID != "" && id == info.ID {
		http.Redirect(w, r, "/sessions?ended=self", http.StatusSeeOther)
		return nil
	}
	err = a.opts.Logins.EndOne(r.Context(), user, id, a.opts.Now())
	switch {
	case errors.Is(err, authform.ErrNoSuchLogin):
		http.Redirect(w, r, "/sessions?ended=gone", http.StatusSeeOther)
		return nil
	case err != nil:
		return err
	}
	a.logger.Info("site: one session ended", "user", user)
	http.Redirect(w, r, "/sessions?ended=one", http.StatusSeeOther)
	return nil
}

// browserOf names the browser and system of a User-Agent for people
// ("Firefox on Windows"), or says it is unknown; the page never shows the
// raw header, which the client chose.
func browserOf(ua string) string {
	browsers := []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Chrome (headless)"},
		{"Chrome/", "Chrome"}, {"CriOS/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client/", "a Go program"},
	}
	systems := []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"CrOS", "ChromeOS"},
		{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	}
	browser, system := "", ""
	for _, b := range browsers {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, s := range systems {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser == "" && system == "":
		return "Unknown browser"
	case browser == "":
		return "A browser on " + system
	case system == "":
		return browser
	}
	return browser + " on " + system
}
