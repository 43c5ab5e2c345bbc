// Package session implements Apache httpd's mod_session in Go: a per-user
// table of string keys and values carried across requests, its urlencoded
// wire form, expiry (SessionMaxAge, SessionExpiryUpdateInterval), and the
// middleware that loads the session lazily, exports it (SessionEnv), merges
// a response header into it (SessionHeader) and saves it before the response
// headers leave.
//
// Where the session is kept is a Store (the cookie store of
// mod_session_cookie lives in session/cookie, the PostgreSQL store of
// mod_session_dbd in session/dbd); the optional encryption of
// mod_session_crypto is a Cipher (session/crypto) applied between the
// urlencoded form and the store.
//
// Deliberate departures from httpd 2.4.x:
//   - an expired or undecodable session is reset in place, so values set
//     later in the same request are saved (httpd trunk, PR 56052);
//   - "expiry" is always emitted last when encoding, whatever SessionEnv did;
//   - a request header named like SessionHeader, or any header that maps to
//     the CGI variable HTTP_SESSION or HTTP_X_REPLACE_SESSION, is removed
//     before handlers run, so a client can never write the session;
//   - encoded sessions are limited to MaxEncodedSize bytes; larger ones are
//     not saved (logged) and the response is still served.
package session
