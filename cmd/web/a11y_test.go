package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jmoiron/sqlx"

	"github.com/websession/websession/configs"
	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/server"
)

// axeSource is axe-core (npm package axe-core, MPL-2.0; see
// testdata/axe/LICENSE), vendored so that the check runs on a lone clone
// without npm.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// TestBrowserAccessibility runs axe-core with its default rules (WCAG 2
// A and AA and its best practices) on every page and state of the
// reference site in headless Chromium, logged out and logged in, at a
// desktop width (and the main ones at a phone width), and fails on any
// violation. It also checks
// what axe cannot see: focus on the error summary after a form error, the
// "Error:" title, the kept input, the live password feedback and the Allow
// header of a 405.
func TestBrowserAccessibility(t *testing.T) {
	needChromium(t)
	text, err := configs.Files.ReadFile(configs.Default)
	mustOK(t, err)
	t.Run("1280px", func(t *testing.T) {
		a := newAuditor(t, startServer(t, string(text)), 1280)
		a.loggedOut()
		a.loggedIn("axe")
	})
	// The phone layout: the states whose layout differs most, on a server
	// of their own, as the 429 state uses up the throttle's budget for the
	// client address.
	t.Run("375px", func(t *testing.T) {
		a := newAuditor(t, startServer(t, string(text)), 375)
		a.phone("phone")
	})
}

// TestBrowserAccessibilityStoreFailures runs the same check on the pages
// a failing database produces: 500 when the user store fails, 503 when
// the session store cannot be reached.
func TestBrowserAccessibilityStoreFailures(t *testing.T) {
	needChromium(t)
	text, err := configs.Files.ReadFile("postgres.conf")
	mustOK(t, err)
	dbURL := pgtest.URL(t)
	base := startServerEnv(t, string(text), map[string]string{"DATABASE_URL": dbURL, "SESSION_SECRET": "axe test secret"})
	db, err := sqlx.Open("postgres", dbURL)
	mustOK(t, err)
	t.Cleanup(func() { db.Close() })
	a := newAuditor(t, base, 1280)

	// Logged in, so that the session is a row the store must read.
	a.page("register", "/register", "Already registered?")
	a.keys("#username", "carol")
	a.keys("#password", "long enough 1")
	a.keys("#confirm", "long enough 1")
	a.clickTo("registered", "main button[type=submit]", "Hello, carol")
	_, err = db.Exec(`ALTER TABLE users RENAME TO users_away`)
	mustOK(t, err)
	a.submitForm("500 user store down", "/register", map[string]string{"username": "bob", "password": "long enough 1", "confirm": "long enough 1"}, "Something went wrong")
	a.storeDown(db, "session")
}

// TestBrowserAccessibilityWithoutSite audits the server's own pages, those
// of a configuration served without the reference site: 404, the
// cross-origin 403 and the 503 of a session database gone.
func TestBrowserAccessibilityWithoutSite(t *testing.T) {
	needChromium(t)
	db := pgtest.Open(t)
	mustOK(t, database.Migrate(t.Context(), db, "up", io.Discard))
	conf := "Listen 127.0.0.1:0\nDBDriver pgsql\nSession On\nSessionDBDCookieName s path=/;HttpOnly\n"
	cfg, err := config.Parse("bare.conf", []byte(conf), config.Options{ServerRoot: t.TempDir()})
	mustOK(t, err)
	srv, err := server.New(t.Context(), cfg, server.Deps{DB: db})
	mustOK(t, err)
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	a := newAuditor(t, ts.URL, 1280)
	a.page("bare 404", "/", "Page not found")
	a.page("bare 404 deeper", "/no/such/page", "Page not found")
	a.crossOrigin("bare 403 cross-origin post", "/", "Request refused")
	a.storeDown(db, "s")
}

// storeDown takes the session database down, gives the browser a session
// id cookie no cache has seen, so that the store must be asked, and
// audits the 503 that answers.
func (a *auditor) storeDown(db *sqlx.DB, cookie string) {
	a.t.Helper()
	pgtest.TakeDown(a.t, db)
	chromeRun(a.t, a.ctx, "unknown session id", chromedp.ActionFunc(func(ctx context.Context) error {
		return network.SetCookie(cookie, "0b4a5d47-34f3-4a56-9d0a-2f9c1e0c7a11").WithURL(a.base).Do(ctx)
	}))
	a.page("503 session store down", "/", "Sessions cannot be read right now")
}

