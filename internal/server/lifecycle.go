package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/session/dbd"
)

// cleanupLabel is the DBDPrepareSQL label of the statement that deletes
// expired rows: the manual's name for it.
const cleanupLabel = dbd.CleanupLabel

// shutdownGrace is how long Serve waits for requests in flight once its
// context ends.
const shutdownGrace = 10 * time.Second

// Serve answers requests on ln until ctx ends, then stops accepting,
// waits for the requests in flight (at most shutdownGrace) and for the
// cleanup loop, and returns. net/http's own errors (a failed TLS
// handshake, a panic it caught) go to the logger as warnings.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := HTTPServer(s.cfg, s.logger, s)
	loopCtx, stopLoop := context.WithCancel(ctx)
	var loops sync.WaitGroup
	loops.Go(func() { s.Maintain(loopCtx) })
	defer loops.Wait()
	defer stopLoop()

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// HTTPServer returns the net/http server for a configuration's handler:
// Timeout bounds reading and writing, headers are limited, and net/http's
// own errors (a failed TLS handshake, a panic it caught) go to the logger
// as warnings.
func HTTPServer(cfg *config.Config, logger *slog.Logger, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.Timeout,
		WriteTimeout:      cfg.Timeout,
		IdleTimeout:       2 * cfg.Timeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Maintain does the server's periodic work, deleting expired session rows
// every SessionDBDCleanupInterval, until ctx ends. Serve runs it; a caller
// that serves the handler itself runs it beside.
func (s *Server) Maintain(ctx context.Context) {
	if s.cleaner != nil {
		s.cleaner.RunCleanup(ctx, s.cfg.SessionDBDCleanupInterval, s.logger)
	}
}

// Close releases, in the reverse order of opening, what New opened: the
// prepared statements of the session stores, then the user stores. Call it
// after Serve has returned; it does not close the pool, which the caller
// opened.
func (s *Server) Close() error {
	var errs []error
	for _, st := range s.dbdStores {
		errs = append(errs, st.Close())
	}
	s.dbdStores = nil
	errs = append(errs, s.users.Close())
	return errors.Join(errs...)
}

// prepare prepares every database statement now, so that one the
// database refuses stops start-up at its DBDPrepareSQL line instead of
// answering 503 on the first request.
func (b *builder) prepare(ctx context.Context, p *plan, st *dbd.Store) error {
	err := st.Prepare(ctx)
	var se *dbd.StatementError
	if err == nil || !errors.As(err, &se) {
		return err
	}
	label := map[string]string{
		"select": p.set.DBD.SelectLabel, "update": p.set.DBD.UpdateLabel,
		"insert": p.set.DBD.InsertLabel, "delete": p.set.DBD.DeleteLabel,
		"cleanup": cleanupLabel,
	}[se.Statement]
	if line, ok := b.cfg.DBD.PrepareSQLLine[label]; ok {
		return &config.Error{File: b.cfg.File, Line: line, Directive: "DBDPrepareSQL",
			Msg: fmt.Sprintf("statement %q (the %s statement of %s): %v; fix the SQL", label, se.Statement, p.where, se.Err)}
	}
	return fmt.Errorf("the built-in %s statement: %w (run web migrate up, or DBDAutoMigrate On)", se.Statement, se.Err)
}
