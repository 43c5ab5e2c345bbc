package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/logconfig"
	"github.com/websession/websession/internal/metrics"
	"github.com/websession/websession/internal/remoteip"
	"github.com/websession/websession/internal/server"
	"github.com/websession/websession/internal/ssl"
)

// generation is one loaded configuration and everything opened for it.
// It answers requests until a reload replaces it, then closes once the
// requests it had started have finished.
type generation struct {
	app     *app
	srv     *server.Server
	logs    []*logconfig.File
	cert    *tls.Certificate // nil without https listeners
	handler http.Handler

	inflight sync.WaitGroup
	stop     context.CancelFunc // ends the Maintain loop
	loop     sync.WaitGroup
}

// build reads the configuration, passphrase files and certificate and
// opens the database, user stores, logs and handlers. Anything wrong is
// an error and nothing stays open.
func build(ctx context.Context, opts options, ms *metricsSource) (_ *generation, err error) {
	a, err := open(ctx, opts)
	if err != nil {
		return nil, err
	}
	g := &generation{app: a}
	defer func() {
		if err != nil {
			g.close()
		}
	}()
	cfg := a.cfg
	if slices.ContainsFunc(cfg.Listeners, func(l config.Listener) bool { return l.HTTPS }) {
		c, warnings, err := ssl.Load(cfg.SSL.CertificateFile, cfg.SSL.CertificateKeyFile, time.Now())
		if err != nil {
			var fe *ssl.FileError
			line, name := cfg.SSL.CertificateFileLine, "SSLCertificateFile"
			if errors.As(err, &fe) && fe.Key {
				line, name = cfg.SSL.CertificateKeyFileLine, "SSLCertificateKeyFile"
			}
			return nil, &config.Error{File: cfg.File, Line: line, Directive: name, Msg: err.Error()}
		}
		for _, w := range warnings {
			a.logger.Warn(fmt.Sprintf("%s:%d: SSLCertificateFile: %s", cfg.File, cfg.SSL.CertificateFileLine, w))
		}
		g.cert = c
	}
	var logs []logconfig.Log
	for _, cl := range cfg.CustomLogs {
		f, err := logconfig.OpenFile(cl.File)
		if err != nil {
			return nil, &config.Error{File: cfg.File, Line: cl.Line, Directive: "CustomLog",
				Msg: err.Error() + "; create the folder and let the user websession runs as write to it"}
		}
		g.logs = append(g.logs, f)
		logs = append(logs, logconfig.Log{Format: cl.Format, File: f})
	}
	// Only when serving: `web migrate down` must not be undone by the
	// next command, nor `migrate status` change the schema.
	if a.db != nil && cfg.DBD.AutoMigrate {
		if err := database.Migrate(ctx, a.db, "up", io.Discard); err != nil {
			return nil, fmt.Errorf("DBDAutoMigrate: %w", err)
		}
	}
	record, err := openRecord(ctx, a)
	if err != nil {
		return nil, err
	}
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	g.stop = stop
	g.loop.Go(func() { record.Run(loopCtx) })
	table := openLoginTable(a)
	if table != nil {
		g.loop.Go(func() { table.Run(loopCtx, time.Minute, time.Now) })
	}
	m := ms.forConfig(cfg)
	g.srv, err = server.New(ctx, cfg, server.Deps{Logger: a.logger, DB: a.db, Site: newSite, Cache: a.cache, Record: record, LoginTable: table, Metrics: m})
	if err != nil {
		return nil, err
	}
	var h http.Handler = g.srv
	h = cfg.SSL.HSTS.Handler(h)
	h = logconfig.Handler(logconfig.Options{
		Logs:       logs,
		ServerName: serverName(cfg),
		WriteError: func(path string, err error) { a.logger.Error("access log not written", "file", path, "err", err) },
	}, h)
	if m != nil {
		h = m.Requests(h)
	}
	g.handler = remoteip.Handler(&cfg.RemoteIP, h)

	g.loop.Go(func() { g.srv.Maintain(loopCtx) })
	g.loop.Go(func() { a.cache.Run(loopCtx) })
	return g, nil
}

