package dbd_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/apachetest"
	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/rowcache"
	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/dbd"
)

const aprPgsqlDriver = "/usr/lib/x86_64-linux-gnu/apr-util-1/apr_dbd_pgsql.so"

// apacheConninfo turns a pgtest URL into the libpq key=value form that
// Apache's DBDParams takes.
func apacheConninfo(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	parts := []string{"dbname=" + strings.TrimPrefix(u.Path, "/"), "user=" + u.User.Username()}
	if pw, ok := u.User.Password(); ok {
		parts = append(parts, "password="+pw)
	}
	host := u.Query().Get("host")
	if host == "" {
		host = u.Hostname()
	}
	parts = append(parts, "host="+host)
	if p := u.Port(); p != "" {
		parts = append(parts, "port="+p)
	}
	return strings.Join(parts, " ")
}

// TestSharesSessionsWithApache: a live Apache httpd with mod_session_dbd
// and websession use one session table; a session started by either is
// read and changed by the other.
func TestSharesSessionsWithApache(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(aprPgsqlDriver); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Apache's PostgreSQL DBD driver (libaprutil1-dbd-pgsql) is required under CI=true: %v", err)
		}
		t.Skip("libaprutil1-dbd-pgsql is not installed")
	}
	dsn := pgtest.URL(t)
	if u, err := url.Parse(dsn); err == nil && strings.HasPrefix(u.Query().Get("host"), "/") {
		// Apache's children run as www-data; let them reach the throwaway
		// cluster's socket (connecting needs search permission on its
		// folder). The cluster lives only as long as this test binary.
		if err := os.Chmod(u.Query().Get("host"), 0o711); err != nil {
			t.Fatalf("opening the test cluster's socket folder to Apache: %v", err)
		}
	}
	db, err := database.Open(context.Background(), dsn, database.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := database.Migrate(context.Background(), db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}

	// The manual's CGI program: print the session, write through the header.
	const cgi = `#!/bin/sh
case "$QUERY_STRING" in
set=*) printf 'X-Replace-Session: %s\n' "${QUERY_STRING#set=}" ;;
esac
printf 'Content-Type: text/plain\n\nHTTP_SESSION=%s\n' "$HTTP_SESSION"
`
	ap := apachetest.Start(t, apachetest.Config{
		Modules: []string{"dbd", "session", "session_dbd"},
		Scripts: map[string]string{"cgi-bin/echo": cgi},
		Conf: fmt.Sprintf(`DBDriver pgsql
DBDParams "%s"
DBDPrepareSQL "select value from session where key = %%s and (expiry = 0 or expiry > %%lld)" selectsession
DBDPrepareSQL "update session set value = %%s, expiry = %%lld, key = %%s where key = %%s" updatesession
DBDPrepareSQL "insert into session (value, expiry, key) values (%%s, %%lld, %%s)" insertsession
DBDPrepareSQL "delete from session where key = %%s" deletesession
<Location /cgi-bin>
    Session On
    SessionDBDCookieName session path=/
    SessionEnv On
    SessionHeader X-Replace-Session
</Location>
`, apacheConninfo(t, dsn)),
	})

	l := rowcache.NewListener(dsn, db, nil)
	cache, err := l.Cache(rowcache.SessionChannel, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the cache is trusted", cache.Trusted)
	for _, c := range []*rowcache.Cache{nil, cache} {
		sharesWithApache(t, ap, db, c)
	}
}

// sharesWithApache runs the exchange of sessions between Apache and a
// websession store with cache c (nil: none).
func sharesWithApache(t *testing.T, ap *apachetest.Server, db *sqlx.DB, c *rowcache.Cache) {
	st, err := dbd.New(dbd.Options{DB: db, CookieName: "session", CookieAttrs: "path=/", CookieRemove: true, Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	mw, err := session.Middleware(session.Config{Store: st, Env: true, Header: "X-Replace-Session", LoadBeforeHandler: true})
	if err != nil {
		t.Fatal(err)
	}
	ours := httptest.NewServer(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v, ok := strings.CutPrefix(r.URL.RawQuery, "set="); ok {
			w.Header().Set("X-Replace-Session", v)
		}
		env, _ := session.EnvValue(r)
		fmt.Fprintf(w, "HTTP_SESSION=%s\n", env)
	})))
	t.Cleanup(ours.Close)

	get := func(base, path, id string) (newID, body string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if id != "" {
			req.Header.Set("Cookie", "session="+id)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		for _, c := range res.Header.Values("Set-Cookie") {
			if v, ok := strings.CutPrefix(c, "session="); ok {
				newID, _, _ = strings.Cut(v, ";")
			}
		}
		return newID, string(b)
	}

	// Apache starts the session; websession reads it.
	id1, _ := get(ap.URL, "/cgi-bin/echo?set=from=apache", "")
	if len(id1) != 36 {
		t.Fatalf("Apache issued no session id (error log:\n%s)", ap.ErrorLog())
	}
	if _, body := get(ours.URL, "/x", id1); body != "HTTP_SESSION=from=apache\n" {
		t.Fatalf("websession read Apache's session as %q", body)
	}
	// websession changes it (new id, row renamed); Apache reads the change.
	id2, _ := get(ours.URL, "/x?set=by=websession", id1)
	if len(id2) != 36 || id2 == id1 {
		t.Fatalf("websession's change issued id %q (old %q)", id2, id1)
	}
	if _, body := get(ap.URL, "/cgi-bin/echo", id2); body != "HTTP_SESSION=from=apache&by=websession\n" {
		t.Fatalf("Apache read websession's session as %q (error log:\n%s)", body, ap.ErrorLog())
	}
	// The old id is dead for both.
	if _, body := get(ap.URL, "/cgi-bin/echo", id1); body != "HTTP_SESSION=\n" {
		t.Fatalf("Apache still reads the old id: %q", body)
	}
	// websession reads (and caches) id2; Apache changes it again, renaming
	// the row; websession refuses id2 and follows the new id.
	if _, body := get(ours.URL, "/x", id2); body != "HTTP_SESSION=from=apache&by=websession\n" {
		t.Fatalf("websession read its own change as %q", body)
	}
	if _, ok := c.Get(id2, time.Now().UnixMicro()); c != nil && !ok {
		t.Fatal("websession did not cache the session")
	}
	id3, _ := get(ap.URL, "/cgi-bin/echo?set=again=1", id2)
	if _, body := get(ours.URL, "/x", id3); body != "HTTP_SESSION=from=apache&by=websession&again=1\n" {
		t.Fatalf("websession read Apache's second change as %q", body)
	}
	waitFor(t, "websession refuses the id Apache renamed", func() bool {
		_, body := get(ours.URL, "/x", id2)
		return body == "HTTP_SESSION=\n"
	})
}
