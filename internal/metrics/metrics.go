// Package metrics is websession's Prometheus instrumentation: one registry
// (never the client library's global default), counters and histograms
// fed by the function hooks that the session, authform, users and dbd
// packages accept, and the handler behind "SetHandler metrics" that
// answers the Prometheus text format.
//
// A Metrics value lives as long as the process: a configuration reload
// builds new handlers on the same Metrics, so counters do not restart.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the registry and every websession metric in it.
type Metrics struct {
	registry *prometheus.Registry

	requests       *prometheus.CounterVec
	sessionLoads   *prometheus.CounterVec
	sessionSaves   *prometheus.CounterVec
	decryptFailure prometheus.Counter
	logins         *prometheus.CounterVec
	credCache      *prometheus.CounterVec
	hashes         *prometheus.HistogramVec
	queries        *prometheus.HistogramVec
}

// New registers websession's metrics, with the Go runtime's and the
// process's, in a fresh registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "websession_http_requests_total",
			Help: "HTTP requests answered, by status code.",
		}, []string{"code"}),
		sessionLoads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "websession_session_loads_total",
			Help: "Session loads by store (cookie, dbd) and outcome (found, absent, undecryptable, invalid, unavailable).",
		}, []string{"store", "outcome"}),
		sessionSaves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "websession_session_saves_total",
			Help: "Session writes by store (cookie, dbd) and outcome (saved, failed, unavailable).",
		}, []string{"store", "outcome"}),
		decryptFailure: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "websession_session_decrypt_failures_total",
			Help: "Encrypted sessions that failed the MAC check or did not decrypt with any passphrase.",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "websession_logins_total",
			Help: "Form login attempts by outcome (success, failure, throttled).",
		}, []string{"outcome"}),
		credCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "websession_credential_cache_lookups_total",
			Help: "Verified-credential cache lookups by result (hit, miss).",
		}, []string{"result"}),
		hashes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "websession_password_hash_seconds",
			Help:    "Slow password comparisons (bcrypt runs and other schemes) and how long they took.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"scheme"}),
		queries: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "websession_db_query_seconds",
			Help:    "Database statements run by the session and user stores, by statement, and how long they took.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"statement"}),
	}
	m.registry.MustRegister(
		m.requests, m.sessionLoads, m.sessionSaves, m.decryptFailure, m.logins, m.credCache, m.hashes, m.queries,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Outcomes that have not happened yet are exported as 0, so that a
	// rate() over them works from the first scrape.
	for _, o := range []string{"success", "failure", "throttled"} {
		m.logins.WithLabelValues(o)
	}
	for _, r := range []string{"hit", "miss"} {
		m.credCache.WithLabelValues(r)
	}
	return m
}

// Registry returns the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler answers the Prometheus text (or protobuf) exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Session returns the hook for session.Config.Observe of a location whose
// store is named store ("cookie" or "dbd").
func (m *Metrics) Session(store string) func(op, outcome string) {
	return func(op, outcome string) {
		switch op {
		case "load":
			m.sessionLoads.WithLabelValues(store, outcome).Inc()
			if outcome == "undecryptable" {
				m.decryptFailure.Inc()
			}
		case "save":
			m.sessionSaves.WithLabelValues(store, outcome).Inc()
		}
	}
}

// Login is the hook for authform.Options.ObserveLogin.
func (m *Metrics) Login(outcome string) { m.logins.WithLabelValues(outcome).Inc() }

// CredentialCache is the hook for users.Options.ObserveCache.
func (m *Metrics) CredentialCache(hit bool) {
	if hit {
		m.credCache.WithLabelValues("hit").Inc()
		return
	}
	m.credCache.WithLabelValues("miss").Inc()
}

// PasswordHash is the hook for users.Options.ObserveHash.
func (m *Metrics) PasswordHash(scheme string, took time.Duration) {
	m.hashes.WithLabelValues(scheme).Observe(took.Seconds())
}

// SessionQuery is the hook for dbd.Options.ObserveQuery.
func (m *Metrics) SessionQuery(statement string, took time.Duration) {
	m.queries.WithLabelValues("session_" + statement).Observe(took.Seconds())
}

// UserQuery is the hook for users.Options.ObserveQuery.
func (m *Metrics) UserQuery(took time.Duration) {
	m.queries.WithLabelValues("user_password").Observe(took.Seconds())
}

// Requests counts every response next writes by its status code.
func (m *Metrics) Requests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			m.requests.WithLabelValues(strconv.Itoa(sw.status)).Inc()
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter records the final status code.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes on, for handlers that test for http.Flusher.
func (w *statusWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }
