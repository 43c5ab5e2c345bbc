package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/websession/websession/configs"
	"github.com/websession/websession/internal/pgtest"
	"github.com/websession/websession/internal/testtool"
)

// The browser test drives Debian's headless Chromium through the reference
// site with the default configuration: register -> private area -> change
// password (a second browser logged in with the old password is logged
// out) -> log out -> log in again. Each simulated person has their own
// Chromium process and profile.
//
// Screenshots go to $WEBSESSION_ARTIFACTS (or a temporary folder); with
// WEBSESSION_SCREENSHOT=1 the home page after login is also written to
// docs/screenshot.png for the README.

const chromiumPath = "/usr/bin/chromium"

// screenshotCaption says what browserFlow photographs for the README.
const screenshotCaption = "The home page after registering, logged in as alice"

// TestScreenshotCaption: the README's caption says what the picture shows.
func TestScreenshotCaption(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "![" + screenshotCaption + "](docs/screenshot.png)"; !strings.Contains(string(readme), want) {
		t.Fatalf("the README does not show the screenshot as %s", want)
	}
}

func TestBrowserRegisterChangePasswordLogout(t *testing.T) {
	t.Run("encrypted cookie store", func(t *testing.T) {
		needChromium(t)
		base, _ := startShipped(t, configs.Default, nil)
		browserFlow(t, base, true)
	})
	t.Run("PostgreSQL store", func(t *testing.T) {
		needChromium(t)
		env := map[string]string{"DATABASE_URL": pgtest.URL(t), "SESSION_SECRET": "browser test secret"}
		base, _ := startShipped(t, "postgres.conf", env)
		browserFlow(t, base, false)
	})
}

func needChromium(t *testing.T) {
	t.Helper()
	testtool.Path(t, chromiumPath, "chromium")
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
}

// browserFlow is the whole journey of two people against one server;
// readme says whether this run may write the README's screenshot.
func browserFlow(t *testing.T, base string, readme bool) {
	shots := artifactsDir(t)

	alice := newChromium(t)
	other := newChromium(t)
	const oldPW, newPW = "old horse battery", "new staple battery"

	// Register: lands on the private area, logged in (seamless transition).
	chromeRun(t, alice, "register",
		chromedp.Navigate(base+"/register"),
		chromedp.WaitVisible(`#username`, chromedp.ByQuery),
		chromedp.SendKeys(`#username`, "alice", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, oldPW, chromedp.ByQuery),
		chromedp.SendKeys(`#confirm`, oldPW, chromedp.ByQuery),
		chromedp.Click(`main button[type=submit]`, chromedp.ByQuery),
		chromeWaitText(`Hello, alice`),
	)
	wantChromeLocation(t, alice, base+"/private/")
	chromeScreenshot(t, alice, shots, "01-registered.png")

	// The home page after registering, logged in: the README's screenshot,
	// captioned screenshotCaption.
	chromeRun(t, alice, "home", chromedp.Navigate(base+"/"), chromeWaitText(`Welcome back`))
	png := chromeScreenshot(t, alice, shots, "02-home-logged-in.png")
	if readme && os.Getenv("WEBSESSION_SCREENSHOT") == "1" {
		dst := filepath.Join("..", "..", "docs", "screenshot.png")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A second browser logs in with the old password.
	chromeLogin(t, other, base, "alice", oldPW)
	chromeRun(t, other, "other logged in", chromeWaitText(`Hello, alice`))
	wantChromeLocation(t, other, base+"/private/")

	// Change the password: still logged in.
	chromeRun(t, alice, "change password",
		chromedp.Navigate(base+"/password"),
		chromedp.WaitVisible(`#current`, chromedp.ByQuery),
		chromedp.SendKeys(`#current`, oldPW, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, newPW, chromedp.ByQuery),
		chromedp.SendKeys(`#confirm`, newPW, chromedp.ByQuery),
		chromedp.Click(`main button[type=submit]`, chromedp.ByQuery),
		chromeWaitText(`Your password was changed`),
	)
	wantChromeLocation(t, alice, base+"/private/?changed=1")
	chromeScreenshot(t, alice, shots, "03-password-changed.png")
	chromeRun(t, alice, "still logged in", chromedp.Navigate(base+"/private/"), chromeWaitText(`Hello, alice`))

	// The other browser's session ends at its next request.
	chromeRun(t, other, "other logged out",
		chromedp.Navigate(base+"/private/"),
		chromedp.WaitVisible(`#httpd_username`, chromedp.ByQuery),
	)
	wantChromeLocationPrefix(t, other, base+"/login?next=")
	chromeScreenshot(t, other, shots, "04-other-session-ended.png")

	// Log out with the navigation's button.
	chromeRun(t, alice, "log out",
		chromedp.Click(`nav button.link`, chromedp.ByQuery),
		chromeWaitText(`You are logged out.`),
	)
	wantChromeLocation(t, alice, base+"/?loggedout=1")
	chromeRun(t, alice, "logged out", chromedp.Navigate(base+"/private/"), chromedp.WaitVisible(`#httpd_username`, chromedp.ByQuery))
	wantChromeLocationPrefix(t, alice, base+"/login?next=")

	// The old password fails, as does a wrong one; the new one works.
	for _, pw := range []string{oldPW, "not the password"} {
		chromeLogin(t, alice, base, "alice", pw)
		chromeRun(t, alice, "login refused", chromeWaitText(`The user name or password is not right.`))
		wantChromeLocation(t, alice, base+"/login")
	}
	chromeScreenshot(t, alice, shots, "05-login-failed.png")
	chromeLogin(t, alice, base, "alice", newPW)
	chromeRun(t, alice, "login with the new password", chromeWaitText(`Hello, alice`))
	wantChromeLocation(t, alice, base+"/private/")
	chromeScreenshot(t, alice, shots, "06-logged-in-again.png")
}

// newChromium starts a Chromium process with its own profile.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes may still be writing to
	// the profile for a moment after the browser exits, which makes the
	// automatic removal fail the test.
	profile, err := os.MkdirTemp("", "websession-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(profile),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // close the browser gracefully first
		cancelCtx()
		cancelAlloc()
		removeProfile(t, profile)
	})
	// The first Run starts the browser and ties it to ctx: it must not be
	// a context with a deadline that ends before the test does.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// run runs browser actions with a deadline.
