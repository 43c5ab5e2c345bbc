package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/site"
)

// cookieOnPostgres is configs/postgres.conf with the session in an
// encrypted cookie instead of a row: users, the record of ended logins
// and the throttle stay in the database, so a copied cookie has no row to
// lose at logout and only the record can refuse it.
func shipped(t *testing.T, name string) string {
	t.Helper()
	b, err := shippedFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cookieOnPostgres(t *testing.T) string {
	conf := shipped(t, "postgres.conf")
	if !strings.Contains(conf, "SessionDBDCookieName session ") {
		t.Fatal("postgres.conf no longer names its session cookie as this test expects")
	}
	return strings.Replace(conf, "SessionDBDCookieName session ", "SessionCookieName session ", 1)
}

// thief is another browser holding a copy of v's cookies.
func thief(v *visitor, base string) *visitor {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(v.base)
	jar.SetCookies(u, v.client.Jar.Cookies(u))
	c := *v.client
	c.Jar = jar
	return &visitor{t: v.t, client: &c, base: base}
}

// on is the same browser talking to another server.
func on(v *visitor, base string) *visitor {
	return &visitor{t: v.t, client: v.client, base: base}
}

// eventually polls check for up to a second: what "on every server within
// a second" promises.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a second", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func status(v *visitor, path string) int {
	res, _ := v.get(path)
	return res.StatusCode
}

