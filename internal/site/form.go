package site

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// form is a submitted form: the values to show again and the errors to
// show next to their fields ("form" is the form as a whole).
type form struct {
	Values map[string]string
	Errors map[string]string
}

func newForm() *form {
	return &form{Values: map[string]string{}, Errors: map[string]string{}}
}

// fail records the first error for a field.
func (f *form) fail(field, msg string) {
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = msg
	}
}

func (f *form) ok() bool { return len(f.Errors) == 0 }

// readForm reads a urlencoded POST body of at most maxBodyBytes. Errors
// are from the vocabulary: too large, or unreadable.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &Error{Code: errTooLarge, Err: err}
		}
		return nil, &Error{Code: errInvalid, Err: err}
	}
	return r.PostForm, nil
}

// sameSitePath reports whether s is safe to return to after login: a path
// starting with a single '/', with no backslash, control character, scheme
// or host (DESIGN §3: no open redirect through httpd_location).
func sameSitePath(s string) bool {
	if s == "" || s[0] != '/' || len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	if strings.IndexByte(s, '\\') >= 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}
