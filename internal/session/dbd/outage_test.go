package dbd_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/dbd"
)

// socketProxy forwards a Unix socket to PostgreSQL's and can cut every
// connection and refuse new ones, as a database restart does.
type socketProxy struct {
	path, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func (p *socketProxy) up(t *testing.T) {
	t.Helper()
	os.Remove(p.path)
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("unix", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *socketProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// While the database is away, Load and Save report ErrUnavailable; when it
// is back the same store works again, with no restart.
func TestRecoversWhenDatabaseReturns(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil || u.Query().Get("host") == "" || u.Query().Get("host")[0] != '/' {
		t.Skip("needs pgtest's local cluster on a Unix socket")
	}
	q := u.Query()
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	dir := t.TempDir()
	p := &socketProxy{path: filepath.Join(dir, ".s.PGSQL."+port), target: filepath.Join(q.Get("host"), ".s.PGSQL."+port)}
	p.up(t)
	defer p.down()
	q.Set("host", dir)
	u.RawQuery = q.Encode()
	db, err := sqlx.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`create table session (key varchar(255) primary key, value text not null, expiry bigint not null default 0)`); err != nil {
		t.Fatal(err)
	}
	st := newStore(t, dbd.Options{DB: db, CookieName: "session", QueryTimeout: 2 * time.Second})

	save := func() (string, error) {
		s := session.New()
		s.Set("a", "1")
		h := http.Header{}
		err := st.Save(httptest.NewRequest("GET", "/", nil), h, s, "a=1")
		return s.ID, err
	}
	load := func(id string) (string, error) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "session="+id)
		got, _, err := st.Load(r)
		return got.Encoded, err
	}
	id, err := save()
	if err != nil {
		t.Fatal(err)
	}
	p.down()
	if _, err := load(id); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("load while down: %v", err)
	}
	if _, err := save(); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("save while down: %v", err)
	}
	p.up(t)
	// database/sql drops the broken connections and dials again.
	var enc string
	for range 3 {
		if enc, err = load(id); err == nil {
			break
		}
	}
	if err != nil || enc != "a=1" {
		t.Fatalf("load after recovery: %q %v", enc, err)
	}
	if _, err := save(); err != nil {
		t.Fatalf("save after recovery: %v", err)
	}
}
