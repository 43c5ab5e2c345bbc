package site

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/users"
	"github.com/websession/websession/templates"
)

// pageTemplate is one page parsed with the layout.
type pageTemplate = *template.Template

// pageData is what every template receives.
type pageData struct {
	Title   string // error pages
	Message string // error pages
	User    string // who is logged in, "" when nobody
	Path    string // the request path, for aria-current in the navigation
	Notice  string // a one-line status message

	Form            *form
	Next            string // login: the same-site path to return to
	Action          string // login: where the form posts ("/login", or the protected page for inline login)
	Inline          bool   // login: rendered as a protected page's ErrorDocument 401
	RegisterEnabled bool   // login: offer the registration link
	Inspect         *inspection
	Username        string        // login: the user name typed before a refusal
	Login           *loginSummary // sessions: this login
	Rules           passwordRules // new-password fields: the limits the hint shows and the script checks
}

// noticeText says why the session's last login ended (authform's notices).
func noticeText(n string) string {
	switch n {
	case authform.NoticeExpired:
		return "Your session expired because it was not used for a while. Please log in again."
	case authform.NoticeLifetime:
		return "Your login reached its maximum age. Please log in again."
	case authform.NoticeEverywhere:
		return "You were logged out: this session was ended from another one (log out everywhere)."
	case authform.NoticePassword:
		return "You were logged out because your password was changed in another session."
	case authform.NoticeEnded:
		return "You were logged out: this session was ended from another one (your sessions page)."
	case authform.NoticeLoggedOut:
		return "This session was logged out."
	}
	return ""
}

// passwordRules are users.ValidatePassword's limits, for the page.
type passwordRules struct {
	MinRunes, MaxBytes, MinDistinct int
	Common                          string // where the common-password list is served
}

// parseTemplates parses every page once, each with base.html.
func parseTemplates() (map[string]pageTemplate, error) {
	pages, err := fs.Glob(templates.FS, "*.html")
	if err != nil {
		return nil, err
	}
	cache := map[string]pageTemplate{}
	for _, page := range pages {
		if page == "base.html" {
			continue
		}
		t, err := template.New(page).ParseFS(templates.FS, "base.html", page)
		if err != nil {
			return nil, fmt.Errorf("site: template %s: %w", page, err)
		}
		cache[page] = t
	}
	return cache, nil
}

// render writes a page: into a buffer first, so that a template error
// never sends half a page.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, page string, data *pageData) {
	t, ok := a.templates[page]
	if !ok {
		a.logger.Error("site: no such template", "page", page)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	if data.User == "" {
		// Decided once for the request, by authentication in front of
		// the site (Protect, the login handler or Identify).
		data.User = authform.LoggedIn(r)
	}
	if n := authform.TakeNotice(r, a.opts.AuthName); n != "" && data.Notice == "" {
		data.Notice = noticeText(n)
	}
	data.Path = r.URL.Path
	if data.Form == nil {
		data.Form = newForm()
	}
	data.Rules = passwordRules{MinRunes: users.MinPasswordRunes, MaxBytes: users.MaxPasswordBytes,
		MinDistinct: users.MinDistinctRunes, Common: commonPasswordsPath}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", data); err != nil {
		a.logger.Error("site: template failed", "page", page, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// noStore marks pages with forms, so that no cache keeps them.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}
