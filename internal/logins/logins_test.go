package logins

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func openTable(t *testing.T) *Table {
	t.Helper()
	db := pgtest.Open(t)
	if err := database.Migrate(context.Background(), db, "up", io.Discard); err != nil {
		t.Fatal(err)
	}
	return New(db, nil)
}

func login(id, user string, seen time.Time) Login {
	return Login{ID: id, User: user, Created: t0, LastSeen: seen, Client: "192.0.2.1", Agent: "Firefox/133.0", Until: seen.Add(time.Hour)}
}

func ids(ls []Login) string {
	var out []string
	for _, l := range ls {
		out = append(out, l.ID)
	}
	return strings.Join(out, ",")
}

// TestSeenWritesAtMostOncePerInterval: a login is written at once when it
// is made (force), then at most once a minute however often it is seen,
// which is what keeps the table off the path of most requests.
func TestSeenWritesAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	tb := openTable(t)
	ctx := context.Background()
	if err := tb.Seen(ctx, login("a", "alice", t0), true); err != nil {
		t.Fatal(err)
	}
	lastSeen := func() time.Time {
		l, ok, err := tb.Get(ctx, "alice", "a", t0)
		if err != nil || !ok {
			t.Fatalf("get: %v %v", ok, err)
		}
		return l.LastSeen
	}
	for _, step := range []struct {
		at    time.Duration
		force bool
		want  time.Duration
	}{
		{30 * time.Second, false, 0},                // within the minute: not written
		{59 * time.Second, false, 0},                // still within it
		{61 * time.Second, false, 61 * time.Second}, // past it: written
		{90 * time.Second, false, 61 * time.Second},
		{91 * time.Second, true, 91 * time.Second}, // forced: written
	} {
		if err := tb.Seen(ctx, login("a", "alice", t0.Add(step.at)), step.force); err != nil {
			t.Fatal(err)
		}
		if got := lastSeen(); !got.Equal(t0.Add(step.want)) {
			t.Errorf("seen at +%s (force %v): last seen +%s, want +%s", step.at, step.force, got.Sub(t0), step.want)
		}
	}
}

// TestSeenRewritesAMissingRow: a row deleted behind this process's back
// (or never written, the database down at login) is written again at the
// next interval, and a row of the same id but another user is never
// taken over.
func TestSeenRewritesAMissingRow(t *testing.T) {
	t.Parallel()
	tb := openTable(t)
	ctx := context.Background()
	tb.Seen(ctx, login("a", "alice", t0), true)
	if _, err := tb.db.Exec("DELETE FROM session_login"); err != nil {
		t.Fatal(err)
	}
	tb.Seen(ctx, login("a", "alice", t0.Add(2*time.Minute)), false)
	if _, ok, _ := tb.Get(ctx, "alice", "a", t0); !ok {
		t.Error("a missing row was not written again")
	}
	tb.Seen(ctx, login("a", "mallory", t0.Add(4*time.Minute)), true)
	if _, ok, _ := tb.Get(ctx, "mallory", "a", t0); ok {
		t.Error("another user's row was taken over")
	}
}

