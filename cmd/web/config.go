package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/websession/websession/configs"
	"github.com/websession/websession/internal/config"
)

// embeddedName is how errors and the start-up line name the embedded
// default, so nobody looks for a file they never passed.
const embeddedName = "configs/" + configs.Default + " (the embedded default)"

// loadConfig reads -config FILE, or else the embedded default
// configuration, read as if it were ./configs/default.conf: its
// "ServerRoot .." is then the current folder, as for the file in a
// checkout.
func loadConfig(opts options) (*config.Config, error) {
	copts := config.Options{Getenv: opts.getenv}
	var cfg *config.Config
	var err error
	if opts.configFile != "" {
		cfg, err = config.Load(opts.configFile, copts)
	} else {
		wd, werr := os.Getwd()
		if werr != nil {
			return nil, werr
		}
		src, rerr := configs.Files.ReadFile(configs.Default)
		if rerr != nil {
			return nil, rerr
		}
		copts.ServerRoot = filepath.Join(wd, "configs")
		cfg, err = config.Parse(embeddedName, src, copts)
		if err != nil {
			// It names no variable and no file but data/: what can fail
			// is the folder it is started in.
			return nil, fmt.Errorf("%w\nThe embedded default keeps its data in ./data: start web in a folder you can write to, or give a configuration of your own with -config FILE", err)
		}
	}
	if err != nil {
		return nil, err
	}
	if opts.listen != "" {
		if cfg.Listen, err = listenFlagAddress(opts.listen); err != nil {
			return nil, err
		}
		cfg.Listeners[0].Addr = cfg.Listen
	}
	return cfg, nil
}

// listenFlagAddress reads -listen as the Listen directive reads its
// address: "19209" alone is a port, on every address as in httpd.
func listenFlagAddress(v string) (string, error) {
	addr, err := config.ListenAddress(v)
	if err != nil {
		return "", fmt.Errorf("-listen: %v", err)
	}
	return addr, nil
}
