// Package logconfig is mod_log_config's access log: LogFormat strings
// compiled once (Compile), and CustomLog files written one line per
// request by Handler, in the format Apache httpd writes for the same
// request. Files are opened for appending and can be reopened after log
// rotation (File.Reopen).
//
// Directives that would write a session cookie or a password into the log
// (%C, %{Cookie}i, %{Authorization}i, %{Set-Cookie}o) are refused at
// Compile: the session cookie is a credential.
package logconfig
