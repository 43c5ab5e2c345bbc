package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// health asks a running server for /healthz: the container health check
// without curl in the image.
func health(ctx context.Context, opts options) error {
	addr := opts.listen
	if addr != "" {
		var err error
		if addr, err = listenFlagAddress(addr); err != nil {
			return err
		}
	} else {
		cfg, err := loadConfig(opts)
		if err != nil {
			return err
		}
		addr = cfg.Listen
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %s", addr, res.Status)
	}
	return nil
}
