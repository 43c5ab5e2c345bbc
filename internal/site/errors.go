package site

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/users"
)

// msgBusy is shown when too many passwords are being checked at once.
const msgBusy = "The server is checking too many passwords at once. Please try again in a few seconds."

// msgThrottleDown is the 503 page's text when the login throttle's counters
// cannot be reached: no password may be checked meanwhile.
const msgThrottleDown = "Logins cannot be checked right now. Please try again in a moment."

// code is the site's small error vocabulary. Each code maps to one status
// and one friendly page; only internal errors are logged.
type code int

const (
	errInternal      code = iota // a store failed: 500, logged
	errInvalid                   // the request cannot be read: 400
	errUnauthorised              // not logged in where that is required
	errNotFound                  // no such page: 404
	errConflict                  // the change collides with existing state: 409
	errUnavailable               // the session store is down: 503
	errTooLarge                  // the body is over maxBodyBytes: 413
	errMethod                    // the method is not allowed here: 405
	errNotConfigured             // the feature needs a user store: 501
	errForbidden                 // refused before the site ran (cross-origin post, address): 403
)

// Error is an error with a code from the vocabulary and a message meant
// for the user. Err, when set, is the cause, logged for internal errors.
type Error struct {
	Code    code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// problem describes how each code is shown.
type problem struct {
	status  int
	title   string
	message string
}

var problems = map[code]problem{
	errInternal:      {http.StatusInternalServerError, "Something went wrong", "The server could not finish this request. It has been noted; please try again later."},
	errInvalid:       {http.StatusBadRequest, "Bad request", "The request could not be read. Please go back and try again."},
	errUnauthorised:  {http.StatusUnauthorized, "Please log in", "You need to log in to see this page."},
	errNotFound:      {http.StatusNotFound, "Page not found", "There is no page at this address."},
	errConflict:      {http.StatusConflict, "Conflict", "The change could not be made because something else changed first."},
	errUnavailable:   {http.StatusServiceUnavailable, "Service unavailable", "Sessions cannot be read right now. Please try again in a moment."},
	errTooLarge:      {http.StatusRequestEntityTooLarge, "Form too large", "The form you sent is larger than this site accepts."},
	errMethod:        {http.StatusMethodNotAllowed, "Method not allowed", "This page cannot be used that way."},
	errForbidden:     {http.StatusForbidden, "Request refused", "This request was refused: it came from a form on another site, or from an address this page does not accept."},
	errNotConfigured: {http.StatusNotImplemented, "Not available", "This site has no user store configured, so accounts cannot be created or changed here."},
}

// classify maps any error onto the vocabulary: our own *Error, the
// session store being down, an oversized body; anything else is internal.
func classify(err error) (code, string) {
	var e *Error
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		msg := e.Message
		if msg == "" {
			msg = problems[e.Code].message
		}
		return e.Code, msg
	case errors.Is(err, session.ErrUnavailable):
		return errUnavailable, problems[errUnavailable].message
	case errors.Is(err, users.ErrBusy):
		return errUnavailable, msgBusy
	case errors.Is(err, authform.ErrThrottleUnavailable):
		return errUnavailable, msgThrottleDown
	case errors.As(err, &tooLarge):
		return errTooLarge, problems[errTooLarge].message
	}
	return errInternal, problems[errInternal].message
}

// fail answers with the friendly page for err. The failures that are the
// server's (internal errors, a store down or busy) go to Options.Fail, the
// integrator's one failure renderer, when there is one; otherwise they are
// logged once, here, with their cause, and the user sees only the generic
// message.
func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	c, msg := classify(err)
	p := problems[c]
	if a.opts.Fail != nil && (c == errInternal || c == errUnavailable) {
		a.opts.Fail(w, r, err)
		return
	}
	switch c {
	case errInternal:
		a.logger.Error("site: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case errUnavailable:
		a.logger.Warn("site: unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		retry := "5"
		if errors.Is(err, users.ErrBusy) {
			retry = strconv.Itoa(int(users.BusyRetryAfter.Seconds()))
		}
		w.Header().Set("Retry-After", retry)
	}
	a.render(w, r, p.status, "error.html", &pageData{Title: p.title, Message: msg})
}

// pages is the site's router with the site's failure pages, which the
// server renders its own failures with.
type pages struct {
	http.Handler
	a *app
}

// ErrorPage writes the site's page for a failure status (403 from the
// cross-origin protection or an address refused, 404 for a program or
// file that is not there, 500 or 503) without logging: the caller has
// logged it. cause picks the words of a 503 (a session store down, or too
// many password checks at once).
func (p pages) ErrorPage(w http.ResponseWriter, r *http.Request, status int, cause error) {
	c := errInternal
	switch status {
	case http.StatusServiceUnavailable:
		c = errUnavailable
	case http.StatusForbidden:
		c = errForbidden
	case http.StatusNotFound:
		c = errNotFound
	}
	pr := problems[c]
	msg := pr.message
	switch {
	case c == errUnavailable && errors.Is(cause, users.ErrBusy):
		msg = msgBusy
	case c == errUnavailable && errors.Is(cause, authform.ErrThrottleUnavailable):
		msg = msgThrottleDown
	}
	p.a.render(w, r, pr.status, "error.html", &pageData{Title: pr.title, Message: msg})
}
