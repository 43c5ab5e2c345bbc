package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/websession/websession/configs"
	"github.com/websession/websession/internal/pgtest"
)

// TestBrowserLogoutThenReplay: a real Chromium's session cookie, copied
// into a second Chromium before logout, no longer logs in after it; the
// copy is told its session was logged out, once. Then log out everywhere
// from one browser ends another's, which says why.
func TestBrowserLogoutThenReplay(t *testing.T) {
	needChromium(t)
	base, _ := startShipped(t, configs.Default, nil)
	alice := newChromium(t)
	thief := newChromium(t)
	const pw = "replay horse battery"

	chromeRun(t, alice, "register",
		chromedp.Navigate(base+"/register"),
		chromedp.WaitVisible(`#username`, chromedp.ByQuery),
		chromedp.SendKeys(`#username`, "alice", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, pw, chromedp.ByQuery),
		chromedp.SendKeys(`#confirm`, pw, chromedp.ByQuery),
		chromedp.Click(`main button[type=submit]`, chromedp.ByQuery),
		chromeWaitText(`Hello, alice`),
	)

	// Copy every cookie of the site into the other browser, as malware or
	// a shared computer would.
	var cookies []*network.Cookie
	chromeRun(t, alice, "read cookies", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{base + "/"}).Do(ctx)
		return err
	}))
	if len(cookies) == 0 {
		t.Fatal("no cookie after registration")
	}
	chromeRun(t, thief, "plant cookies", chromedp.Navigate(base+"/"), chromedp.ActionFunc(func(ctx context.Context) error {
		for _, c := range cookies {
			if err := network.SetCookie(c.Name, c.Value).WithURL(base + "/").WithHTTPOnly(c.HTTPOnly).Do(ctx); err != nil {
				return err
			}
		}
		return nil
	}))
	chromeRun(t, thief, "copy works before logout", chromedp.Navigate(base+"/private/"), chromeWaitText(`Hello, alice`))

	chromeRun(t, alice, "log out",
		chromedp.Click(`nav button.link`, chromedp.ByQuery),
		chromeWaitText(`You are logged out.`),
	)
	chromeRun(t, thief, "copy refused after logout",
		chromedp.Navigate(base+"/private/"),
		chromedp.WaitVisible(`#httpd_username`, chromedp.ByQuery),
		chromeWaitText(`This session was logged out.`),
	)
	wantChromeLocationPrefix(t, thief, base+"/login?next=")
	var text string
	chromeRun(t, thief, "notice once", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(`#httpd_username`, chromedp.ByQuery),
		chromedp.Text("main", &text, chromedp.ByQuery))
	if strings.Contains(text, "logged out") {
		t.Errorf("notice shown twice: %q", text)
	}

	// Log out everywhere else: the other browser's login ends and says why.
	chromeLogin(t, alice, base, "alice", pw)
	chromeRun(t, alice, "logged in again", chromeWaitText(`Hello, alice`))
	chromeLogin(t, thief, base, "alice", pw)
	chromeRun(t, thief, "second browser logged in", chromeWaitText(`Hello, alice`))
	chromeRun(t, alice, "log out everywhere else",
		chromedp.Navigate(base+"/sessions"),
		chromeWaitText(`Log out everywhere else`),
		chromedp.Click(`form[action="/sessions/end-others"] button`, chromedp.ByQuery),
		chromeWaitText(`Every other session of yours has ended`),
	)
	chromeRun(t, alice, "this one stays", chromedp.Navigate(base+"/private/"), chromeWaitText(`Hello, alice`))
	chromeRun(t, thief, "other ended, told why",
		chromedp.Navigate(base+"/private/"),
		chromedp.WaitVisible(`#httpd_username`, chromedp.ByQuery),
		chromeWaitText(`ended from another one`),
	)
}

// TestBrowserEndsAnotherSession (issue 13.3): two Chromiums logged in as
// one user on two servers sharing PostgreSQL (configs/postgres.conf). The
// first lists both sessions, this one marked, and ends the other with its
// End button; the other browser's next page is the login form, saying why.
func TestBrowserEndsAnotherSession(t *testing.T) {
	needChromium(t)
	env := map[string]string{"DATABASE_URL": pgtest.URL(t), "SESSION_SECRET": "shared secret"}
	conf := shipped(t, "postgres.conf")
	aBase, bBase := startServerEnv(t, conf, env), startServerEnv(t, conf, env)
	laptop, phone := newChromium(t), newChromium(t)
	const pw = "ending horse battery"
	chromeRun(t, laptop, "register",
		chromedp.Navigate(aBase+"/register"),
		chromedp.WaitVisible(`#username`, chromedp.ByQuery),
		chromedp.SendKeys(`#username`, "lena", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, pw, chromedp.ByQuery),
		chromedp.SendKeys(`#confirm`, pw, chromedp.ByQuery),
		chromedp.Click(`main button[type=submit]`, chromedp.ByQuery),
		chromeWaitText(`Hello, lena`),
	)
	chromeLogin(t, phone, bBase, "lena", pw)
	chromeRun(t, phone, "second browser logged in", chromeWaitText(`Hello, lena`))

	var rows int
	chromeRun(t, laptop, "both sessions listed",
		chromedp.Navigate(aBase+"/sessions"),
		chromeWaitText(`(this session)`),
		chromedp.Evaluate(`document.querySelectorAll("main tbody tr").length`, &rows),
	)
	if rows != 2 {
		t.Fatalf("%d sessions listed, want 2", rows)
	}
	// axe on the list, as on every other page (a11y_test.go).
	axe := &auditor{t: t, ctx: laptop, base: aBase, shots: artifactsDir(t), width: 1280}
	axe.audit("sessions listed")
	chromeRun(t, laptop, "end the other one",
		chromedp.Click(`form[action="/sessions/end"] button`, chromedp.ByQuery),
		chromeWaitText(`That session has ended`),
		chromedp.Evaluate(`document.querySelectorAll("main tbody tr").length`, &rows),
	)
	if rows != 1 {
		t.Errorf("%d sessions listed after ending one, want 1", rows)
	}
	axe.audit("sessions, one ended")
	// The other server learns within a second; a page load may take longer
	// on a busy machine, so look until a deadline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		chromeRun(t, phone, "the ended browser's next page", chromedp.Navigate(bBase+"/private/"), chromedp.WaitReady(`main`, chromedp.ByQuery))
		if strings.HasPrefix(chromeLocation(t, phone), bBase+"/login?next=") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ended browser still sees the private area")
		}
	}
	chromeRun(t, phone, "told why", chromeWaitText(`this session was ended from another one`))
	chromeRun(t, laptop, "this one stays", chromedp.Navigate(aBase+"/private/"), chromeWaitText(`Hello, lena`))
}
