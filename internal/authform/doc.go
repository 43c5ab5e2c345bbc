// Package authform implements Apache httpd's mod_auth_form (spec §2.5, §6;
// manual page mod_auth_form): form-based login with the credentials kept
// in the session of package session.
//
//   - Protect is "AuthType form" with "Require valid-user" or
//     "Require user NAME...": the credentials stored in the session under
//     <AuthName>-user and <AuthName>-pw are checked against the user stores
//     (AuthFormProvider) on every request, and a POSTed login form logs in
//     inline, replaying the interrupted request (httpd_method,
//     httpd_mimetype, httpd_body).
//   - LoginHandler is "SetHandler form-login-handler".
//   - LogoutHandler is "SetHandler form-logout-handler".
//   - Login and Logout write or remove the credentials from the site's own
//     handlers (after registration or a password change).
//
// The authenticated user is available downstream through User (REMOTE_USER;
// AUTH_TYPE is AuthType, "form").
//
// Where we part from httpd 2.4, on purpose:
//   - The httpd_location field is followed only when it is a same-site path
//     ("/x"; not "//x", "/\x", absolute URLs or anything with control
//     characters), and never after a failed inline login (httpd redirects
//     there even when the password was wrong). The configured
//     AuthForm*Location values come from the administrator and may be
//     absolute; of ap_expr they support %{REQUEST_URI}, %{QUERY_STRING}
//     and %{HTTP_HOST}.
//   - An inline login without an httpd_method field runs the protected
//     handler as GET with an empty body, as the manual promises; httpd
//     runs it as POST with an empty body.
//   - Credentials stored by an inline login whose request came with an
//     expired or undecodable session are kept (httpd trunk, PR 56052).
//   - Failed logins (login handler and inline) are throttled per user name
//     and per client address: past the limit, 429 with Retry-After, for
//     unknown users too. Unknown users and wrong passwords get the same
//     answer.
//   - The site passphrase hash is compared in constant time.
//   - The logout handler accepts POST only (405 otherwise: a GET from an
//     image tag must not log anyone out) and requires AuthName (httpd
//     without AuthName removes nothing).
//   - The login and logout handlers answer a small real page when no
//     location is configured, not httpd's canned "internal error" page.
//   - "Cache-Control: no-store" goes on 401 answers (as httpd), and also on
//     protected responses and login/logout answers, unless DisableNoStore.
//   - Passwords over 72 bytes are refused by the user stores (bcrypt reads
//     no further); such a login gets the normal failure answer.
//   - AuthFormAuthoritative Off (NonAuthoritative) makes a failing store
//     count as "not found", since there is no other module to decline to.
//   - A session store that is down answers 503; a user store error 500,
//     logged once, with no details on the page.
//   - httpd's quirk of emitting a Location header when the AuthFormLocation
//     field name contains ':' is not reproduced.
//
// The password is kept in the session in clear: use an encrypted cookie
// store (session/crypto) or the database store.
package authform