// serverName is %v in the access log: the first Listen host, or the
// machine's name when that listens on all addresses.
func serverName(cfg *config.Config) string {
	host, _, _ := net.SplitHostPort(cfg.Listen)
	if host != "" {
		return host
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "localhost"
}

// close releases what build opened, in reverse order.
func (g *generation) close() {
	if g.stop != nil {
		g.stop()
		g.loop.Wait()
	}
	if g.srv != nil {
		if err := g.srv.Close(); err != nil {
			g.app.logger.Warn("closing the previous configuration", "err", err)
		}
	}
	for _, f := range g.logs {
		f.Close()
	}
	g.app.Close()
}

// front passes each request to the current generation and keeps count of
// the requests each generation is answering.
type front struct {
	mu  sync.RWMutex
	cur *generation
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.RLock()
	g := f.cur
	g.inflight.Add(1)
	f.mu.RUnlock()
	defer g.inflight.Done()
	g.handler.ServeHTTP(w, r)
}

// swap makes g current and returns the previous generation; once swap has
// returned, no new request reaches the old one.
func (f *front) swap(g *generation) *generation {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.cur
	f.cur = g
	return old
}

// retire closes a replaced generation after its last request.
func retire(g *generation) {
	g.inflight.Wait()
	g.close()
}

// metricsSource gives every generation of a process the same counters,
// made when a configuration first serves them (SetHandler metrics): a
// server nobody can scrape does not pay for counting. Used by one
// goroutine at a time (start-up, then the reload loop).
type metricsSource struct{ m *metrics.Metrics }

// forConfig returns the process's counters, nil while no configuration
// has had a metrics location.
func (s *metricsSource) forConfig(cfg *config.Config) *metrics.Metrics {
	if s.m == nil {
		for _, set := range cfg.AllSettings() {
			if set.Handler == "metrics" {
				s.m = metrics.New()
				break
			}
		}
	}
	return s.m
}

// serve runs the server until ctx ends; SIGHUP (on Unix) reloads it.
// ready, when not nil, is told the first address once every listener
// accepts connections (tests use it).
func serve(ctx context.Context, opts options, ready func(addr string)) error {
	ms := &metricsSource{}
	g, err := build(ctx, opts, ms)
	if err != nil {
		return err
	}
	cfg, logger := g.app.cfg, g.app.logger
	f := &front{cur: g}
	var cert *ssl.Certificate
	if g.cert != nil {
		cert = ssl.NewCertificate(g.cert)
	}

	// Listen for SIGHUP before the listening lines go out: whoever reads
	// them may signal at once, and an unhandled SIGHUP ends the process.
	hup, stopSignals := reloadSignals()
	defer stopSignals()
	var servers []*http.Server
	errc := make(chan error, len(cfg.Listeners))
	var first string
	for _, l := range cfg.Listeners {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			for _, hs := range servers {
				hs.Close()
			}
			retire(f.swap(nil))
			return fmt.Errorf("%s:%d: %w", cfg.File, l.Line, listenError(l.Addr, err))
		}
		hs := server.HTTPServer(cfg, logger, f)
		scheme := "http"
		if l.HTTPS {
			scheme = "https"
			hs.TLSConfig = cert.TLSConfig()
		}
		servers = append(servers, hs)
		addr := ln.Addr().String()
		if first == "" {
			first = addr
		}
		fmt.Fprintln(opts.stdout, strings.Replace(startupLine(addr, cfg.File, cfg.ServerRoot), "http://", scheme+"://", 1))
		go func() {
			if l.HTTPS {
				errc <- hs.ServeTLS(ln, "", "")
			} else {
				errc <- hs.Serve(ln)
			}
		}()
	}
	if ready != nil {
		ready(first)
	}

	var retiring sync.WaitGroup
	defer retiring.Wait()
	for running := true; running; {
		select {
		case err := <-errc:
			if !errors.Is(err, http.ErrServerClosed) {
				logger.Error("listener stopped", "err", err)
			}
			running = false
		case <-ctx.Done():
			running = false
		case <-hup:
			if old := reload(ctx, opts, ms, f, cert, cfg.Listeners); old != nil {
				retiring.Go(func() { retire(old) })
			}
		}
	}

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var errs []error
	for _, hs := range servers {
		if err := hs.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("shutting down: %w", err))
		}
	}
	retire(f.swap(nil))
	logger.Info("websession stopped")
	return errors.Join(errs...)
}

// reload builds a generation from the configuration as it is now on disk
// and makes it current, returning the one it replaced. A configuration that
// does not load, or that listens elsewhere, is refused with its error in
// the log, and the running one keeps serving: reload returns nil.
func reload(ctx context.Context, opts options, ms *metricsSource, f *front, cert *ssl.Certificate, listeners []config.Listener) *generation {
	f.mu.RLock()
	logger := f.cur.app.logger
	f.mu.RUnlock()
	logger.Info("SIGHUP: reloading the configuration")
	g, err := build(ctx, opts, ms)
	if err != nil {
		logger.Error("reload refused; still serving the previous configuration", "err", err)
		return nil
	}
	if !sameListeners(g.app.cfg.Listeners, listeners) {
		g.close()
		logger.Error("reload refused; still serving the previous configuration", "err",
			fmt.Sprintf("%s: the Listen lines changed; restart websession to listen elsewhere", g.app.cfg.File))
		return nil
	}
	if cert != nil {
		cert.Set(g.cert)
	}
	old := f.swap(g)
	logger.Info("configuration reloaded", "config", g.app.cfg.File)
	return old
}

// sameListeners compares addresses and protocols, not line numbers.
func sameListeners(a, b []config.Listener) bool {
	return slices.EqualFunc(a, b, func(x, y config.Listener) bool { return x.Addr == y.Addr && x.HTTPS == y.HTTPS })
}
