package users

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// CanonicalName is the form a new user name is stored under and the key
// that makes names unique: the PRECIS UsernameCaseMapped profile (RFC
// 8265: width mapping, case folding, Unicode NFC; invisible, control and
// most non-ASCII symbol characters refused) applied to each space-separated
// part, as RFC 8265 §3.1 allows for user names with spaces, plus a refusal
// of names that mix alphabets (Latin with Cyrillic, say), whose look-alikes
// PRECIS alone lets through. So "Alice", "ALICE" and "alice" are one name,
// "zoë" is one name in either Unicode form, and "al\u200bice" or a Cyrillic
// "а" in a Latin name are refused.
//
// The error is an *InvalidError for FieldName, worded for the person who
// typed the name.
func CanonicalName(name string) (string, error) {
	if err := checkNameBytes(name); err != nil {
		return "", err
	}
	parts := strings.Split(name, " ")
	for i, p := range parts {
		if p == "" {
			return "", invalidName("The user name cannot have two spaces in a row.")
		}
		c, err := precis.UsernameCaseMapped.String(p)
		if err != nil {
			return "", invalidName("The user name can only hold letters, digits, single spaces and ASCII punctuation; invisible characters, symbols and emoji are not allowed.")
		}
		parts[i] = c
	}
	c := strings.Join(parts, " ")
	if mixesScripts(c) {
		return "", invalidName("The user name mixes letters of different alphabets (Latin and Cyrillic, for example), which would allow look-alike names. Use one alphabet.")
	}
	if err := checkNameBytes(c); err != nil {
		return "", err
	}
	return c, nil
}

// ValidateName checks a user name for storing: it must have a canonical
// form (CanonicalName) and fit on an htpasswd line that Apache reads back
// unchanged: no colon, no control characters, no surrounding space (Apache
// trims it), no leading '#' (a comment line).
func ValidateName(name string) error {
	_, err := CanonicalName(name)
	return err
}

func invalidName(msg string) error { return &InvalidError{Field: FieldName, Message: msg} }

// checkNameBytes is what the htpasswd format and PostgreSQL's text type
// need of a name, before and after mapping (case folding can change the
// length).
func checkNameBytes(name string) error {
	switch {
	case name == "":
		return invalidName("Enter a user name.")
	case !utf8.ValidString(name):
		return invalidName("The user name must be valid UTF-8 text.")
	case len(name) > MaxNameBytes:
		return invalidName(fmt.Sprintf("The user name is too long: at most %d bytes, this one has %d.", MaxNameBytes, len(name)))
	case strings.ContainsRune(name, ':'):
		return invalidName("The user name cannot contain a colon (:).")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return invalidName("The user name cannot contain control characters such as tabs or line breaks.")
	case strings.TrimFunc(name, unicode.IsSpace) != name:
		return invalidName("The user name cannot begin or end with a space.")
	case name[0] == '#':
		return invalidName("The user name cannot begin with #.")
	}
	return nil
}

// lookupKey is the canonical form of a name typed at login, or "" when it
// has none (such a name can only match a legacy file entry exactly).
func lookupKey(name string) string {
	c, err := CanonicalName(name)
	if err != nil {
		return ""
	}
	return c
}

// cleanBytes reports whether a name can be sent to PostgreSQL as text:
// valid UTF-8 without NUL. Anything else cannot name a user there, and
// PostgreSQL answers it with an error rather than no row.
func cleanBytes(name string) bool {
	return utf8.ValidString(name) && strings.IndexByte(name, 0) < 0
}

// mixesScripts reports whether name holds letters of more than one
// script, except the combinations UTS #39's "highly restrictive" level
// allows: Latin with the scripts of Chinese, Japanese or Korean.
func mixesScripts(name string) bool {
	seen := map[string]bool{}
	for _, r := range name {
		if !unicode.IsLetter(r) {
			continue
		}
		for s, table := range unicode.Scripts {
			if s != "Common" && s != "Inherited" && unicode.Is(table, r) {
				seen[s] = true
				break
			}
		}
	}
	if len(seen) <= 1 {
		return false
	}
	for _, allowed := range [][]string{
		{"Latin", "Han", "Hiragana", "Katakana"},
		{"Latin", "Han", "Bopomofo"},
		{"Latin", "Han", "Hangul"},
	} {
		n := 0
		for _, s := range allowed {
			if seen[s] {
				n++
			}
		}
		if n == len(seen) {
			return false
		}
	}
	return true
}
