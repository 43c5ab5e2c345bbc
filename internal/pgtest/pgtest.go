// Package pgtest gives tests a fresh, empty PostgreSQL database.
//
// When DATABASE_URL is set, every test gets its own uniquely named database
// on that server, dropped when the test ends. Otherwise the first test of a
// test binary starts one throwaway cluster from the installed PostgreSQL
// binaries (initdb and pg_ctl in a temporary directory, listening only on a
// Unix socket there, fsync off) and every test gets its own database in it.
// When the binaries are missing the test is skipped, or fails when CI=true.
//
// A package using pgtest stops the cluster after its tests by calling Main
// from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// A watchdog process also removes the cluster if the test binary dies
// without running Main (a timeout panic, a kill).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver used by websession
)

var (
	startOnce sync.Once
	cluster   *localCluster // nil when DATABASE_URL is used or start failed
	startErr  error
	skipMsg   string // set when PostgreSQL is not installed
	dbSeq     atomic.Int64
)

// URL returns a connection string (a postgres:// URL that lib/pq and libpq
// accept) for a new empty database that exists for the rest of the test and
// is dropped in tb.Cleanup.
func URL(tb testing.TB) string {
	tb.Helper()
	if base := os.Getenv("DATABASE_URL"); base != "" {
		return createOn(tb, base, fmt.Sprintf("pgtest_%d_%d_%s", os.Getpid(), dbSeq.Add(1), randHex(4)))
	}
	startOnce.Do(startCluster)
	if skipMsg != "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("pgtest: %s (CI=true: PostgreSQL is required; set DATABASE_URL or install postgresql)", skipMsg)
		}
		tb.Skipf("pgtest: %s; set DATABASE_URL or install postgresql", skipMsg)
	}
	if startErr != nil {
		tb.Fatalf("pgtest: %v", startErr)
	}
	return createOn(tb, cluster.url("postgres"), fmt.Sprintf("test_%d", dbSeq.Add(1)))
}

