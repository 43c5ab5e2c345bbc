// Package server turns a parsed configuration into the HTTP handler httpd
// would run for it: the <Location> settings of each request path, the
// session middleware (mod_session with its cookie, crypto or DBD store),
// form authentication (mod_auth_form), SetHandler, Alias, ScriptAlias (CGI
// through net/http/cgi) and, for paths nothing else serves, the reference
// site.
//
// Everything that can be checked is checked when the server is built, so a
// bad combination of directives stops start-up with a message naming the
// location and the fix, instead of failing on some later request.
// Departures from httpd: unsafe cross-origin requests are refused
// (net/http CrossOriginProtection), and a GET or HEAD on a login or logout
// handler location falls through to the page that serves that path (the
// reference site shows its form there), since the handlers act on POST only.
package server
