package database_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestMigrateUpStatusDownUp(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.URL(t), database.PoolOptions{MaxOpen: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables := func() string {
		var names []string
		if err := db.Select(&names, `select table_name from information_schema.tables
			where table_schema = 'public' and table_name in ('session', 'users', 'session_revocation', 'session_login', 'session_forward') order by 1`); err != nil {
			t.Fatal(err)
		}
		return strings.Join(names, ",")
	}
	triggers := func() string {
		var names []string
		if err := db.Select(&names, `select tgname from pg_trigger where not tgisinternal order by 1`); err != nil {
			t.Fatal(err)
		}
		return strings.Join(names, ",")
	}
	const (
		allTriggers = "session_notify,session_notify_truncate,session_notify_update,users_notify,users_notify_truncate"
		oldTriggers = "session_notify,session_notify_truncate,users_notify,users_notify_truncate" // before 00007
	)
	steps := []struct {
		cmd          string
		wantOut      []string
		wantTables   string
		wantTriggers string
	}{
		{"up", []string{"OK    up 00001_sessions.sql", "OK    up 00002_users.sql", "OK    up 00003_notify.sql", "OK    up 00004_revocation.sql", "OK    up 00005_logins.sql", "OK    up 00006_users_name_lower.sql", "OK    up 00007_notify_not_on_refresh.sql", "OK    up 00008_session_forward.sql"}, "session,session_forward,session_login,session_revocation,users", allTriggers},
		{"up", []string{"no pending migrations"}, "session,session_forward,session_login,session_revocation,users", allTriggers},
		{"status", []string{"00001_sessions.sql", "00002_users.sql", "00003_notify.sql", "00004_revocation.sql", "00005_logins.sql", "00006_users_name_lower.sql", "00007_notify_not_on_refresh.sql", "00008_session_forward.sql"}, "session,session_forward,session_login,session_revocation,users", allTriggers},
		{"down", []string{"OK    down 00008_session_forward.sql"}, "session,session_login,session_revocation,users", allTriggers},
		{"down", []string{"OK    down 00007_notify_not_on_refresh.sql"}, "session,session_login,session_revocation,users", oldTriggers},
		{"down", []string{"OK    down 00006_users_name_lower.sql"}, "session,session_login,session_revocation,users", oldTriggers},
		{"down", []string{"OK    down 00005_logins.sql"}, "session,session_revocation,users", oldTriggers},
		{"down", []string{"OK    down 00004_revocation.sql"}, "session,users", oldTriggers},
		{"down", []string{"OK    down 00003_notify.sql"}, "session,users", ""},
		{"status", []string{"pending                   00003_notify.sql", "pending                   00004_revocation.sql", "pending                   00005_logins.sql", "pending                   00006_users_name_lower.sql", "pending                   00007_notify_not_on_refresh.sql", "pending                   00008_session_forward.sql"}, "session,users", ""},
		{"up", []string{"OK    up 00003_notify.sql", "OK    up 00004_revocation.sql", "OK    up 00005_logins.sql", "OK    up 00006_users_name_lower.sql", "OK    up 00007_notify_not_on_refresh.sql", "OK    up 00008_session_forward.sql"}, "session,session_forward,session_login,session_revocation,users", allTriggers},
	}
	for _, s := range steps {
		var out strings.Builder
		if err := database.Migrate(ctx, db, s.cmd, &out); err != nil {
			t.Fatalf("%s: %v", s.cmd, err)
		}
		for _, w := range s.wantOut {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: output %q lacks %q", s.cmd, out.String(), w)
			}
		}
		if got := tables(); got != s.wantTables {
			t.Errorf("after %s: tables %q, want %q", s.cmd, got, s.wantTables)
		}
		if got := triggers(); got != s.wantTriggers {
			t.Errorf("after %s: triggers %q, want %q", s.cmd, got, s.wantTriggers)
		}
	}
	// The columns other packages rely on.
	if _, err := db.Exec(`insert into session (key, value, expiry) values ('k', 'a=1', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`insert into users (name, password) values ('alice', '$2y$05$x')`); err != nil {
		t.Fatal(err)
	}
	var created, updated time.Time
	if err := db.QueryRow(`select created_at, updated_at from users`).Scan(&created, &updated); err != nil || created.IsZero() {
		t.Fatalf("users defaults: %v %v", created, err)
	}
	if err := database.Migrate(ctx, db, "sideways", &strings.Builder{}); err == nil {
		t.Error("unknown command accepted")
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	for _, conn := range []string{
		"host=127.0.0.1 port=1 user=u password=s3cretpw dbname=x sslmode=disable connect_timeout=2",
		"postgres://u:s3cretpw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2",
	} {
		_, err := database.Open(context.Background(), conn, database.PoolOptions{PingTimeout: 2 * time.Second})
		if err == nil {
			t.Fatalf("%s: no error", conn)
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "DBDParams") {
			t.Errorf("error does not name DBDParams: %v", err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"host=h password=abc user=u":                "host=h password=xxxxx user=u",
		"host=h password='a b\\'c' user=u":          "host=h password=xxxxx user=u",
		"postgres://u:pw@h/db":                      "postgres://u:xxxxx@h/db",
		"postgres://u@h/db?password=pw&sslmode=off": "postgres://u@h/db?password=xxxxx&sslmode=off",
		"host=/tmp dbname=x":                        "host=/tmp dbname=x",
	} {
		if got := database.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// A loaded pool keeps its connections between bursts (DBDKeep defaults to
// DBDMax) and opens DBDMin of them at start-up.
func TestPoolDoesNotChurn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.URL(t), database.PoolOptions{MinOpen: 3, MaxOpen: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := db.Stats().OpenConnections; n != 3 {
		t.Errorf("after Open: %d connections, want DBDMin's 3", n)
	}
	for range 3 {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := db.ExecContext(ctx, `select pg_sleep(0.05)`); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	st := db.Stats()
	if st.OpenConnections != 8 || st.MaxIdleClosed != 0 {
		t.Errorf("after three bursts: %d open, %d closed for want of an idle slot; want 8 and 0", st.OpenConnections, st.MaxIdleClosed)
	}
}

// TestOpenTLSRefused: a server that answers PostgreSQL's SSLRequest with
// 'N' (TLS off, as a default local install) gets an error that says to
// add sslmode=disable, since lib/pq asks for TLS by default.
func TestOpenTLSRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			req := make([]byte, 8) // length, then the SSLRequest code
			if _, err := io.ReadFull(c, req); err == nil {
				c.Write([]byte("N"))
			}
			c.Close()
		}
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	_, err = database.Open(context.Background(), "host="+host+" port="+port+" user=u dbname=d sslmode=require", database.PoolOptions{})
	if err == nil || !strings.Contains(err.Error(), "does not offer TLS") || !strings.Contains(err.Error(), "sslmode=disable") {
		t.Fatalf("error %v, want one suggesting sslmode=disable", err)
	}
}