// crossOrigin submits a form to path from a page of another origin (a
// listener of its own), which the server refuses; it audits the refusal.
func (a *auditor) crossOrigin(state, path, text string) {
	a.t.Helper()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Elsewhere</title><main><form method="post" action="%s"><input type="hidden" name="username" value="x"><button type="submit">Send</button></form></main></html>`,
			html.EscapeString(a.base+path))
	}))
	defer other.Close()
	chromeRun(a.t, a.ctx, state, chromedp.Navigate(other.URL), chromedp.Click("button", chromedp.ByQuery), chromeWaitText(text))
	a.wantLocationPrefix(path)
	a.audit(state)
}

// TestBrowserPasswordFeedback types into the new-password fields of
// registration and password change in Chromium: each of the server's
// password rules shows as not met for a password that breaks it (the
// common-password list fetched from the server, the user name typed on
// the page or shown read-only, white space) and as met for a good one.
// With scripts disabled the forms still submit and the server says why.
func TestBrowserPasswordFeedback(t *testing.T) {
	needChromium(t)
	text, err := configs.Files.ReadFile(configs.Default)
	mustOK(t, err)
	base := startServer(t, string(text))
	const user, good = "dorothea", "correct horse battery"
	allRules := []string{"min-runes", "max-bytes", "not-spaces", "distinct", "not-common", "not-name"}
	breaks := []struct {
		password string
		unmet    []string
	}{
		{"password", []string{"not-common"}},
		{"PassWord", []string{"not-common"}},
		{user, []string{"not-name"}},
		{"Dorothea1978", []string{"not-name"}},
		{"        ", []string{"not-spaces", "distinct"}},
		{"\u3000\u3000\u3000\u3000\u3000\u3000\u3000\u3000", []string{"not-spaces", "distinct"}},
		{"abababab", []string{"distinct"}},
		{"short", []string{"min-runes"}},
	}
	a := newAuditor(t, base, 1280)
	try := func(page string) {
		t.Helper()
		for _, b := range breaks {
			a.retype("#password", b.password)
			a.wantRules(page+", typing "+jsString(b.password), allRules, b.unmet)
		}
		a.retype("#password", good)
		a.wantRules(page+", typing a good password", allRules, nil)
	}
	a.page("register", "/register", "Already registered?")
	a.keys("#username", user)
	try("register")
	a.audit("register, rules marked")
	a.keys("#confirm", good)
	a.clickTo("registered", "main button[type=submit]", "Hello, "+user)
	a.page("password", "/password", "Change your password")
	try("password")
	a.audit("password, rules marked")

	// Without script: nothing is marked, and the server refuses what the
	// script would have marked, with the same words.
	ctx := newChromium(t)
	chromeRun(t, ctx, "scripts off", emulation.SetScriptExecutionDisabled(true))
	chromeRun(t, ctx, "register without script",
		chromedp.Navigate(base+"/register"), chromeWaitText("Already registered?"),
		chromedp.SendKeys("#username", "edith", chromedp.ByQuery),
		chromedp.SendKeys("#password", "password", chromedp.ByQuery),
		chromedp.SendKeys("#confirm", "password", chromedp.ByQuery))
	var marked bool
	chromeRun(t, ctx, "marks without script", chromedp.Evaluate(`document.querySelector("li[data-state]") !== null`, &marked))
	if marked {
		t.Error("rules marked with scripts disabled")
	}
	chromeRun(t, ctx, "submit without script", chromedp.Click("main button[type=submit]", chromedp.ByQuery),
		chromeWaitText("one of the 10,000 most common passwords, which attackers try first"))
	chromeRun(t, ctx, "register without script",
		chromedp.SendKeys("#password", good, chromedp.ByQuery), chromedp.SendKeys("#confirm", good, chromedp.ByQuery),
		chromedp.Click("main button[type=submit]", chromedp.ByQuery), chromeWaitText("Hello, edith"))
}

// retype replaces what sel holds with text, typed.
func (a *auditor) retype(sel, text string) {
	a.t.Helper()
	chromeRun(a.t, a.ctx, "clear "+sel, chromedp.Evaluate(`document.querySelector(`+jsString(sel)+`).value = ""`, nil))
	a.keys(sel, text)
}

// wantRules waits until the password rules show unmet as not met and
// every other rule of all as met.
func (a *auditor) wantRules(state string, all, unmet []string) {
	a.t.Helper()
	var sel []string
	for _, r := range all {
		st := "met"
		if slices.Contains(unmet, r) {
			st = "unmet"
		}
		sel = append(sel, fmt.Sprintf(`li[data-rule=%q][data-state=%q]`, r, st))
	}
	js := fmt.Sprintf(`%s.every(s => document.querySelector(s) !== null)`, mustJSON(a.t, sel))
	chromeRun(a.t, a.ctx, state, chromedp.Poll(js, nil, chromedp.WithPollingTimeout(10*time.Second)))
}

// auditor is one browser going through the site's pages.
type auditor struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
	width int64
}

func newAuditor(t *testing.T, base string, width int64) *auditor {
	ctx := newChromium(t)
	chromeRun(t, ctx, "viewport", chromedp.EmulateViewport(width, 900))
	return &auditor{t: t, ctx: ctx, base: base, shots: artifactsDir(t), width: width}
}

func (a *auditor) loggedOut() {
	a.page("home", "/", "Sessions and form login")
	a.page("home logged out notice", "/?loggedout=1", "You are logged out.")
	a.page("login", "/login", "No account yet?")
	a.page("login next", "/login?next=/private/", "No account yet?")
	a.page("login registered notice", "/login?registered=1", "please log in")
	a.page("protected page redirects to login", "/private/", "No account yet?")
	a.wantLocationPrefix("/login?next=")
	a.page("login failed", "/login?failed=1", "There is a problem")
	a.wantFormError()
	a.page("login", "/login", "No account yet?")
	a.keys("#httpd_username", "nobody")
	a.click("login without a password", "main button[type=submit]", "Enter your password.")
	a.wantFormError()
	a.wantValue("#httpd_username", "nobody")
	a.page("register", "/register", "Already registered?")
	a.typing("register, typing", "#password", "abc", "Strength: weak")
	a.typing("register, typing confirmation", "#confirm", "abd", "do not match yet")
	a.click("register errors", "main button[type=submit]", "There is a problem")
	a.wantFormError()
	a.page("register", "/register", "Already registered?")
	a.keys("#username", "a:b")
	a.keys("#password", "long enough 1")
	a.keys("#confirm", "long enough 1")
	a.click("register error, name kept", "main button[type=submit]", "cannot contain a colon")
	a.wantFormError()
	a.wantValue("#username", "a:b")
	a.page("logout page", "/logout", "You are not logged in")
	a.page("session inspector", "/session", "Your session")
	a.page("404", "/no/such/page", "Page not found")
	a.page("404 no such program", "/cgi-bin/no-such-program", "Page not found")
	a.submitForm("405", "/session", nil, "Method not allowed")
	a.submitForm("413", "/register", map[string]string{"username": strings.Repeat("x", 70<<10)}, "larger than this site accepts")
	// A query with a semicolon is one that ParseForm refuses.
	a.submitForm("400", "/register?a;b", map[string]string{"username": "x"}, "Bad request")
	a.crossOrigin("403 cross-origin post", "/register", "Request refused")
}

func (a *auditor) phone(user string) {
	a.page("home", "/", "Sessions and form login")
	a.page("login failed", "/login?failed=1", "There is a problem")
	a.page("register", "/register", "Already registered?")
	a.typing("register, typing", "#password", "abc", "Strength: weak")
	a.typing("register, typing confirmation", "#confirm", "abd", "do not match yet")
	a.click("register errors", "main button[type=submit]", "There is a problem")
	a.wantFormError()
	a.page("404", "/no/such/page", "Page not found")
	a.page("register", "/register", "Already registered?")
	a.keys("#username", user)
	a.keys("#password", "correct horse battery")
	a.keys("#confirm", "correct horse battery")
	a.click("private area", "main button[type=submit]", "Hello, "+user)
	a.page("home logged in", "/", "Welcome back")
	a.page("password", "/password", "Change your password")
	a.page("session inspector logged in", "/session", "Keys and values")
	// Last, as it throttles this address: logged out, wrong logins until
	// the 429.
	a.clickTo("log out", "nav button.link", "You are logged out.")
	for i := 0; !a.mainContains("Too many failed logins"); i++ {
		if i > 20 {
			a.t.Fatal("the login form never throttled")
		}
		chromeRun(a.t, a.ctx, "login form", chromedp.Navigate(a.base+"/login?next=/private/"), chromeWaitText("Log in"))
		a.keys("#httpd_username", user)
		a.keys("#httpd_password", "wrong")
		a.clickTo("login refused", "main button[type=submit]", "There is a problem")
	}
	a.audit("429 login throttled")
	a.wantFormError()
}

func (a *auditor) loggedIn(user string) {
	const pw = "correct horse battery"
	a.page("register", "/register", "Already registered?")
	a.keys("#username", user)
	a.keys("#password", pw)
	a.keys("#confirm", pw)
	a.click("private area", "main button[type=submit]", "Hello, "+user)
	a.page("home logged in", "/", "Welcome back")
	a.page("already logged in: login", "/login", "You are already logged in")
	a.page("already logged in: register", "/register", "You are already logged in")
	a.page("password", "/password", "Change your password")
	a.wantValue("#username", user)
	a.typing("password, typing", "#password", "correct horse battery staple", "Strength: ")
	a.typing("password, matching confirmation", "#confirm", "correct horse battery staple", "The passwords match.")
	a.page("password", "/password", "Change your password")
	a.keys("#current", "not my password")
	a.keys("#password", "short")
	a.keys("#confirm", "short")
	a.click("password errors", "main button[type=submit]", "There is a problem")
	a.wantFormError()
	a.page("password", "/password", "Change your password")
	a.keys("#current", pw)
	a.keys("#password", pw+" 2")
	a.keys("#confirm", pw+" 2")
	a.click("password changed", "main button[type=submit]", "Your password was changed")
	a.page("session inspector logged in", "/session", "Keys and values")
	a.page("sessions", "/sessions", "This session")
	a.click("sessions, others ended", "main form[action='/sessions/end-others'] button", "Every other session of yours has ended")
	a.page("logout page logged in", "/logout", "You are logged in as")
	a.page("404 logged in", "/nope", "Page not found")
	a.submitForm("405 logged in", "/session", nil, "Method not allowed")
	a.crossOrigin("403 cross-origin post logged in", "/password", "Request refused")
	// Wrong current passwords until the throttle answers 429 with the form.
	for i := 0; ; i++ {
		chromeRun(a.t, a.ctx, "password", chromedp.Navigate(a.base+"/password"), chromeWaitText("Change your password"))
		a.keys("#current", "wrong")
		a.keys("#password", "long enough 1")
		a.keys("#confirm", "long enough 1")
		a.clickTo("password wrong current", "main button[type=submit]", "There is a problem")
		if a.mainContains("Too many wrong passwords") {
			break
		}
		if i > 20 {
			a.t.Fatal("the password form never throttled")
		}
	}
	a.audit("429 password throttled")
	a.wantFormError()
}

// page opens path, waits for text and audits the result.
func (a *auditor) page(state, path, text string) {
	a.t.Helper()
	chromeRun(a.t, a.ctx, state, chromedp.Navigate(a.base+path), chromeWaitText(text))
	a.audit(state)
}

// click clicks sel, waits for text and audits the result.
func (a *auditor) click(state, sel, text string) {
	a.t.Helper()
	a.clickTo(state, sel, text)
	a.audit(state)
}

// clickTo clicks sel and waits for text, for a step that only leads to
// the state audited next.
func (a *auditor) clickTo(state, sel, text string) {
	a.t.Helper()
	chromeRun(a.t, a.ctx, state, chromedp.Click(sel, chromedp.ByQuery), chromeWaitText(text))
}

func (a *auditor) keys(sel, text string) {
	a.t.Helper()
	chromeRun(a.t, a.ctx, "type into "+sel, chromedp.SendKeys(sel, text, chromedp.ByQuery))
}

// typing types into sel, waits for the live feedback and audits.
func (a *auditor) typing(state, sel, text, feedback string) {
	a.t.Helper()
	a.keys(sel, text)
	chromeRun(a.t, a.ctx, state, chromedp.WaitVisible(`//*[@aria-live="polite"][contains(., "`+feedback+`")]`, chromedp.BySearch))
	a.audit(state)
}