// Open returns a pool connected to a new empty database (see URL); the pool
// is closed before the database is dropped.
func Open(tb testing.TB) *sqlx.DB {
	tb.Helper()
	db, err := sqlx.Open("postgres", URL(tb))
	if err != nil {
		tb.Fatalf("pgtest: open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Main runs the tests and then stops the cluster started for them, if any.
// Call it from TestMain; it does not return.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops and removes the cluster started by this test binary. Main calls
// it; call it yourself only from a TestMain that does not use Main.
func Stop() {
	if cluster != nil {
		cluster.stop()
	}
}

// Restart stops the test binary's cluster (fast shutdown: every connection
// is ended) and starts it again, as an operator's restart does. It skips
// the test when the database is not pgtest's own cluster (DATABASE_URL).
// Call it only from a test that is not parallel: every database of the
// binary goes away meanwhile.
func Restart(tb testing.TB) {
	tb.Helper()
	if cluster == nil {
		tb.Skip("pgtest: Restart needs pgtest's own cluster, not DATABASE_URL")
	}
	if err := cluster.run("pg_ctl", "-D", filepath.Join(cluster.dir, "data"), "-m", "fast", "-w", "-t", "60", "restart"); err != nil {
		tb.Fatalf("pgtest: restart: %v", err)
	}
}

// createOn creates database name on the server reached by adminURL and
// returns the URL for it. The database is dropped in tb.Cleanup.
func createOn(tb testing.TB, adminURL, name string) string {
	tb.Helper()
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name)); err != nil {
		admin.Close()
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDBName(adminURL, name)
}

// withDBName replaces the database of a URL or libpq key=value conninfo.
func withDBName(conn, name string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		u, err := url.Parse(conn)
		if err == nil {
			u.Path = "/" + name
			q := u.Query()
			q.Del("dbname")
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	// In a conninfo string a later keyword wins.
	return conn + " dbname=" + name
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// owner is a user and group to run programs as.
type owner struct{ uid, gid int }

// localCluster is a PostgreSQL cluster in a temporary directory.
type localCluster struct {
	bin string // folder holding initdb, pg_ctl
	dir string // temp dir: data/ and the Unix socket
	// owner runs the cluster's programs when this process is root, as
	// initdb insists; nil otherwise.
	owner *owner
	once  sync.Once
}

func (c *localCluster) url(db string) string {
	q := url.Values{"host": {c.dir}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + db + "?" + q.Encode()
}

// findBin returns the folder holding initdb and pg_ctl: $PGTEST_BIN,
// /usr/lib/postgresql/15/bin, the newest other /usr/lib/postgresql/*/bin,
// or the folder of initdb on $PATH.
func findBin() string {
	has := func(d string) bool {
		_, err1 := os.Stat(filepath.Join(d, "initdb"))
		_, err2 := os.Stat(filepath.Join(d, "pg_ctl"))
		return err1 == nil && err2 == nil
	}
	cands := []string{os.Getenv("PGTEST_BIN"), "/usr/lib/postgresql/15/bin"}
	more, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(more, func(i, j int) bool { return verOf(more[i]) > verOf(more[j]) })
	cands = append(cands, more...)
	if p, err := exec.LookPath("initdb"); err == nil {
		cands = append(cands, filepath.Dir(p))
	}
	for _, d := range cands {
		if d != "" && has(d) {
			return d
		}
	}
	return ""
}

func verOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func startCluster() {
	bin := findBin()
	if bin == "" {
		skipMsg = "PostgreSQL binaries (initdb, pg_ctl) not found"
		return
	}
	c := &localCluster{bin: bin}
	tmp := os.TempDir()
	if len(tmp) > 60 { // a Unix socket path must stay under ~107 bytes
		tmp = "/tmp"
	}
	dir, err := os.MkdirTemp(tmp, "pgtest-")
	if err != nil {
		startErr = err
		return
	}
	c.dir = dir
	c.watchdog() // from now on, whatever happens to this process
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: run the cluster as "postgres".
		u, err := user.Lookup("postgres")
		if err != nil {
			startErr = fmt.Errorf("running as root and no postgres user to run initdb as: %v", err)
			os.RemoveAll(dir)
			return
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.owner = &owner{uid: uid, gid: gid}
		if err := os.Chown(dir, uid, gid); err != nil {
			startErr = err
			os.RemoveAll(dir)
			return
		}
	}
	data := filepath.Join(dir, "data")
	if err := c.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions"); err != nil {
		startErr = err
		os.RemoveAll(dir)
		return
	}
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories='%s' -c fsync=off "+
		"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200", dir)
	if err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		startErr = err
		os.RemoveAll(dir)
		return
	}
	cluster = c
}

// run runs a PostgreSQL program as the cluster's owner; its output goes to a
// file, never to a pipe the postmaster could inherit and keep open.
func (c *localCluster) run(prog string, args ...string) error {
	out, err := os.CreateTemp(c.dir, prog+"-*.out")
	if err != nil {
		return err
	}
	defer out.Close()
	if c.owner != nil {
		os.Chown(out.Name(), c.owner.uid, c.owner.gid)
	}
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.owner != nil {
		cmd.SysProcAttr = c.owner.procAttr()
	}
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(out.Name())
		if log, _ := os.ReadFile(filepath.Join(c.dir, "server.log")); len(log) > 0 {
			msg = append(msg, log...)
		}
		return fmt.Errorf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, msg)
	}
	return nil
}

// watchdog starts a detached shell that stops the postmaster and removes the
// directory once this test binary has exited, however it exited.
func (c *localCluster) watchdog() {
	script := fmt.Sprintf(`while kill -0 %d 2>/dev/null; do sleep 1; done
if [ -f '%[2]s/data/postmaster.pid' ]; then kill -QUIT "$(head -n 1 '%[2]s/data/postmaster.pid')" 2>/dev/null; sleep 2; fi
rm -rf '%[2]s'`, os.Getpid(), c.dir)
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err == nil {
		go cmd.Wait()
	}
}

func (c *localCluster) stop() {
	c.once.Do(func() {
		err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		os.RemoveAll(c.dir)
	})
}

// TakeDown makes db's database refuse new connections and ends the ones
// it has, as a database that goes away does. It stays down until the
// test ends and it is dropped.
func TakeDown(tb testing.TB, db *sqlx.DB) {
	tb.Helper()
	var name string
	if err := db.Get(&name, "SELECT current_database()"); err != nil {
		tb.Fatalf("pgtest: take down: %v", err)
	}
	admin := Open(tb) // another database of the same server
	for _, q := range []string{
		`ALTER DATABASE "` + name + `" ALLOW_CONNECTIONS false`,
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + name + `'`,
	} {
		if _, err := admin.Exec(q); err != nil {
			tb.Fatalf("pgtest: take down: %v", err)
		}
	}
}
