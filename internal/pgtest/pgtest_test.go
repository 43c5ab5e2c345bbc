package pgtest_test

import (
	"strings"
	"testing"

	"github.com/websession/websession/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestOpenGivesEmptySeparateDatabases(t *testing.T) {
	a := pgtest.Open(t)
	b := pgtest.Open(t)
	if _, err := a.Exec(`create table t (x int)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.Get(&n, `select count(*) from information_schema.tables where table_name = 't'`); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("second database sees the first one's table")
	}
	var name1, name2 string
	a.Get(&name1, `select current_database()`)
	b.Get(&name2, `select current_database()`)
	if name1 == name2 {
		t.Fatalf("same database %q twice", name1)
	}
}

// With DATABASE_URL set, databases are created on that server (here: the
// local cluster, reached through a database URL pgtest handed out).
func TestDatabaseURL(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	db := pgtest.Open(t)
	var name string
	if err := db.Get(&name, `select current_database()`); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "pgtest_") {
		t.Fatalf("database %q, want a pgtest_ one", name)
	}
}
