package headers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/websession/websession/internal/headers"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want headers.Rule
		err  string
	}{
		{"set X-Test hello", headers.Rule{Action: headers.Set, Name: "X-Test", Value: "hello"}, ""},
		{"always set content-security-policy default-src", headers.Rule{Always: true, Action: headers.Set, Name: "Content-Security-Policy", Value: "default-src"}, ""},
		{"onsuccess append Vary Cookie", headers.Rule{Action: headers.Append, Name: "Vary", Value: "Cookie"}, ""},
		{"ALWAYS UNSET X-Frame-Options", headers.Rule{Always: true, Action: headers.Unset, Name: "X-Frame-Options"}, ""},
		{"set X-Pct 100%%", headers.Rule{Action: headers.Set, Name: "X-Pct", Value: "100%"}, ""},
		{"", headers.Rule{}, "needs an action"},
		{"always", headers.Rule{}, "needs an action"},
		{"add X-Test 1", headers.Rule{}, "not supported"},
		{"frobnicate X-Test 1", headers.Rule{}, "not an action"},
		{"set", headers.Rule{}, "needs a header name"},
		{"set X-Test", headers.Rule{}, "needs a value"},
		{"set X(Test) 1", headers.Rule{}, "not a valid header name"},
		{"set X-Test a b", headers.Rule{}, "quote a value"},
		{"set X-Test a env=HTTPS", headers.Rule{}, "conditions"},
		{"unset X-Test value", headers.Rule{}, "takes no value"},
		{"set X-Time %t", headers.Rule{}, "format specifiers"},
		{"set X-Env %{HOME}e", headers.Rule{}, "format specifiers"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			t.Parallel()
			got, err := headers.Parse(strings.Fields(tt.line))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse(%q) = %+v, %v; want an error about %q", tt.line, got, err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
			}
		})
	}
}

func rules(t *testing.T, lines ...string) []headers.Rule {
	t.Helper()
	var out []headers.Rule
	for _, l := range lines {
		r, err := headers.Parse(strings.Fields(l))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestMiddleware: the defaults reach every response, errors and bodies
// written without WriteHeader included; a handler's own header and the
// operator's rules win; onsuccess rules skip errors.
func TestMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rules   []string
		handler http.HandlerFunc
		want    map[string]string // "" means absent
	}{
		{"defaults on a page", nil, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hi") }, map[string]string{
			"Content-Security-Policy": headers.ContentSecurityPolicy, "X-Frame-Options": "DENY", "Cross-Origin-Opener-Policy": "same-origin",
		}},
		{"defaults on an error", nil, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, map[string]string{
			"Content-Security-Policy": headers.ContentSecurityPolicy, "X-Frame-Options": "DENY",
		}},
		{"handler's own policy kept", nil, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
			w.WriteHeader(http.StatusOK)
		}, map[string]string{"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "DENY"}},
		{"rules", []string{"set X-Frame-Options SAMEORIGIN", "always unset Referrer-Policy", "append Vary Cookie"}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept")
		}, map[string]string{"X-Frame-Options": "SAMEORIGIN", "Referrer-Policy": "", "Vary": "Accept, Cookie"}},
		{"onsuccess skips errors", []string{"set X-Frame-Options SAMEORIGIN", "unset Content-Security-Policy", "set X-A 1", "always set X-B 2"}, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		}, map[string]string{"X-Frame-Options": "DENY", "Content-Security-Policy": headers.ContentSecurityPolicy, "X-A": "", "X-B": "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := rules(t, tt.rules...)
			h := headers.Middleware(headers.Defaults(), func(*http.Request) []headers.Rule { return rs })(tt.handler)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			for k, v := range tt.want {
				if got := strings.Join(rec.Result().Header.Values(k), " | "); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"set X-A 1", "always unset X-B", "append Vary %%", "set X %{A}e", "onsuccess set"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := headers.Parse(strings.Fields(line))
		if err != nil {
			return
		}
		if r.Name == "" || strings.ContainsAny(r.Value, "\r\n\x00") {
			t.Fatalf("Parse(%q) = %+v", line, r)
		}
		h := http.Header{}
		headers.Apply(h, 200, nil, []headers.Rule{r})
	})
}

// Example: the directives of a site that may be framed by its own pages
// and that adds a header of its own.
func Example() {
	var rs []headers.Rule
	for _, line := range [][]string{
		{"always", "set", "X-Frame-Options", "SAMEORIGIN"},
		{"always", "set", "Content-Security-Policy", "default-src 'self'; frame-ancestors 'self'"},
		{"set", "X-Served-By", "websession"},
	} {
		r, err := headers.Parse(line)
		if err != nil {
			fmt.Println(err)
			return
		}
		rs = append(rs, r)
	}
	h := http.Header{}
	headers.Apply(h, http.StatusOK, headers.Defaults(), rs)
	for _, k := range []string{"Content-Security-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy", "X-Served-By"} {
		fmt.Printf("%s: %s\n", k, h.Get(k))
	}
	// Output:
	// Content-Security-Policy: default-src 'self'; frame-ancestors 'self'
	// X-Frame-Options: SAMEORIGIN
	// Cross-Origin-Opener-Policy: same-origin
	// X-Served-By: websession
}
