// Package users holds the user stores that mod_auth_form asks for a
// password check on every request: the htpasswd file of mod_authn_file
// (AuthFormProvider file, AuthUserFile) and the SQL table of mod_authn_dbd
// (AuthFormProvider dbd, AuthDBDUserPWQuery). It knows nothing of HTTP.
//
// Both stores implement Store. Check answers Granted, Denied or NotFound,
// the provider results of the Apache authn API (AUTH_GRANTED, AUTH_DENIED,
// AUTH_USER_NOT_FOUND); a returned error is AUTH_GENERAL_ERROR.
//
// What both stores read: every hash Apache's htpasswd writes on Linux
// except traditional crypt(3) DES: bcrypt ($2y$, $2a$, $2b$), SHA-crypt
// ($5$, $6$: htpasswd -2, -5), APR1-MD5 ($apr1$, htpasswd -m) and {SHA}
// (htpasswd -s). APR1 and SHA are accepted so existing files keep working,
// and logged once per user as weak. DES crypt (htpasswd -d), plain text
// (-p) and anything else are refused (Denied, logged once per user: set a
// new password for such users); DES crypt would need a DES implementation
// with crypt's salted E-box, which the standard library does not offer. Both stores write bcrypt only, with the $2y$
// prefix of htpasswd -B, so Apache reads what we write.
//
// Where we part from Apache, on purpose:
//   - Verified-credential cache: Apache runs bcrypt against the store on
//     every request. We still look the stored hash up on every Check, but a
//     password already verified against that same stored hash is accepted
//     from an in-memory cache, keyed by the user name, an HMAC-SHA256 of the
//     password under a random per-process key, and the stored hash string.
//     The clear password is never kept. A password changed anywhere (by us,
//     by another process, by Apache's htpasswd editing the file) changes the
//     stored hash, so the next Check verifies afresh: the semantics are
//     Apache's (an old session gets 401 on its next request) at microseconds.
//   - Staleness: the file store keeps the parsed file in memory and a
//     descriptor open on it; each Check makes one fstat(2) of that
//     descriptor (an in-place rewrite changes size/mtime/ctime, a
//     replacement by rename or a removal unlinks it) and re-reads the file
//     when anything changed, or while the file is younger than the file
//     system's timestamp granularity (then the bytes are compared).
//     Options.StatInterval can make the check periodic instead.
//   - bcrypt ignores password bytes past 72. We never truncate silently:
//     setting a password over 72 bytes is refused with a message, and a
//     Check with one is Denied without hashing it.
//   - Unknown users cost a dummy bcrypt comparison at the configured cost,
//     so response time does not tell which names exist.
//   - The file is rewritten atomically (temporary file, fsync, rename, fsync
//     of the folder) under an advisory lock (flock on "<file>.lock"), so
//     concurrent writers, in one process or many, lose no update and a crash
//     never leaves a half-written file. Lines we cannot parse are kept
//     verbatim. Apache's own htpasswd neither locks nor renames (it copies
//     over the file in place); a change it makes is still seen on the next
//     Check, but do not run it while websession is adding users.
package users