// TestLogoutHoldsAcrossServers (issue 13.1, 15.6): a copy of the session
// taken before logout on one server is refused on the other, for the
// encrypted cookie store and for database sessions. The copy is also what
// a slow request in flight during the logout would hand back to the
// browser: the same login, so refused the same way.
func TestLogoutHoldsAcrossServers(t *testing.T) {
	for name, conf := range map[string]string{
		"encrypted cookie": cookieOnPostgres(t),
		"database session": shipped(t, "postgres.conf"),
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": pgtest.URL(t), "SESSION_SECRET": "shared secret"}
			aBase, bBase := startServerEnv(t, conf, env), startServerEnv(t, conf, env)
			alice := newVisitor(t, aBase)
			res, _ := alice.post("/register", url.Values{"username": {"alice"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
			expect(t, res, http.StatusSeeOther, "/private/")
			copied := thief(alice, bBase)
			if s := status(copied, "/private/"); s != http.StatusOK {
				t.Fatalf("the copy does not work before logout: %d", s)
			}
			res, _ = alice.post("/logout", nil)
			expect(t, res, http.StatusTemporaryRedirect, "/?loggedout=1")
			eventually(t, "copied session refused on the other server after logout", func() bool {
				return status(copied, "/private/") == http.StatusFound
			})
			// And on the server that logged out, at once.
			if s := status(thief(copied, aBase), "/private/"); s != http.StatusFound {
				t.Errorf("copy on the logging-out server: %d", s)
			}
			// Alice logs in again: a new login, unaffected.
			res, _ = alice.post("/login", url.Values{"httpd_username": {"alice"}, "httpd_password": {"twelve chars"}})
			expect(t, res, http.StatusFound, "/private/")
			if s := status(on(alice, bBase), "/private/"); s != http.StatusOK {
				t.Errorf("a new login after logout: %d", s)
			}
		})
	}
}

// TestLogOutEverywhereAcrossServers (issue 13.2): log out everywhere on one
// server ends a browser logged in on the other within a second, keeps the
// current session, and the ended one is told why, once.
func TestLogOutEverywhereAcrossServers(t *testing.T) {
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "SESSION_SECRET": "shared secret"}
	conf := cookieOnPostgres(t)
	aBase, bBase := startServerEnv(t, conf, env), startServerEnv(t, conf, env)
	laptop := newVisitor(t, aBase)
	res, _ := laptop.post("/register", url.Values{"username": {"bob"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	phone := newVisitor(t, bBase)
	res, _ = phone.post("/login", url.Values{"httpd_username": {"bob"}, "httpd_password": {"twelve chars"}})
	expect(t, res, http.StatusFound, "/private/")
	if s := status(phone, "/private/"); s != http.StatusOK {
		t.Fatalf("phone not logged in: %d", s)
	}

	res, body := laptop.get("/sessions")
	expect(t, res, http.StatusOK, "")
	if !strings.Contains(body, "Log out everywhere else") || !strings.Contains(body, "Logged in") {
		t.Fatalf("sessions page: %.500s", body)
	}
	res, _ = laptop.post("/sessions/end-others", nil)
	expect(t, res, http.StatusSeeOther, "/sessions?ended=1")
	eventually(t, "other browser logged out on the other server", func() bool {
		return status(phone, "/private/") == http.StatusFound
	})
	if s := status(on(laptop, bBase), "/private/"); s != http.StatusOK {
		t.Errorf("the session that logged out everywhere else was ended too: %d", s)
	}
	_, body = phone.get("/login?next=/private/")
	if !strings.Contains(body, "ended from another one") {
		t.Errorf("the ended session is not told why: %.800s", body)
	}
	_, body = phone.get("/login")
	if strings.Contains(body, "ended from another one") {
		t.Error("the notice is shown twice")
	}
}

// TestPasswordChangeEndsOthersWithNotice (issue 13.2, 13.6): a password
// change keeps this session and ends the others, which say why.
func TestPasswordChangeEndsOthersWithNotice(t *testing.T) {
	t.Parallel()
	conf := shipped(t, "default.conf")
	base := startServer(t, conf)
	a := newVisitor(t, base)
	res, _ := a.post("/register", url.Values{"username": {"carol"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	b := newVisitor(t, base)
	res, _ = b.post("/login", url.Values{"httpd_username": {"carol"}, "httpd_password": {"twelve chars"}})
	expect(t, res, http.StatusFound, "/private/")
	res, _ = a.post("/password", url.Values{"current": {"twelve chars"}, "password": {"thirteen chars"}, "confirm": {"thirteen chars"}})
	expect(t, res, http.StatusSeeOther, "/private/?changed=1")
	if s := status(a, "/private/"); s != http.StatusOK {
		t.Fatalf("the changing session was logged out: %d", s)
	}
	res, _ = b.get("/private/")
	expect(t, res, http.StatusFound, "/login?next=/private/")
	if _, body := b.get("/login?next=/private/"); !strings.Contains(body, "password was changed in another session") {
		t.Errorf("no notice after a password change elsewhere: %.800s", body)
	}
}

// TestThrottleAcrossServers (issue 13.5): wrong passwords sent to two
// servers on one database add up to one limit, and the 429 page is the
// site's, saying in words when to try again, and keeping the typed name.
func TestThrottleAcrossServers(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "SESSION_SECRET": "shared secret"}
	conf := shipped(t, "postgres.conf") // AuthFormThrottle's default: 5 per 60 s per user and address
	aBase, bBase := startServerEnv(t, conf, env), startServerEnv(t, conf, env)
	v := newVisitor(t, aBase)
	res, _ := v.post("/register", url.Values{"username": {"dave"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	guesser := newVisitor(t, aBase)
	for i := range 5 {
		g := guesser
		if i%2 == 1 {
			g = on(guesser, bBase)
		}
		res, _ := g.post("/login", url.Values{"httpd_username": {"dave"}, "httpd_password": {fmt.Sprintf("guess %d", i)}})
		expect(t, res, http.StatusUnauthorized, "")
	}
	for _, base := range []string{aBase, bBase} {
		res, body := on(guesser, base).post("/login", url.Values{"httpd_username": {"dave"}, "httpd_password": {"twelve chars"}, "httpd_location": {"/sessions"}})
		expect(t, res, http.StatusTooManyRequests, "")
		if res.Header.Get("Retry-After") == "" || !strings.Contains(body, "try again in") || !strings.Contains(body, `value="dave"`) ||
			!strings.Contains(body, `value="/sessions"`) || !strings.Contains(body, "/static/site.css") {
			t.Errorf("429 from %s: Retry-After %q, page %.1000s", base, res.Header.Get("Retry-After"), body)
		}
	}
}

// TestPlantedCredentialsAreThrottled is issue 15.2: credentials put into a
// plain cookie by the client are checked, and counted, like a login form's:
// 40 guesses get a 429 after the limit, and the right password is refused
// once it is reached.
func TestPlantedCredentialsAreThrottled(t *testing.T) {
	t.Parallel()
	conf := shipped(t, "default.conf")
	if !strings.Contains(conf, "SessionCryptoGeneratedPassphraseFile data/passphrase\n") {
		t.Fatal("default.conf no longer names its passphrase as this test expects")
	}
	conf = strings.Replace(conf, "SessionCryptoGeneratedPassphraseFile data/passphrase\n", "", 1)
	conf = strings.ReplaceAll(conf, "    AuthName site\n", "    AuthName site\n    AuthFormAllowPlainCookie On\n")
	base := startServer(t, conf)
	v := newVisitor(t, base)
	res, _ := v.post("/register", url.Values{"username": {"erin"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	forged := func(pw string) int {
		req, _ := http.NewRequest("GET", base+"/private/", nil)
		req.Header.Set("Cookie", "session=site-user=erin&site-pw="+url.QueryEscape(pw))
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	throttled := 0
	for i := range 40 {
		if forged(fmt.Sprintf("guess %d", i)) == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled < 30 {
		t.Fatalf("%d of 40 forged guesses throttled, want all past the limit of 5", throttled)
	}
	if s := forged("twelve chars"); s != http.StatusTooManyRequests {
		t.Fatalf("the right password after 40 guesses: %d, want 429", s)
	}
}

// TestPlantedCredentialsAreThrottledOnOpenPages: the same forged cookies
// against the site's home page, which shows who is logged in without
// protecting anything, count toward the same throttle: afterwards the
// right password is refused on the protected page too.
func TestPlantedCredentialsAreThrottledOnOpenPages(t *testing.T) {
	t.Parallel()
	conf := shipped(t, "default.conf")
	conf = strings.Replace(conf, "SessionCryptoGeneratedPassphraseFile data/passphrase\n", "", 1)
	conf = strings.ReplaceAll(conf, "    AuthName site\n", "    AuthName site\n    AuthFormAllowPlainCookie On\n")
	base := startServer(t, conf)
	v := newVisitor(t, base)
	res, _ := v.post("/register", url.Values{"username": {"erin"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	forged := func(path, pw string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Cookie", "session=site-user=erin&site-pw="+url.QueryEscape(pw))
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for i := range 40 {
		if s, _ := forged("/", fmt.Sprintf("guess %d", i)); s != http.StatusOK {
			t.Fatalf("home page with forged guess %d: %d", i, s)
		}
	}
	if _, body := forged("/", "twelve chars"); strings.Contains(body, "Logged in as <strong>erin</strong>") {
		t.Error("the home page shows erin logged in after 40 guesses")
	}
	if s, _ := forged("/private/", "twelve chars"); s != http.StatusTooManyRequests {
		t.Fatalf("the right password on the protected page after 40 guesses on the home page: %d, want 429", s)
	}
}

var noRedirect = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestConcurrentGuessesAreCountedAtStart is issue 15.3 through a running
// server: of 40 wrong passwords sent at once, only the limit's worth are
// counted and checked; the rest get 429.
func TestConcurrentGuessesAreCountedAtStart(t *testing.T) {
	t.Parallel()
	base := startServer(t, shipped(t, "default.conf"))
	v := newVisitor(t, base)
	res, _ := v.post("/register", url.Values{"username": {"frank"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			res, err := noRedirect.PostForm(base+"/login", url.Values{"httpd_username": {"frank"}, "httpd_password": {fmt.Sprintf("guess %d", i)}})
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			mu.Lock()
			counts[res.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	// The 5 counted attempts are checked (401), or some refused by the
	// bound on concurrent password hashes (503); the other 35 never are.
	if counts[http.StatusUnauthorized]+counts[http.StatusServiceUnavailable] != 5 || counts[http.StatusTooManyRequests] != 35 {
		t.Fatalf("answers %v, want 5 counted (401 or 503) and 35 refused (429)", counts)
	}
}

// TestAnonymousLogoutWritesNothing is issue 15.7: logging out without a
// session adds no row.
func TestAnonymousLogoutWritesNothing(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	base := startServerEnv(t, shipped(t, "postgres.conf"), map[string]string{"DATABASE_URL": dbURL, "SESSION_SECRET": "s3cret passphrase"})
	for range 50 {
		res, err := noRedirect.PostForm(base+"/logout", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if c := res.Header.Values("Set-Cookie"); len(c) != 0 {
			t.Fatalf("anonymous logout set %q", c)
		}
	}
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.Get(&n, "select count(*) from session"); err != nil || n != 0 {
		t.Fatalf("%d session rows after 50 anonymous logouts (%v)", n, err)
	}
}

// TestRecordSurvivesRestart (issue 13.1): without a database the record is
// a file under data/; a server started afterwards on the same folder still
// refuses the copied cookie.
func TestRecordSurvivesRestart(t *testing.T) {
	t.Parallel()
	root := serverRoot(t)
	conf := shipped(t, "default.conf")
	v := newVisitor(t, startServerIn(t, root, conf, nil))
	res, _ := v.post("/register", url.Values{"username": {"gina"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	copied := thief(v, v.base)
	res, _ = v.post("/logout", nil)
	expect(t, res, http.StatusTemporaryRedirect, "/?loggedout=1")
	restarted := startServerIn(t, root, conf, nil)
	if s := status(thief(copied, restarted), "/private/"); s != http.StatusFound {
		t.Fatalf("after a restart the logged-out copy answers %d, want 302 to the login", s)
	}
}

// TestRegistrationThrottleAcrossServers (issue 15.5): two servers on one
// database allow one client address site.DefaultRegistrations accounts
// together, not that many each.
func TestRegistrationThrottleAcrossServers(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "SESSION_SECRET": "shared secret"}
	conf := shipped(t, "postgres.conf")
	bases := []string{startServerEnv(t, conf, env), startServerEnv(t, conf, env)}
	register := func(i int) *http.Response {
		v := newVisitor(t, bases[i%2])
		res, _ := v.post("/register", url.Values{"username": {fmt.Sprintf("user%d", i)}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
		return res
	}
	for i := range site.DefaultRegistrations {
		expect(t, register(i), http.StatusSeeOther, "/private/")
	}
	for i := site.DefaultRegistrations; i < site.DefaultRegistrations+2; i++ {
		expect(t, register(i), http.StatusTooManyRequests, "")
	}
}

// agent is a transport that sends a browser's User-Agent.
type agent string

func (a agent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", string(a))
	return http.DefaultTransport.RoundTrip(r)
}

// withAgent is v sending User-Agent ua.
func withAgent(v *visitor, ua string) *visitor {
	c := *v.client
	c.Transport = agent(ua)
	return &visitor{t: v.t, client: &c, base: v.base}
}

// listedIDs returns the login ids of the End buttons on a sessions page.
func listedIDs(body string) []string {
	var ids []string
	for _, part := range strings.Split(body, `<input type="hidden" name="id" value="`)[1:] {
		id, _, _ := strings.Cut(part, `"`)
		ids = append(ids, id)
	}
	return ids
}

// TestSessionsListedAndEndedAcrossServers (issue 13.3): with a database,
// the sessions page lists every live login of the user (browser, address,
// created, last seen), marks the current one, and its End button ends
// another session on the other server within a second, which says why;
// the current one stays. After a logout the login is no longer listed.
func TestSessionsListedAndEndedAcrossServers(t *testing.T) {
	t.Parallel()
	for name, conf := range map[string]string{
		"database session": shipped(t, "postgres.conf"),
		"encrypted cookie": cookieOnPostgres(t),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"DATABASE_URL": pgtest.URL(t), "SESSION_SECRET": "shared secret"}
			aBase, bBase := startServerEnv(t, conf, env), startServerEnv(t, conf, env)
			laptop := withAgent(newVisitor(t, aBase), "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
			res, _ := laptop.post("/register", url.Values{"username": {"hana"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
			expect(t, res, http.StatusSeeOther, "/private/")
			phone := withAgent(newVisitor(t, bBase), "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")
			res, _ = phone.post("/login", url.Values{"httpd_username": {"hana"}, "httpd_password": {"twelve chars"}})
			expect(t, res, http.StatusFound, "/private/")
			tablet := withAgent(newVisitor(t, bBase), "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
			res, _ = tablet.post("/login", url.Values{"httpd_username": {"hana"}, "httpd_password": {"twelve chars"}})
			expect(t, res, http.StatusFound, "/private/")
			// Someone else's login is never listed.
			other := newVisitor(t, aBase)
			res, _ = other.post("/register", url.Values{"username": {"ivan"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
			expect(t, res, http.StatusSeeOther, "/private/")
			for _, v := range []*visitor{phone, tablet} {
				if s := status(v, "/private/"); s != http.StatusOK {
					t.Fatalf("not logged in: %d", s)
				}
			}

			res, body := laptop.get("/sessions")
			expect(t, res, http.StatusOK, "")
			for _, want := range []string{
				"Firefox on Linux <strong>(this session)</strong>", "Safari on iOS", "Chrome on Android",
				"<td>127.0.0.1</td>", "Last used", `<time datetime="`, "Log out everywhere else",
			} {
				if !strings.Contains(body, want) {
					t.Errorf("sessions page lacks %q: %.3000s", want, body)
				}
			}
			ids := listedIDs(body)
			if len(ids) != 2 {
				t.Fatalf("%d End buttons, want 2 (the phone and the tablet; not this session, not ivan's): %.3000s", len(ids), body)
			}
			// The phone's id: the row that names Safari.
			_, afterSafari, _ := strings.Cut(body, "Safari on iOS")
			phoneID := listedIDs(afterSafari)[0]

			// A page of another site cannot press the button.
			req, _ := http.NewRequest("POST", aBase+"/sessions/end", strings.NewReader(url.Values{"id": {phoneID}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			req.Header.Set("Origin", "https://evil.example")
			res, err := laptop.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("cross-site End: %d, want 403", res.StatusCode)
			}
			if s := status(phone, "/private/"); s != http.StatusOK {
				t.Fatalf("a cross-site End ended the session: %d", s)
			}
			res, _ = laptop.post("/sessions/end", url.Values{"id": {phoneID}})
			expect(t, res, http.StatusSeeOther, "/sessions?ended=one")
			eventually(t, "the ended session refused on the other server", func() bool {
				return status(phone, "/private/") == http.StatusFound
			})
			if _, body := phone.get("/login?next=/private/"); !strings.Contains(body, "this session was ended from another one") {
				t.Errorf("the ended session is not told why: %.800s", body)
			}
			for _, v := range []*visitor{on(laptop, bBase), tablet} {
				if s := status(v, "/private/"); s != http.StatusOK {
					t.Errorf("a session that was not ended answers %d", s)
				}
			}
			_, body = laptop.get("/sessions?ended=one")
			if strings.Contains(body, "Safari on iOS") || !strings.Contains(body, "That session has ended") || len(listedIDs(body)) != 1 {
				t.Errorf("after End the page still lists it, or does not say so: %.3000s", body)
			}
			// Ending it again, or a login of someone else, changes nothing.
			for _, id := range []string{phoneID, "not-a-login", strings.Repeat("x", 5000)} {
				res, _ = laptop.post("/sessions/end", url.Values{"id": {id}})
				expect(t, res, http.StatusSeeOther, "/sessions?ended=gone")
			}
			res, _ = tablet.post("/logout", nil)
			expect(t, res, http.StatusTemporaryRedirect, "/?loggedout=1")
			if _, body = laptop.get("/sessions"); len(listedIDs(body)) != 0 || strings.Contains(body, "Chrome on Android") {
				t.Errorf("a logged-out session is still listed: %.3000s", body)
			}
		})
	}
}

// TestExpiredDatabaseSessionSaysSo (issue 13.6): a browser back with the
// id of a database session whose row has expired is told so on the next
// page, once. An id whose row is gone, or was never issued, is told
// nothing and writes no row: a client cannot make the server write by
// sending ids.
func TestExpiredDatabaseSessionSaysSo(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	base := startServerEnv(t, shipped(t, "postgres.conf"), map[string]string{"DATABASE_URL": dbURL, "SESSION_SECRET": "shared secret"})
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const notice = "Your session expired because it was not used for a while"

	v := newVisitor(t, base)
	res, _ := v.post("/register", url.Values{"username": {"jack"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	if s := status(v, "/private/"); s != http.StatusOK {
		t.Fatalf("not logged in: %d", s)
	}
	// The idle timeout passes: the row's expiry is in the past (the
	// browser still sends the id, as one restoring its tabs does).
	if _, err := db.Exec("UPDATE session SET expiry = 1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the expired session refused", func() bool { return status(v, "/private/") == http.StatusFound })
	if _, body := v.get("/login?next=/private/"); !strings.Contains(body, notice) {
		t.Errorf("no notice after the session expired: %.1500s", body)
	}
	if _, body := v.get("/login"); strings.Contains(body, notice) {
		t.Error("the notice is shown twice")
	}

	rows := func() int {
		var n int
		if err := db.Get(&n, "select count(*) from session"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := db.Exec("DELETE FROM session"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{
		"9b2f1c4e-3d5a-4e6f-8a7b-1c2d3e4f5a6b", // well-formed, never issued (or cleaned up)
		"not-a-uuid",
	} {
		req, _ := http.NewRequest("GET", base+"/private/", nil)
		req.Header.Set("Cookie", "session="+id)
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound || len(res.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("id %s: %d, Set-Cookie %q; want 302 and no cookie", id, res.StatusCode, res.Header.Values("Set-Cookie"))
		}
	}
	if n := rows(); n != 0 {
		t.Errorf("%d session rows written for ids the server does not have", n)
	}
}

// TestFailedLoginKeepsNext (issue 13.6): on the default site and on
// configs/postgres.conf, a login that fails on the way to a protected
// page keeps the typed user name and where the user was going, so the
// next correct login lands there.
func TestFailedLoginKeepsNext(t *testing.T) {
	t.Parallel()
	for name, start := range map[string]func() string{
		"default.conf": func() string { return startServer(t, shipped(t, "default.conf")) },
		"postgres.conf": func() string {
			return startServerEnv(t, shipped(t, "postgres.conf"), map[string]string{"DATABASE_URL": pgtest.URL(t), "SESSION_SECRET": "shared secret"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			base := start()
			res, _ := newVisitor(t, base).post("/register", url.Values{"username": {"kim"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
			expect(t, res, http.StatusSeeOther, "/private/")
			v := newVisitor(t, base)
			res, _ = v.get("/sessions")
			expect(t, res, http.StatusFound, "/login?next=/sessions")
			_, body := v.get("/login?next=/sessions")
			if !strings.Contains(body, `name="httpd_location" value="/sessions"`) {
				t.Fatalf("the login form does not carry next: %.2000s", body)
			}
			res, body = v.post("/login", url.Values{"httpd_username": {"kim"}, "httpd_password": {"not it"}, "httpd_location": {"/sessions"}})
			expect(t, res, http.StatusUnauthorized, "")
			for _, want := range []string{`value="kim"`, `name="httpd_location" value="/sessions"`, "The user name or password is not right."} {
				if !strings.Contains(body, want) {
					t.Errorf("the refused login lacks %s: %.2000s", want, body)
				}
			}
			res, _ = v.post("/login", url.Values{"httpd_username": {"kim"}, "httpd_password": {"twelve chars"}, "httpd_location": {"/sessions"}})
			expect(t, res, http.StatusFound, "/sessions")
			if s := status(v, "/sessions"); s != http.StatusOK {
				t.Errorf("after the login, /sessions answers %d", s)
			}
		})
	}
}

// TestRenamedSessionForwarded (issue 15.8): on configs/postgres.conf a
// change to a logged-in session renames its row; a request that was
// already on its way with the old id (here: sent to the other server
// afterwards) still finds the login. An id planted before a login never
// reaches the logged-in session.
func TestRenamedSessionForwarded(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "SESSION_SECRET": "shared secret"}
	aBase, _ := startShipped(t, "postgres.conf", env) // the CGI demo is under its ServerRoot
	bBase, _ := startShipped(t, "postgres.conf", env)
	alice := newVisitor(t, aBase)
	res, _ := alice.post("/cgi-bin/session-demo?set=n%3D0", nil)
	expect(t, res, http.StatusOK, "")
	planted := thief(alice, bBase)
	res, _ = alice.post("/register", url.Values{"username": {"alice"}, "password": {"twelve chars"}, "confirm": {"twelve chars"}})
	expect(t, res, http.StatusSeeOther, "/private/")
	if s := status(planted, "/private/"); s != http.StatusFound {
		t.Errorf("the id from before the login reached the logged-in session: %d", s)
	}

	inFlight := thief(alice, bBase)
	res, _ = alice.post("/cgi-bin/session-demo?set=n%3D1", nil)
	expect(t, res, http.StatusOK, "")
	if s := status(inFlight, "/private/"); s != http.StatusOK {
		t.Fatalf("a request with the id from just before a change is logged out: %d", s)
	}
	if s := status(alice, "/private/"); s != http.StatusOK {
		t.Fatalf("the browser itself: %d", s)
	}
}