func TestListGetEnd(t *testing.T) {
	t.Parallel()
	tb := openTable(t)
	ctx := context.Background()
	tb.Seen(ctx, login("old", "alice", t0), true)
	tb.Seen(ctx, login("new", "alice", t0.Add(time.Minute)), true)
	tb.Seen(ctx, login("bob1", "bob", t0), true)
	expired := login("gone", "alice", t0)
	expired.Until = t0.Add(time.Second)
	tb.Seen(ctx, expired, true)

	now := t0.Add(2 * time.Second)
	list, err := tb.List(ctx, "alice", now)
	if err != nil || ids(list) != "new,old" {
		t.Fatalf("list %q (%v), want the live ones of alice, most recently seen first", ids(list), err)
	}
	if l := list[0]; l.Client != "192.0.2.1" || l.Agent != "Firefox/133.0" || !l.Created.Equal(t0) || !l.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Errorf("row read back as %+v", l)
	}
	for _, c := range []struct {
		user, id string
		want     bool
	}{{"alice", "old", true}, {"bob", "old", false}, {"alice", "bob1", false}, {"alice", "gone", false}, {"alice", "nope", false}} {
		if _, ok, err := tb.Get(ctx, c.user, c.id, now); ok != c.want || err != nil {
			t.Errorf("Get(%s, %s) = %v (%v), want %v", c.user, c.id, ok, err, c.want)
		}
	}
	n, err := tb.Forget(ctx, now)
	if err != nil || n != 1 {
		t.Errorf("Forget removed %d rows (%v), want the expired one", n, err)
	}
	if err := tb.End(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if list, _ := tb.List(ctx, "alice", now); ids(list) != "new" {
		t.Errorf("after End: %q", ids(list))
	}
	tb.Seen(ctx, login("third", "alice", t0), true)
	if err := tb.EndUser(ctx, "alice", "third"); err != nil {
		t.Fatal(err)
	}
	if list, _ := tb.List(ctx, "alice", now); ids(list) != "third" {
		t.Errorf("after EndUser keeping third: %q", ids(list))
	}
	if list, _ := tb.List(ctx, "bob", now); ids(list) != "bob1" {
		t.Errorf("EndUser touched another user: %q", ids(list))
	}
}

// TestBadInput: what a client chooses (its User-Agent, its address as a
// proxy reports it) is cut to the columns and made valid text; a login
// without an id, user or end is refused with an error, never written.
func TestBadInput(t *testing.T) {
	t.Parallel()
	tb := openTable(t)
	ctx := context.Background()
	l := login("ua", "alice", t0)
	l.Agent = strings.Repeat("é", 400) + "\xff\x00"
	l.Client = strings.Repeat("1", 300)
	if err := tb.Seen(ctx, l, true); err != nil {
		t.Fatal(err)
	}
	got, ok, err := tb.Get(ctx, "alice", "ua", t0)
	if err != nil || !ok || len(got.Agent) > MaxAgentLen || len(got.Client) > MaxClientLen || !strings.HasPrefix(got.Agent, "éé") {
		t.Fatalf("stored %q %q (%v %v)", got.Agent, got.Client, ok, err)
	}
	for _, bad := range []Login{
		{User: "alice", Until: t0},
		{ID: strings.Repeat("x", MaxIDLen+1), User: "alice", Until: t0},
		{ID: "x", Until: t0},
		{ID: "x", User: strings.Repeat("u", MaxUserLen+1), Until: t0},
		{ID: "x", User: "alice"},
	} {
		if err := tb.Seen(ctx, bad, true); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // never half a rune
		{"a\nb\x7f", 10, "a b "},
		{"a\xffb", 10, "a\uFFFDb"},
	} {
		if got := clip(c.in, c.n); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// BenchmarkDue is what a request of a login already written this minute
// pays for the table (authform asks Due before it gathers a write): no
// query, one map lookup under a lock, among 10,000 logins.
func BenchmarkDue(b *testing.B) {
	db := pgtest.Open(b)
	if err := database.Migrate(context.Background(), db, "up", io.Discard); err != nil {
		b.Fatal(err)
	}
	tb := New(db, nil)
	ctx := context.Background()
	for i := range 10000 {
		tb.touched[fmt.Sprintf("login%d", i)] = t0
	}
	l := login("AAAAAAAAAAAAAAAAAAAAAA", "alice", t0)
	if err := tb.Seen(ctx, l, true); err != nil {
		b.Fatal(err)
	}
	now := t0.Add(time.Second)
	b.ReportAllocs()
	for b.Loop() {
		if tb.Due(l.ID, now) {
			b.Fatal("due within the interval")
		}
	}
}
