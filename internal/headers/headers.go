// Package headers is the subset of Apache's mod_headers that websession
// supports, the Header directive with set, append and unset, plus the
// security headers every response gets unless the configuration says
// otherwise.
//
//	Header [always|onsuccess] set|append header value
//	Header [always|onsuccess] unset header
//
// As in httpd, a rule without a condition (onsuccess) applies to
// responses below 400, and "always" applies to every response, errors
// included. Values are sent verbatim, except that %% stands for % (other
// mod_headers format specifiers, such as %{VAR}e, are not supported and
// refused).
package headers

import (
	"fmt"
	"net/http"
	"strings"
)

// Action is what a rule does to its header.
type Action int

const (
	// Set replaces the header with Value.
	Set Action = iota + 1
	// Append adds ", Value" to the header's existing value, or sets it.
	Append
	// Unset removes the header.
	Unset
)

// Rule is one Header directive.
type Rule struct {
	// Always applies the rule to error responses (status 400 and above)
	// too; without it the rule applies only below 400.
	Always bool
	Action Action
	Name   string // canonical header name
	Value  string // for Set and Append
}

// Parse reads the arguments of a Header directive (quotes already
// removed). Errors say what is wrong and how to write it.
func Parse(args []string) (Rule, error) {
	var r Rule
	if len(args) > 0 {
		switch strings.ToLower(args[0]) {
		case "always":
			r.Always = true
			args = args[1:]
		case "onsuccess":
			args = args[1:]
		}
	}
	if len(args) == 0 {
		return r, fmt.Errorf("needs an action: Header [always] set|append|unset header [value]")
	}
	switch strings.ToLower(args[0]) {
	case "set":
		r.Action = Set
	case "append":
		r.Action = Append
	case "unset":
		r.Action = Unset
	case "add", "merge", "setifempty", "echo", "edit", "edit*", "note":
		return r, fmt.Errorf("action %q is not supported; websession supports set, append and unset", args[0])
	default:
		return r, fmt.Errorf("%q is not an action; write Header [always] set|append|unset header [value]", args[0])
	}
	args = args[1:]
	if len(args) == 0 {
		return r, fmt.Errorf("needs a header name after %s", actionName(r.Action))
	}
	if !validName(args[0]) {
		return r, fmt.Errorf("%q is not a valid header name", args[0])
	}
	r.Name = http.CanonicalHeaderKey(args[0])
	args = args[1:]
	if r.Action == Unset {
		if len(args) > 0 {
			return r, fmt.Errorf("unset takes no value; remove %q", strings.Join(args, " "))
		}
		return r, nil
	}
	switch {
	case len(args) == 0:
		return r, fmt.Errorf("%s %s needs a value (quote it when it has blanks)", actionName(r.Action), r.Name)
	case len(args) > 1:
		if strings.HasPrefix(args[1], "env=") || strings.HasPrefix(args[1], "expr=") || args[1] == "early" {
			return r, fmt.Errorf("conditions such as %q are not supported", args[1])
		}
		return r, fmt.Errorf("too many arguments; quote a value that has blanks: \"%s\"", strings.Join(args, " "))
	}
	v, err := unescape(args[0])
	if err != nil {
		return r, err
	}
	r.Value = v
	return r, nil
}

func actionName(a Action) string {
	switch a {
	case Set:
		return "set"
	case Append:
		return "append"
	}
	return "unset"
}

// unescape turns %% into % and refuses every other format specifier.
func unescape(v string) (string, error) {
	if strings.ContainsAny(v, "\r\n\x00") {
		return "", fmt.Errorf("the value cannot contain line breaks or NUL")
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 < len(v) && v[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		return "", fmt.Errorf("format specifiers such as %q are not supported; write a literal %% as %%%%", v[i:min(len(v), i+2)])
	}
	return b.String(), nil
}

// validName reports whether s is an HTTP token (RFC 9110 field-name).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// ContentSecurityPolicy is the default policy: only this origin's
// scripts, styles, images and forms; no plugins, no <base> rewriting, and
// no framing by any page (the clickjacking defence, with X-Frame-Options
// for older browsers).
const ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

// Defaults are the security headers every response carries unless the
// handler set its own or a Header rule changes or unsets them.
func Defaults() []Rule {
	return []Rule{
		{Always: true, Action: Set, Name: "Content-Security-Policy", Value: ContentSecurityPolicy},
		{Always: true, Action: Set, Name: "X-Frame-Options", Value: "DENY"},
		{Always: true, Action: Set, Name: "Cross-Origin-Opener-Policy", Value: "same-origin"},
		{Always: true, Action: Set, Name: "X-Content-Type-Options", Value: "nosniff"},
		{Always: true, Action: Set, Name: "Referrer-Policy", Value: "same-origin"},
	}
}

// Apply changes h as the rules say for a response with status: defaults
// first, each only where the handler set no such header, then rules in
// order.
func Apply(h http.Header, status int, defaults, rules []Rule) {
	for _, d := range defaults {
		if d.applies(status) && len(h.Values(d.Name)) == 0 {
			h.Set(d.Name, d.Value)
		}
	}
	for _, r := range rules {
		if !r.applies(status) {
			continue
		}
		switch r.Action {
		case Set:
			h.Set(r.Name, r.Value)
		case Append:
			if old := h.Values(r.Name); len(old) > 0 {
				h.Set(r.Name, strings.Join(old, ", ")+", "+r.Value)
			} else {
				h.Set(r.Name, r.Value)
			}
		case Unset:
			h.Del(r.Name)
		}
	}
}

func (r Rule) applies(status int) bool { return r.Always || status < 400 }

// Middleware applies defaults and the rules that rulesFor returns for
// each request just before its response header is sent.
func Middleware(defaults []Rule, rulesFor func(*http.Request) []Rule) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hw := &writer{ResponseWriter: w, defaults: defaults, rules: rulesFor(r)}
			next.ServeHTTP(hw, r)
			if !hw.done {
				// The handler wrote nothing: net/http would send 200 with
				// the headers as they are; send it ourselves, with ours.
				hw.WriteHeader(http.StatusOK)
			}
		})
	}
}

// writer applies the rules at the first final WriteHeader.
type writer struct {
	http.ResponseWriter
	defaults, rules []Rule
	done            bool
}

func (w *writer) WriteHeader(status int) {
	if !w.done && status >= 200 {
		w.done = true
		Apply(w.Header(), status, w.defaults, w.rules)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *writer) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (Flush,
// deadlines).
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