// submitForm posts fields to path from a form made in the page, as a
// browser would, waits for text and audits the answer.
func (a *auditor) submitForm(state, path string, fields map[string]string, text string) {
	a.t.Helper()
	js, err := json.Marshal(fields)
	mustOK(a.t, err)
	script := fmt.Sprintf(`(() => {
		const f = document.createElement("form");
		f.method = "post";
		f.action = %q;
		for (const [k, v] of Object.entries(%s || {})) {
			const i = document.createElement("input");
			i.type = "hidden"; i.name = k; i.value = v;
			f.appendChild(i);
		}
		document.body.appendChild(f);
		f.submit();
	})()`, path, js)
	chromeRun(a.t, a.ctx, state, chromedp.Evaluate(script, nil), chromeWaitText(text))
	a.audit(state)
}

func (a *auditor) mainContains(text string) bool {
	a.t.Helper()
	var ok bool
	chromeRun(a.t, a.ctx, "read main", chromedp.Evaluate(`document.querySelector("main").textContent.includes(`+jsString(text)+`)`, &ok))
	return ok
}

// wantFormError checks what a form error must do beyond axe's rules: the
// title says "Error:", the summary has focus and links to a field.
func (a *auditor) wantFormError() {
	a.t.Helper()
	var title, focused string
	var links int
	chromeRun(a.t, a.ctx, "form error",
		chromedp.Title(&title),
		chromedp.Evaluate(`document.activeElement.className`, &focused),
		chromedp.Evaluate(`document.querySelectorAll(".error-summary a[href^='#']").length`, &links),
	)
	if !strings.HasPrefix(title, "Error: ") {
		a.t.Errorf("title %q after a form error, want it to start with \"Error: \"", title)
	}
	if focused != "error-summary" {
		a.t.Errorf("focus on %q after a form error, want the error summary", focused)
	}
	if links == 0 {
		a.t.Error("error summary links to no field")
	}
}

