package logconfig

import (
	"context"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/websession/websession/internal/remoteip"
)

// Log is one CustomLog: a compiled format and the file it writes to.
type Log struct {
	Format *Format
	File   *File
}

// Options configure Handler.
type Options struct {
	Logs []Log
	// ServerName is %v.
	ServerName string
	// WriteError is told when a line cannot be written; nil drops the
	// error. The request is answered regardless, as httpd does.
	WriteError func(path string, err error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// userRecord carries the authenticated user from inside the handler chain
// out to the log line.
type userRecord struct {
	name string
	set  bool
}

type userKey struct{}

// SetUser records the authenticated user of r for %u. It does nothing when
// r did not pass through Handler.
func SetUser(r *http.Request, name string) {
	if u, ok := r.Context().Value(userKey{}).(*userRecord); ok {
		u.name, u.set = name, true
	}
}

// Handler writes one line to every log for each request next answers.
// With no logs it returns next.
func Handler(opts Options, next http.Handler) http.Handler {
	if len(opts.Logs) == 0 {
		return next
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	pid := os.Getpid()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := opts.Now()
		u := &userRecord{}
		rw := &responseWriter{ResponseWriter: w}
		r2 := r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		defer func() {
			e := &Entry{
				Request:    r,
				Peer:       remoteip.Peer(r),
				ServerName: opts.ServerName,
				PID:        pid,
				User:       u.name,
				HasUser:    u.set,
				Status:     rw.status,
				Bytes:      rw.bytes,
				Start:      start,
				Duration:   opts.Now().Sub(start),
				Header:     w.Header(),
			}
			if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
				e.Local = a.String()
			}
			if e.Status == 0 {
				e.Status = http.StatusOK
			}
			if r.Method == http.MethodHead {
				e.Bytes = 0
			}
			var buf []byte
			for _, l := range opts.Logs {
				buf = append(l.Format.Append(buf[:0], e), '\n')
				if err := l.File.Write(buf); err != nil && opts.WriteError != nil {
					opts.WriteError(l.File.Path(), err)
				}
			}
		}()
		next.ServeHTTP(rw, r2)
	})
}

// responseWriter records the final status and the body bytes written.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes on, for handlers that test for http.Flusher.
func (w *responseWriter) Flush() {
	http.NewResponseController(w.ResponseWriter).Flush()
}
