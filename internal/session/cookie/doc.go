// Package cookie implements mod_session_cookie: the session kept in a
// browser cookie (SessionCookieName, SessionCookieName2,
// SessionCookieRemove), and the cookie reading and writing rules of httpd's
// util_cookies.c that the DBD store shares.
//
// Departures from httpd 2.4.x: exactly one Set-Cookie header per cookie name
// per response (httpd sends the removal cookie twice, PR 60910); a cookie
// header value longer than MaxHeaderValue is treated as absent; a session
// whose cookie line would exceed MaxCookieSize is not saved (logged by the
// caller) and the page is still served.
package cookie
