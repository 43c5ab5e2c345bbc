package users

import (
	"testing"

	"github.com/websession/websession/internal/pgtest"
)

func TestMain(m *testing.M) {
	minCost = testCost
	pgtest.Main(m)
}