func (a *auditor) wantValue(sel, want string) {
	a.t.Helper()
	var got string
	chromeRun(a.t, a.ctx, "value of "+sel, chromedp.Value(sel, &got, chromedp.ByQuery))
	if got != want {
		a.t.Errorf("%s holds %q, want %q", sel, got, want)
	}
}

func (a *auditor) wantLocationPrefix(prefix string) {
	a.t.Helper()
	wantChromeLocationPrefix(a.t, a.ctx, a.base+prefix)
}

// readmeShots are the audited states the README shows: with
// WEBSESSION_SCREENSHOT=1 they are written to docs/ under these names.
var readmeShots = map[string]string{
	"1280px-register-errors.png":                "screenshot-form-error.png",
	"1280px-password-matching-confirmation.png": "screenshot-password-feedback.png",
	"375px-register-typing-confirmation.png":    "screenshot-phone.png",
	"375px-home-logged-in.png":                  "screenshot-phone-home.png",
}

// violation is the part of an axe-core result the failure message shows.
type violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// audit runs axe-core on the page as it is now and reports every
// violation; with $WEBSESSION_ARTIFACTS set it also keeps a screenshot.
func (a *auditor) audit(state string) {
	a.t.Helper()
	var loaded bool
	chromeRun(a.t, a.ctx, "axe loaded?", chromedp.Evaluate(`typeof axe === "object"`, &loaded))
	if !loaded {
		chromeRun(a.t, a.ctx, "load axe", chromedp.Evaluate(axeSource, nil))
	}
	var out []violation
	chromeRun(a.t, a.ctx, "axe "+state, chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
			nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary)})))`,
		&out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	for _, v := range out {
		a.t.Errorf("%s: axe %s (%s): %s\n\t%s", state, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
	name := fmt.Sprintf("%dpx-%s.png", a.width, strings.NewReplacer(" ", "-", ",", "", ":", "", "/", "-").Replace(state))
	readme, inReadme := readmeShots[name]
	switch {
	case inReadme && os.Getenv("WEBSESSION_SCREENSHOT") == "1":
		png := chromeScreenshot(a.t, a.ctx, a.shots, name)
		mustOK(a.t, os.WriteFile(filepath.Join("..", "..", "docs", readme), png, 0o644))
	case os.Getenv("WEBSESSION_ARTIFACTS") != "":
		chromeScreenshot(a.t, a.ctx, a.shots, name)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	mustOK(t, err)
	return string(b)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
