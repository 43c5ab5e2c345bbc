package main

import (
	"testing"

	"github.com/websession/websession/internal/config"
)

// TestMetricsOnlyWhenServed: the counters exist from the first
// configuration with SetHandler metrics and are kept across reloads, also
// through one that drops the location; without it nothing counts.
func TestMetricsOnlyWhenServed(t *testing.T) {
	t.Parallel()
	parse := func(text string) *config.Config {
		t.Helper()
		cfg, err := config.Parse("test.conf", []byte(text), config.Options{ServerRoot: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	without := parse("Listen 127.0.0.1:0\n")
	with := parse("Listen 127.0.0.1:0\n<Location /metrics>\nSetHandler metrics\n</Location>\n")
	ms := &metricsSource{}
	if ms.forConfig(without) != nil {
		t.Fatal("counters made for a configuration that serves none")
	}
	m := ms.forConfig(with)
	if m == nil {
		t.Fatal("no counters for SetHandler metrics")
	}
	if ms.forConfig(without) != m || ms.forConfig(with) != m {
		t.Fatal("a reload changed the counters")
	}
}
