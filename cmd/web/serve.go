package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/logins"
	"github.com/websession/websession/internal/revocation"
	"github.com/websession/websession/internal/rowcache"
	"github.com/websession/websession/internal/users"
)

// app is what one configuration needs at run time, opened in order:
// configuration, database, user stores, handler.
type app struct {
	cfg    *config.Config
	db     *sqlx.DB
	cache  *rowcache.Listener // nil without a database or with DBDCache Off
	users  *users.Registry
	logger *slog.Logger
}

// Close closes what open opened, the pool last.
func (a *app) Close() {
	if a.users != nil {
		a.users.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
}

// open reads the configuration and opens what it names.
func open(ctx context.Context, opts options) (*app, error) {
	logger := slog.New(slog.NewTextHandler(opts.stderr, nil))
	cfg, err := loadConfig(opts)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		logger.Warn(w.Error())
	}
	a := &app{cfg: cfg, logger: logger}
	if cfg.DBD.Driver != "" {
		a.db, err = database.Open(ctx, cfg.DBD.Params, database.PoolOptions{
			MinOpen: cfg.DBD.Min, MaxOpen: cfg.DBD.Max, MaxIdle: cfg.DBD.Keep, MaxIdleTime: cfg.DBD.Exptime,
		})
		if err != nil {
			return nil, err
		}
	}
	if a.db != nil && !cfg.DBD.CacheOff {
		a.cache = rowcache.NewListener(cfg.DBD.Params, a.db, logger)
	}
	a.users = users.NewRegistry(a.db, a.cache)
	return a, nil
}

// openRecord opens the record of ended logins: in the database when the
// configuration has one (every server on it shares the record), else in
// data/revocations under ServerRoot.
func openRecord(ctx context.Context, a *app) (*revocation.Record, error) {
	var backend revocation.Backend
	if a.db != nil {
		backend = revocation.NewPostgres(a.db, 0, a.logger)
	} else {
		dir := filepath.Join(a.cfg.ServerRoot, "data")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the data folder for the record of ended logins: %w", err)
		}
		backend = revocation.NewFile(filepath.Join(dir, "revocations"), a.logger)
	}
	return revocation.Open(ctx, backend, revocation.Options{Logger: a.logger})
}

// openLoginTable is the table of active logins the sessions page lists:
// only with a database (every server on it lists the same logins); nil
// without, where the page shows this session alone.
func openLoginTable(a *app) *logins.Table {
	if a.db == nil {
		return nil
	}
	return logins.New(a.db, a.logger)
}
