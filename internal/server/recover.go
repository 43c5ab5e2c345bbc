package server

import (
	"fmt"
	"net/http"
	"runtime/debug"
)

// recoverPanics turns a handler's panic into one log line with the stack
// and the friendly 500 page; the server goes on serving. A panic after
// the response has begun cannot become a page: the connection is dropped
// (http.ErrAbortHandler), so the client sees a broken response rather
// than a truncated one that looks whole.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &startWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.Error("handler panicked", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw.started {
				panic(http.ErrAbortHandler)
			}
			s.page(w, r, http.StatusInternalServerError, nil)
		}()
		next.ServeHTTP(sw, r)
	})
}

// startWriter records whether the response has begun.
type startWriter struct {
	http.ResponseWriter
	started bool
}

func (w *startWriter) WriteHeader(status int) {
	if status >= 200 {
		w.started = true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *startWriter) Write(p []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(p)
}

// Flush keeps streaming handlers (CGI programs) streaming.
func (w *startWriter) Flush() {
	w.started = true
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *startWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
