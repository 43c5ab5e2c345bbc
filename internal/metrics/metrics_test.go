package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads the handler's answer with Prometheus's own text parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	r := httptest.NewRequest("GET", "/metrics", nil)
	r.Header.Set("Accept", "text/plain")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("GET /metrics: %d", w.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(w.Body)
	if err != nil {
		t.Fatalf("parsing the exposition: %v\n%s", err, w.Body)
	}
	return fams
}

// value finds the sample with exactly these labels: a counter's value or
// a histogram's count.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		if len(m.Label)*2 != len(labels) {
			continue
		}
		for i, l := range m.Label {
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestHooksAndExposition(t *testing.T) {
	t.Parallel()
	m := New()
	sess := m.Session("cookie")
	sess("load", "found")
	sess("load", "undecryptable")
	sess("save", "saved")
	m.Session("dbd")("save", "unavailable")
	m.Login("success")
	m.Login("throttled")
	m.Login("throttled")
	m.CredentialCache(true)
	m.CredentialCache(false)
	m.PasswordHash("bcrypt", 50*time.Millisecond)
	m.SessionQuery("select", time.Millisecond)
	m.UserQuery(time.Millisecond)
	h := m.Requests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	}))
	for _, p := range []string{"/", "/", "/missing"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}

	fams := scrape(t, m.Handler())
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"websession_http_requests_total", []string{"code", "200"}, 2},
		{"websession_http_requests_total", []string{"code", "404"}, 1},
		{"websession_session_loads_total", []string{"outcome", "found", "store", "cookie"}, 1},
		{"websession_session_loads_total", []string{"outcome", "undecryptable", "store", "cookie"}, 1},
		{"websession_session_saves_total", []string{"outcome", "saved", "store", "cookie"}, 1},
		{"websession_session_saves_total", []string{"outcome", "unavailable", "store", "dbd"}, 1},
		{"websession_session_decrypt_failures_total", nil, 1},
		{"websession_logins_total", []string{"outcome", "success"}, 1},
		{"websession_logins_total", []string{"outcome", "failure"}, 0},
		{"websession_logins_total", []string{"outcome", "throttled"}, 2},
		{"websession_credential_cache_lookups_total", []string{"result", "hit"}, 1},
		{"websession_credential_cache_lookups_total", []string{"result", "miss"}, 1},
		{"websession_password_hash_seconds", []string{"scheme", "bcrypt"}, 1},
		{"websession_db_query_seconds", []string{"statement", "session_select"}, 1},
		{"websession_db_query_seconds", []string{"statement", "user_password"}, 1},
	}
	for _, tt := range tests {
		if got, ok := value(fams, tt.name, tt.labels...); !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("the Go runtime's metrics are missing")
	}
}

// TestRegistriesAreIndependent: no global default registry, so two
// servers in one process (tests, a reload) do not collide.
func TestRegistriesAreIndependent(t *testing.T) {
	t.Parallel()
	a, b := New(), New()
	a.Login("success")
	if got, _ := value(scrape(t, b.Handler()), "websession_logins_total", "outcome", "success"); got != 0 {
		t.Errorf("b counted a's login: %v", got)
	}
}
