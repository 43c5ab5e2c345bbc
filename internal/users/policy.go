package users

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode/utf8"
)

// commonPasswords is the most frequent passwords of zxcvbn's list (see
// commonpasswords.LICENSE), one a line, sorted bytewise so that a lookup
// is a binary search over the embedded text with nothing parsed or kept.
//
//go:embed commonpasswords.txt
var commonPasswords string

// MinDistinctRunes is how many different characters a password needs: it
// refuses passwords like "aaaaaaaa" or "abababab", which a guesser's
// repeat patterns find at once.
const MinDistinctRunes = 4

// CommonPasswords returns the list ValidatePassword refuses, one
// lower-case password a line, sorted bytewise, so that the site's live
// feedback refuses exactly the same ones.
func CommonPasswords() string { return commonPasswords }

// ValidatePassword checks a new password for the user name (OWASP ASVS
// 2.1): at least MinPasswordRunes characters and at most MaxPasswordBytes
// bytes, because bcrypt would silently ignore the rest; no NUL, which
// Apache's C bcrypt stops at; not only white space, not a few characters
// repeated, not one of the 10,000 most common passwords, and not the user
// name or close to it. The message says which rule was broken.
func ValidatePassword(name, password string) error {
	bad := func(msg string) error { return &InvalidError{Field: FieldPassword, Message: msg} }
	switch {
	case !utf8.ValidString(password):
		return bad("The password must be valid UTF-8 text.")
	case utf8.RuneCountInString(password) < MinPasswordRunes:
		return bad(fmt.Sprintf("The password is too short: use at least %d characters.", MinPasswordRunes))
	case len(password) > MaxPasswordBytes:
		return bad(fmt.Sprintf("The password is too long: at most %d bytes (bcrypt's limit), this one has %d. Non-ASCII characters take 2 to 4 bytes each.", MaxPasswordBytes, len(password)))
	case strings.IndexByte(password, 0) >= 0:
		return bad("The password cannot contain a NUL character.")
	case strings.TrimSpace(password) == "":
		return bad("The password cannot be only spaces.")
	case distinctRunes(password) < MinDistinctRunes:
		return bad(fmt.Sprintf("The password repeats too few different characters; use at least %d different ones.", MinDistinctRunes))
	case isCommonPassword(password):
		return bad("This password is one of the 10,000 most common passwords, which attackers try first. Choose another.")
	case closeToName(name, password):
		return bad("The password is too close to the user name. Choose one that does not contain it.")
	}
	return nil
}

func distinctRunes(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// isCommonPassword looks the lower-cased password up in commonPasswords.
func isCommonPassword(password string) bool {
	return sortedLinesContain(commonPasswords, strings.ToLower(password))
}

// sortedLinesContain binary-searches text, lines sorted bytewise each
// ending in '\n', for a line equal to s. lo is always the start of a line.
func sortedLinesContain(text, s string) bool {
	lo, hi := 0, len(text)
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := lo + strings.LastIndexByte(text[lo:mid], '\n') + 1
		end := strings.IndexByte(text[start:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		switch line := text[start:end]; {
		case line == s:
			return true
		case line < s:
			lo = end + 1
		default:
			hi = start
		}
	}
	return false
}

// closeToName reports whether the password contains the user name or is
// contained in it, ignoring case: "alice2024" for alice.
func closeToName(name, password string) bool {
	n := lookupKey(name)
	if n == "" {
		n = strings.ToLower(name)
	}
	if utf8.RuneCountInString(n) < 3 {
		return false // "al" inside a password says nothing
	}
	p := strings.ToLower(password)
	return strings.Contains(p, n) || strings.Contains(n, p) ||
		strings.Contains(p, strings.ReplaceAll(n, " ", ""))
}
