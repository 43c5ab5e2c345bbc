package site

import (
	"errors"
	"net/http"
	"net/url"
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
