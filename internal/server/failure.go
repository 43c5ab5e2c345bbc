package server

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/users"
)

// Pages renders the friendly page of a failed request in the site's own
// look. The reference site implements it with its templates.
type Pages interface {
	// ErrorPage writes the whole response for status (a 4xx or 5xx).
	// cause, when not nil, is what failed, for the page to choose its
	// words; it is never shown.
	ErrorPage(w http.ResponseWriter, r *http.Request, status int, cause error)
}

// fail is the one answer to a request that could not be served: every
// layer below reports its error here, and this is where it is logged,
// once, and shown as a page without internals. A session store that
// cannot be reached, or user stores refusing another password hash (a
// login flood, users.ErrBusy), is a 503 the client may retry; anything
// else is 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, session.ErrUnavailable):
		s.logger.Warn("session store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		s.page(w, r, http.StatusServiceUnavailable, err)
	case errors.Is(err, users.ErrBusy):
		s.logger.Warn("password checks saturated", "method", r.Method, "path", r.URL.Path, "err", err)
		s.page(w, r, http.StatusServiceUnavailable, err)
	case errors.Is(err, authform.ErrThrottleUnavailable):
		s.logger.Error("login throttle unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		s.page(w, r, http.StatusServiceUnavailable, err)
	default:
		s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		s.page(w, r, http.StatusInternalServerError, err)
	}
}

// page writes the failure page for status, dropping whatever headers the
// failed handler had set (a half-made session cookie must not leave).
// cause is what failed, nil when nothing did (a refused request).
func (s *Server) page(w http.ResponseWriter, r *http.Request, status int, cause error) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set("Cache-Control", "no-store")
	busy := errors.Is(cause, users.ErrBusy)
	if status == http.StatusServiceUnavailable {
		retry := "5"
		if busy {
			retry = strconv.Itoa(int(users.BusyRetryAfter.Seconds()))
		}
		h.Set("Retry-After", retry)
	}
	if s.pages != nil {
		s.pages.ErrorPage(w, r, status, cause)
		return
	}
	fallbackPage(w, status, busy)
}

// fallbackHTML is the failure page of a server without a site: a whole
// document (language, landmark, title, description) that needs nothing
// else; the verbs are the title (three times) and the message. It has no
// styling: without the site no stylesheet is served, and the
// Content-Security-Policy (default-src 'self') refuses inline style, so
// the browser's own look keeps it readable.
const fallbackHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%[1]s</title>
<meta name="description" content="%[1]s: %[2]s">
</head>
<body>
<main>
<h1>%[1]s</h1>
<p>%[2]s</p>
<p><a href="/">Go to the home page</a></p>
</main>
</body>
</html>
`

// fallbackPage writes the failure page of a server without a site; busy
// says a 503 is users.ErrBusy.
func fallbackPage(w http.ResponseWriter, status int, busy bool) {
	title, msg := "Something went wrong", "The server could not finish this request. Please try again later."
	switch {
	case busy:
		title, msg = "Busy", "The server is checking too many passwords at once. Please try again in a few seconds."
	case status == http.StatusServiceUnavailable:
		title, msg = "Service unavailable", "Sessions cannot be read right now. Please try again in a moment."
	case status == http.StatusForbidden:
		title, msg = "Request refused", "This request was refused: it came from a form on another site, or from an address this page does not accept."
	case status == http.StatusNotFound:
		title, msg = "Page not found", "There is no page at this address."
	}
	body := fmt.Sprintf(fallbackHTML, html.EscapeString(title), html.EscapeString(msg))
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
