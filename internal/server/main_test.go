package server_test

import (
	"testing"

	"github.com/websession/websession/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
