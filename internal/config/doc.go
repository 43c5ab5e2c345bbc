// Package config reads the Apache httpd configuration subset that websession
// understands and turns it into typed settings.
//
// The file syntax is httpd's: one directive per line, lines whose first
// non-blank character is '#' are comments, a line ending in '\' continues on
// the next, arguments are words separated by blanks and a word that starts
// with a double (or, as in httpd, single) quote runs to the matching quote,
// with \" standing for a quote inside it. ${VAR} is replaced from the
// environment before a line is split into words. Directive names and On/Off
// values are case-insensitive. <Location PATH> ... </Location> sections hold
// per-path settings.
//
// The directives are those of httpd's core (Listen, ServerRoot, Timeout,
// SetHandler, ErrorDocument, AuthType, AuthName, Require), mod_alias (Alias,
// ScriptAlias), mod_dbd (DBDriver, DBDParams, DBDPrepareSQL, DBDMin, DBDKeep,
// DBDMax, DBDExptime), mod_authn_file (AuthUserFile), mod_authn_dbd
// (AuthDBDUserPWQuery), mod_session, mod_session_cookie, mod_session_crypto,
// mod_session_dbd and mod_auth_form, plus a few websession extensions, each
// marked as such on the field it fills.
//
// Where it parts from httpd:
//
//   - Validation is stricter. Numbers are checked (httpd's atol turns "abc"
//     into 0 and accepts negative ages), an unknown SessionCryptoCipher or
//     AuthFormProvider stops start-up instead of failing every request, an
//     undefined ${VAR} is an error instead of a warning, and an unterminated
//     quote is an error. Every error reads "file:line: Directive: what is
//     wrong".
//   - Only <Location> sections exist (no <Directory>, <VirtualHost>,
//     <IfModule>, regular-expression or wildcard locations, no .htaccess).
//     Matching sections are merged in order of increasing path length, ties
//     in file order, so the most specific <Location> wins.
//   - Only "Require valid-user" and "Require user NAME..." are understood;
//     several Require lines in one section mean "any of them".
//   - SetHandler knows only form-login-handler, form-logout-handler and none.
//   - DBDriver accepts only pgsql.
//
// Cross-directive checks (for instance a scope naming both SessionCookieName
// and SessionDBDCookieName, or form authentication without encryption) are
// not made here: the code that builds stores and middleware from a Settings
// value makes them, using Config.AllSettings at start-up.
package config
