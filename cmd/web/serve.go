package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/configs"
	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/server"
)

// app is what one configuration needs at run time, opened in order:
// configuration, database, user stores, handler.
type app struct {
	cfg    *config.Config
	db     *sqlx.DB
	users  *server.UserStores
	logger *slog.Logger
}

func (a *app) Close() {
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
	a := &app{cfg: cfg, logger: logger}
	if cfg.DBD.Driver != "" {
		a.db, err = database.Open(ctx, cfg.DBD.Params, database.PoolOptions{
			MaxOpen: cfg.DBD.Max, MaxIdle: cfg.DBD.Keep, MaxIdleTime: cfg.DBD.Exptime,
		})
		if err != nil {
			return nil, err
		}
		if cfg.DBD.AutoMigrate {
			if err := database.Migrate(ctx, a.db, "up", io.Discard); err != nil {
				a.db.Close()
				return nil, fmt.Errorf("DBDAutoMigrate: %w", err)
			}
		}
	}
	a.users = server.NewUserStores(a.db, logger)
	return a, nil
}

// loadConfig reads -config FILE, or the embedded default configuration
// with the current folder as ServerRoot, creating its data folder and
// passphrase on first run.
func loadConfig(opts options) (*config.Config, error) {
	copts := config.Options{Getenv: opts.getenv}
	var cfg *config.Config
	var err error
	if opts.configFile != "" {
		cfg, err = config.Load(opts.configFile, copts)
	} else {
		root, werr := os.Getwd()
		if werr != nil {
			return nil, werr
		}
		if err := ensureDefaultData(root); err != nil {
			return nil, err
		}
		src, rerr := configs.Files.ReadFile(configs.Default)
		if rerr != nil {
			return nil, rerr
		}
		copts.ServerRoot = root
		cfg, err = config.Parse("configs/"+configs.Default, src, copts)
	}
	if err != nil {
		return nil, err
	}
	if opts.listen != "" {
		cfg.Listen = opts.listen
	}
	return cfg, nil
}

// ensureDefaultData creates ./data (0700) and a random session passphrase
// (0600) the first time the default configuration runs.
func ensureDefaultData(root string) error {
	dir := filepath.Join(root, "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the data folder: %w", err)
	}
	path := filepath.Join(dir, "passphrase")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating the session passphrase: %w", err)
	}
	_, werr := fmt.Fprintf(f, "# SessionCryptoPassphraseFile: made on first run; keep it secret.\n%s\n", base64.RawStdEncoding.EncodeToString(secret))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return fmt.Errorf("writing the session passphrase: %w", werr)
	}
	return nil
}

// serve runs the server until ctx ends. ready, when not nil, is told the
// address once the server accepts connections (tests use it).
func serve(ctx context.Context, opts options, ready func(addr string)) error {
	a, err := open(ctx, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	site, err := newSite(a)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, a.cfg, server.Deps{Logger: a.logger, DB: a.db, Users: a.users, Site: site})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("Listen %s: %w", a.cfg.Listen, err)
	}
	addr := ln.Addr().String()
	a.logger.Info("websession listening", "url", "http://"+addr, "config", a.cfg.File, "server_root", a.cfg.ServerRoot)
	fmt.Fprintf(opts.stdout, "websession listening on http://%s (configuration %s, data under %s)\n", addr, a.cfg.File, a.cfg.ServerRoot)
	if ready != nil {
		ready(addr)
	}
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	a.logger.Info("websession stopped")
	return nil
}
