// Package site is websession's reference site: the pages around the
// mod_session and mod_auth_form machinery (DESIGN §2). It serves the home
// page, the login form that posts to the form-login-handler, registration
// and password change (the manual's "external applications", which log the
// user in by writing the new credentials into the session through the
// SessionHeader response header), the logout button, the private area and
// a session inspector.
//
// The package runs behind the server's per-location chain: the session
// middleware (and, for /private/ and /password, authform.Protect) have run
// before any handler here. It never parts from Apache's wire behaviour; it
// only adds pages. Every change is a POST; forms are rendered with
// Cache-Control: no-store; errors are mapped to friendly pages in one place
// (errors.go) and internals are logged, never shown.
package site