func chromeRun(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action) {
	t.Helper()
	stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(stepCtx, actions...); err != nil {
		var body string
		textCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = chromedp.Run(textCtx, chromedp.Text("body", &body, chromedp.ByQuery))
		t.Fatalf("%s: %v\npage text:\n%s", step, err, body)
	}
}

// login submits the login form as a person would.
func chromeLogin(t *testing.T, ctx context.Context, base, user, pw string) {
	t.Helper()
	chromeRun(t, ctx, "login form",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`#httpd_username`, chromedp.ByQuery),
		chromedp.SendKeys(`#httpd_username`, user, chromedp.ByQuery),
		chromedp.SendKeys(`#httpd_password`, pw, chromedp.ByQuery),
		chromedp.Click(`main button[type=submit]`, chromedp.ByQuery),
	)
}

// waitText waits until the page's main content shows text.
func chromeWaitText(text string) chromedp.Action {
	return chromedp.WaitVisible(`//main[contains(., "`+text+`")]`, chromedp.BySearch)
}

func chromeLocation(t *testing.T, ctx context.Context) string {
	t.Helper()
	var loc string
	chromeRun(t, ctx, "location", chromedp.Location(&loc))
	return loc
}

func wantChromeLocation(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	if got := chromeLocation(t, ctx); got != want {
		t.Fatalf("at %s, want %s", got, want)
	}
}

func wantChromeLocationPrefix(t *testing.T, ctx context.Context, prefix string) {
	t.Helper()
	if got := chromeLocation(t, ctx); !strings.HasPrefix(got, prefix) {
		t.Fatalf("at %s, want %s...", got, prefix)
	}
}

// screenshot saves a full-page PNG and returns it.
func chromeScreenshot(t *testing.T, ctx context.Context, dir, name string) []byte {
	t.Helper()
	var png []byte
	chromeRun(t, ctx, "screenshot "+name, chromedp.FullScreenshot(&png, 100))
	mustOK(t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	return png
}

// artifactsDir is $WEBSESSION_ARTIFACTS, created if needed, else a
// temporary folder.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("WEBSESSION_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "-"))
	mustOK(t, os.MkdirAll(dir, 0o755))
	return dir
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// removeProfile deletes a Chromium profile, retrying while the browser's
// last helper processes finish writing to it.
func removeProfile(t *testing.T, dir string) {
	var err error
	for range 50 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("leaving Chromium profile %s behind: %v", dir, err)
}
