package authform

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/websession/websession/internal/users"
)

// Default form field names and form size (mod_auth_form's defaults).
const (
	DefaultUsernameField = "httpd_username"
	DefaultPasswordField = "httpd_password"
	DefaultLocationField = "httpd_location"
	DefaultMethodField   = "httpd_method"
	DefaultMimetypeField = "httpd_mimetype"
	DefaultBodyField     = "httpd_body"
	DefaultSize          = 8192
)

// Require is the Require directive of a protected location.
type Require struct {
	// ValidUser is "Require valid-user": any authenticated user.
	ValidUser bool
	// Users is "Require user NAME...": only these users (ignored when
	// ValidUser is set).
	Users []string
}

// Options are the mod_auth_form directives of one location (plus AuthName
// and Require). The integrator maps the configuration file onto them.
type Options struct {
	// AuthName is the realm; it prefixes the session keys
	// (<AuthName>-user, -pw, -site). Required.
	AuthName string
	// Require says who may enter a protected location (Protect only).
	Require Require
	// Providers are the AuthFormProvider stores, asked in order; the first
	// answer other than NotFound decides. Required for Protect and
	// LoginHandler.
	Providers []users.Store
	// NonAuthoritative is AuthFormAuthoritative Off: a provider error is
	// logged and treated as NotFound (the next provider is asked) instead
	// of answering 500. There is no other authentication module to decline
	// to, so a user nobody knows still gets the failure answer.
	NonAuthoritative bool

	// Form field names (AuthFormUsername, AuthFormPassword,
	// AuthFormLocation, AuthFormMethod, AuthFormMimetype, AuthFormBody);
	// empty means the httpd_* default.
	UsernameField, PasswordField, LocationField string
	MethodField, MimetypeField, BodyField       string
	// Size is AuthFormSize: the largest decoded login form, in bytes;
	// larger forms get 413. 0 means DefaultSize.
	Size int64

	// LoginRequiredLocation, LoginSuccessLocation and LogoutLocation are
	// AuthFormLoginRequiredLocation, AuthFormLoginSuccessLocation and
	// AuthFormLogoutLocation. They come from the administrator and may be
	// absolute URLs; %{REQUEST_URI}, %{QUERY_STRING} and %{HTTP_HOST} are
	// replaced with the request's values (the ap_expr subset supported).
	LoginRequiredLocation, LoginSuccessLocation, LogoutLocation string

	// FakeBasicAuth is AuthFormFakeBasicAuth On: handlers behind Protect
	// see "Authorization: Basic base64(user:password)" instead of whatever
	// the client sent.
	FakeBasicAuth bool
	// DisableNoStore is AuthFormDisableNoStore On: no
	// "Cache-Control: no-store" on 401 answers, protected responses and
	// login/logout answers.
	DisableNoStore bool
	// SitePassphrase is AuthFormSitePassphrase. A session carrying
	// MD5hex(user:SitePassphrase) is accepted without asking the
	// providers. Only safe with encrypted cookies or a database store.
	SitePassphrase string

	// ErrorPage401 renders 401 answers (ErrorDocument 401): typically the
	// login form, for inline login. It runs with the status forced to 401.
	// nil gives a small built-in page.
	ErrorPage401 http.Handler
	// RefusalPage renders a refused login form (a wrong password or an
	// empty field, 401, or too many attempts, 429) instead of redirecting
	// to AuthFormLoginRequiredLocation or answering through ErrorPage401,
	// so that the page can keep the typed user name and where the user was
	// going (RefusalOf), and say what was wrong and when to try again. nil
	// does what httpd does.
	RefusalPage http.Handler
	// Throttle limits failed logins; share one between the login handler
	// and every protected location. nil gives a private Throttle with the
	// default limits.
	Throttle *Throttle
	// Logins keeps the record of ended logins and the absolute lifetime;
	// share one between every location of the realm and the site. nil
	// keeps no record: a logout only removes the credentials from the
	// session, as httpd does.
	Logins *Logins
	// Fail answers a request that failed on the server's side (a session
	// store or user store that cannot be reached): the integrator's one
	// failure renderer, which logs the error once and shows its page. nil
	// logs to Logger and writes a small built-in page.
	Fail func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives provider and session errors; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ObserveLogin, when set, is told the outcome of every checked login
	// attempt: "success", "failure" or "throttled" (metrics).
	ObserveLogin func(outcome string)
}

// goodCredsMax bounds the credentials a location remembers as right.
const goodCredsMax = 10000

// config is Options checked and completed.
type config struct {
	Options
	required, success, logout *location
	allowed                   map[string]bool // Require user; nil: valid-user
	userKey, pwKey, siteKey   string
	good                      *goodCreds
}

func (o Options) compile(who string, needProviders bool) (*config, error) {
	fail := func(format string, a ...any) (*config, error) {
		return nil, fmt.Errorf("authform: %s: "+format, append([]any{who}, a...)...)
	}
	if o.AuthName == "" {
		return fail("AuthName is required (it prefixes the session keys)")
	}
	if needProviders {
		if len(o.Providers) == 0 {
			return fail("no AuthFormProvider store configured")
		}
		for i, p := range o.Providers {
			if p == nil {
				return fail("AuthFormProvider %d is nil", i+1)
			}
		}
	}
	fields := []struct {
		directive string
		v         *string
		def       string
	}{
		{"AuthFormUsername", &o.UsernameField, DefaultUsernameField},
		{"AuthFormPassword", &o.PasswordField, DefaultPasswordField},
		{"AuthFormLocation", &o.LocationField, DefaultLocationField},
		{"AuthFormMethod", &o.MethodField, DefaultMethodField},
		{"AuthFormMimetype", &o.MimetypeField, DefaultMimetypeField},
		{"AuthFormBody", &o.BodyField, DefaultBodyField},
	}
	for _, f := range fields {
		if *f.v == "" {
			*f.v = f.def
		}
		if strings.ContainsAny(*f.v, "=&") {
			return fail("%s: field name %q must not contain '=' or '&'", f.directive, *f.v)
		}
	}
	if o.Size == 0 {
		o.Size = DefaultSize
	}
	if o.Size < 0 {
		return fail("AuthFormSize: %d is negative", o.Size)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Throttle == nil {
		o.Throttle = NewThrottle(ThrottleOptions{Now: o.Now})
	}
	c := &config{Options: o, userKey: UserKey(o.AuthName), pwKey: PasswordKey(o.AuthName), siteKey: SiteKey(o.AuthName), good: newGoodCreds(goodCredsMax)}
	var err error
	if c.required, err = parseLocation("AuthFormLoginRequiredLocation", o.LoginRequiredLocation); err != nil {
		return fail("%v", err)
	}
	if c.success, err = parseLocation("AuthFormLoginSuccessLocation", o.LoginSuccessLocation); err != nil {
		return fail("%v", err)
	}
	if c.logout, err = parseLocation("AuthFormLogoutLocation", o.LogoutLocation); err != nil {
		return fail("%v", err)
	}
	if !o.Require.ValidUser && len(o.Require.Users) > 0 {
		c.allowed = make(map[string]bool, len(o.Require.Users))
		for _, u := range o.Require.Users {
			c.allowed[u] = true
		}
	}
	return c, nil
}

var errNoRequire = errors.New("authform: Protect: Require: valid-user or user NAME... is needed for a protected location")
