package site

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
)

// form is a submitted form: the values to show again and the errors to
// show next to their fields ("form" is the form as a whole). fields are
// the input ids in page order, so that the error summary lists problems
// in the order a person meets the fields.
type form struct {
	Values map[string]string
	Errors map[string]string
	fields []string
}

// fieldError is one line of the error summary; Field is the id of the
// input it links to, "" for a problem with the form as a whole.
type fieldError struct {
	Field, Message string
}

func newForm(fields ...string) *form {
	return &form{Values: map[string]string{}, Errors: map[string]string{}, fields: fields}
}

// Summary lists the errors for the summary at the top of the page: the
// form's own first, then each field's in page order.
func (f *form) Summary() []fieldError {
	var out []fieldError
	if msg, ok := f.Errors["form"]; ok {
		out = append(out, fieldError{Message: msg})
	}
	for _, field := range f.fields {
		if msg, ok := f.Errors[field]; ok {
			out = append(out, fieldError{Field: field, Message: msg})
		}
	}
	// A field the page did not declare still gets its line: an error must
	// never be dropped from the summary.
	for _, field := range slices.Sorted(maps.Keys(f.Errors)) {
		if field != "form" && !slices.Contains(f.fields, field) {
			out = append(out, fieldError{Field: field, Message: f.Errors[field]})
		}
	}
	return out
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
