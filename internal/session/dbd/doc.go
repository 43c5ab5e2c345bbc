// Package dbd implements mod_session_dbd: the session kept in a PostgreSQL
// row (table session: key, value, expiry in µs), found through an id cookie
// (SessionDBDCookieName, SessionDBDCookieName2, SessionDBDCookieRemove) or
// keyed by the authenticated user (SessionDBDPerUser). The statements are
// the manual's selectsession, insertsession, updatesession and
// deletesession, or replacements written for DBDPrepareSQL.
//
// Departures from httpd 2.4.x, each tested:
//   - ids are 128 random bits from crypto/rand written as a v4 UUID (httpd
//     may use a time-based generator);
//   - only a cookie value that parses as a UUID is looked up, so an id
//     cookie can never name a per-user row ("alice") sharing the table;
//   - a session whose row has gone by the time it is saved (renamed by a
//     concurrent request that changed it, deleted by a logout, expired and
//     cleaned) is not written again and gets no cookie: the browser keeps
//     the survivor's id, and a logged-out session is never resurrected.
//     Of requests changing one session at once, the first to save wins and
//     the others' changes are dropped (httpd inserts each under a new id,
//     leaving several live copies and, in whichever cookie the browser
//     keeps last, possibly a session without the login);
//   - an emptied session has its row deleted and the client gets a removal
//     cookie (httpd sends a fresh id pointing to no row);
//   - exactly one Set-Cookie per cookie name (httpd sends two);
//   - database failures are reported as session.ErrUnavailable, so the
//     request is answered 503 instead of starting a blank session that
//     would overwrite the stored one;
//   - expired rows are deleted by Cleanup / RunCleanup (httpd never runs
//     its cleanup statement);
//   - with Options.Cache (DBDCache On, the default) rows are served from
//     memory until PostgreSQL notifies that they changed (see
//     internal/rowcache), so an unchanged session costs no query; httpd
//     selects the row on every request.
package dbd
