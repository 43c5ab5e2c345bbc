package dbd_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/websession/websession/internal/session"
	"github.com/websession/websession/internal/session/dbd"
)

// TestForwardAfterRename is issue 15.8's last case: a request already on
// its way with the id a concurrent change just renamed finds the new row
// (on any server), so it neither looks logged out nor, by writing a fresh
// session, replaces the survivor's cookie. Only a change that kept the
// login is forwarded, only for dbd.ForwardFor, only to a live row.
func TestForwardAfterRename(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	clock := now
	newServer := func() *dbd.Store {
		st := newStore(t, dbd.Options{DB: db, CookieName: "session", Now: func() time.Time { return clock }})
		if err := st.Prepare(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st
	}
	a, b := newServer(), newServer()
	load := func(st *dbd.Store, id string) (session.Stored, bool) {
		t.Helper()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "session="+id)
		got, found, err := st.Load(r)
		if err != nil {
			t.Fatal(err)
		}
		return got, found
	}
	// change saves id's session with n changed, as the middleware would:
	// kept says whether the login keys are as loaded.
	change := func(st *dbd.Store, id, n string, kept bool) string {
		t.Helper()
		s := session.New()
		s.ID = id
		s.Set("site-user", "alice")
		s.Set("n", n)
		s.LoginKept = kept
		if err := st.Save(httptest.NewRequest("GET", "/", nil), http.Header{}, s, session.Encode(s)); err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	x := change(a, "", "0", false)

	y := change(a, x, "1", true)
	if y == x {
		t.Fatal("a changed session kept its id")
	}
	got, ok := load(b, x)
	if !ok || got.ID != y || got.Encoded != "site-user=alice&n=1" {
		t.Fatalf("old id on the other server: %+v %v, want the renamed row %s", got, ok, y)
	}
	// Renamed again on the other server: the first id still arrives.
	z := change(b, y, "2", true)
	if got, ok := load(a, x); !ok || got.ID != z {
		t.Fatalf("old id after two renames: %+v %v, want %s", got, ok, z)
	}

	// A change of login (the login handler's) is never forwarded: an id
	// planted before it must not reach the logged-in session.
	w := change(a, z, "3", false)
	if got, ok := load(b, z); ok {
		t.Fatalf("id from before a change of login reached %+v (now %s)", got, w)
	}

	// Not past ForwardFor.
	v := change(a, w, "4", true)
	clock = clock.Add(dbd.ForwardFor)
	if got, ok := load(b, w); ok {
		t.Fatalf("old id forwarded after ForwardFor: %+v (now %s)", got, v)
	}
	clock = now

	// Not to a session that has ended (logout deletes the row).
	s := session.New()
	s.ID = v
	if err := a.Save(httptest.NewRequest("GET", "/", nil), http.Header{}, s, ""); err != nil {
		t.Fatal(err)
	}
	if got, ok := load(b, w); ok {
		t.Fatalf("old id reached a logged-out session: %+v", got)
	}

	// The cleanup removes records past their time.
	if _, err := a.Cleanup(context.Background(), now.Add(2*dbd.ForwardFor)); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.Get(&left, `select count(*) from session_forward`); err != nil || left != 0 {
		t.Fatalf("%d forwarding records left after the cleanup (%v)", left, err)
	}
}

// TestNoForwardWithoutTable: a database without migration 00008 still
// serves; renamed sessions are just not forwarded.
func TestNoForwardWithoutTable(t *testing.T) {
	t.Parallel()
	db := migratedDB(t)
	if _, err := db.Exec(`drop table session_forward`); err != nil {
		t.Fatal(err)
	}
	st := newStore(t, dbd.Options{DB: db, CookieName: "session"})
	if err := st.Prepare(context.Background()); err != nil {
		t.Fatalf("Prepare without session_forward: %v", err)
	}
	s := session.New()
	s.Set("n", "1")
	if err := st.Save(httptest.NewRequest("GET", "/", nil), http.Header{}, s, "n=1"); err != nil {
		t.Fatal(err)
	}
	old := s.ID
	s.Set("n", "2")
	s.LoginKept = true
	if err := st.Save(httptest.NewRequest("GET", "/", nil), http.Header{}, s, "n=2"); err != nil || s.ID == old {
		t.Fatalf("rename without session_forward: %v, id %s", err, s.ID)
	}
}
