package config

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/websession/websession/internal/headers"
	"github.com/websession/websession/internal/remoteip"
	"github.com/websession/websession/internal/ssl"
)

// Options tells Parse and Load where values from outside the file come from.
// The zero value is ready to use.
type Options struct {
	// Getenv returns the value of an environment variable for ${VAR}; an
	// empty result counts as undefined and is an error. Nil means os.Getenv.
	Getenv func(string) string

	// ServerRoot is the folder relative paths are resolved against until a
	// ServerRoot directive says otherwise. Empty means the folder of the
	// configuration file. It is made absolute.
	ServerRoot string

	// Exec runs a program named by an "exec:" passphrase and returns its
	// standard output. argv[0] is already resolved against ServerRoot. Nil
	// means os/exec with a 10 second time limit.
	Exec func(argv []string) ([]byte, error)
}

// Config is a parsed configuration file: the server-wide values and the
// per-path settings. It is immutable after Parse and safe for concurrent use.
type Config struct {
	// File is the name the configuration was parsed under.
	File string

	// Listen is the address of the first Listen line (httpd's Listen),
	// default "127.0.0.1:8080". A bare port "8080" becomes ":8080", all
	// addresses, as in httpd.
	Listen string

	// Listeners are all Listen lines in file order; at least one.
	Listeners []Listener

	// SSL is mod_ssl's certificate for the https listeners.
	SSL SSLConfig

	// RemoteIP is mod_remoteip: RemoteIPHeader and the proxies trusted to
	// send it. Header "" means off.
	RemoteIP remoteip.Config

	// CustomLogs are the access logs (mod_log_config), in file order.
	CustomLogs []CustomLog

	// ServerRoot is the absolute folder relative paths were resolved
	// against (httpd's ServerRoot; default: the configuration file's folder).
	ServerRoot string

	// Timeout is httpd's Timeout (default 60 seconds), used for the server's
	// read and write timeouts.
	Timeout time.Duration

	// Aliases are mod_alias Alias directives in file order; Path is absolute.
	Aliases []Alias

	// ScriptAliases are mod_alias ScriptAlias directives (CGI programs) in
	// file order; Path is absolute.
	ScriptAliases []Alias

	// DBD is the database connection (mod_dbd); DBD.Driver is "" when the
	// file configures none.
	DBD DBDConfig

	// SessionCryptoDriver is the SessionCryptoDriver line's arguments, kept
	// verbatim and otherwise ignored: websession has one crypto
	// implementation.
	SessionCryptoDriver string

	// SessionDBDCleanupInterval is how often expired session rows are
	// deleted in-process (default 300 seconds; 0 disables). websession
	// extension: directive SessionDBDCleanupInterval seconds.
	SessionDBDCleanupInterval time.Duration

	// Server holds the per-directory settings given outside any <Location>,
	// with defaults filled in; Resolve returns it for paths no <Location>
	// matches.
	Server *Settings

	// Locations lists the distinct <Location> paths in file order, for
	// routing.
	Locations []string

	// Warnings are problems that do not stop start-up, such as a short
	// passphrase, each "file:line: Directive: what is wrong" with the fix;
	// the caller logs them.
	Warnings []*Error

	serverReachable bool        // some URL path matches no <Location>
	byLen           []int       // indexes into Locations, longest path first
	resolved        []*Settings // parallel to Locations
}

// Alias maps a URL-path prefix to a file-system path (mod_alias).
type Alias struct {
	URLPath string // URL-path prefix as written, e.g. "/static/"
	Path    string // absolute file-system path
}

// DBDConfig is the mod_dbd connection and pool.
type DBDConfig struct {
	// Driver is DBDriver; only "pgsql" is accepted.
	Driver string
	// Params is DBDParams: a libpq conninfo string, verbatim.
	Params string
	// PrepareSQL maps a DBDPrepareSQL label to its SQL.
	PrepareSQL map[string]string
	// PrepareSQLLine maps a DBDPrepareSQL label to its line in File, so
	// that a statement the database refuses at start-up is reported
	// where it was written.
	PrepareSQLLine map[string]int
	// Min is DBDMin (default 1). database/sql has no minimum; recorded.
	Min int
	// Keep is DBDKeep: idle connections kept. The default is Max, so a
	// loaded server keeps its connections (mod_dbd's 2 is per process,
	// and Apache runs many processes; websession runs one pool).
	Keep int
	// Max is DBDMax (default 10): open connections at most.
	Max int
	// Exptime is DBDExptime (default 300 seconds): idle connection lifetime.
	Exptime time.Duration
	// AutoMigrate runs the database migrations at start (default Off).
	// websession extension: directive DBDAutoMigrate On|Off.
	AutoMigrate bool
	// CacheOff is DBDCache Off: every session and user read goes to the
	// database. By default rows are cached and dropped when PostgreSQL
	// notifies a change (internal/rowcache). websession extension.
	CacheOff bool
}

// Settings are the effective per-path settings: defaults, then the
// server-level directives, then every matching <Location> in merge order.
// A *Settings returned by Resolve or AllSettings is shared: treat it,
// including its slices and map, as read-only.
type Settings struct {
	// Location is the longest <Location> path these settings came from, or
	// "" for the server level. For error messages.
	Location string

	Session SessionSettings
	Cookie  CookieSettings
	Crypto  CryptoSettings
	DBD     DBDSessionSettings
	Auth    AuthSettings

	// Handler is SetHandler: "form-login-handler", "form-logout-handler",
	// "metrics" (the Prometheus text format), or "" (none).
	Handler string

	// Headers are the Header directives (mod_headers: set, append, unset,
	// [always]) of the server level, then of each matching <Location>,
	// applied in that order after the default security headers.
	Headers []headers.Rule

	// ErrorDocuments maps a status code to ErrorDocument's second argument,
	// verbatim (a local URL-path, a full URL, or a "quoted message").
	// Merged per status code.
	ErrorDocuments map[int]string
}

// SessionSettings are mod_session's directives.
type SessionSettings struct {
	Enabled bool   // Session On|Off, default Off
	MaxAge  int64  // SessionMaxAge seconds, default 0 (no expiry)
	Env     bool   // SessionEnv On|Off, default Off
	Header  string // SessionHeader: response header merged into the session
	// HeaderAllowCredentials lets the SessionHeader write mod_auth_form's
	// credential keys (<AuthName>-user, -pw, -site), which it otherwise
	// may not (default Off). websession extension:
	// SessionHeaderAllowCredentials On|Off.
	HeaderAllowCredentials bool
	// Include and Exclude are SessionInclude / SessionExclude URL-path
	// prefixes; unlike other settings they accumulate across sections.
	Include []string
	Exclude []string
	// ExpiryUpdateInterval is SessionExpiryUpdateInterval seconds, default 0.
	ExpiryUpdateInterval int64
}

// CookieSettings are mod_session_cookie's directives. A name and its
// attributes are always set together.
type CookieSettings struct {
	Name   string // SessionCookieName first word
	Attrs  string // the rest of the line, verbatim ("" = httpd's default)
	Name2  string // SessionCookieName2 (Set-Cookie2)
	Attrs2 string
	Remove bool // SessionCookieRemove, default Off
	// MaxAgeAttr is SessionCookieMaxAge (httpd trunk), default On: write
	// Max-Age when SessionMaxAge is set.
	MaxAgeAttr bool
}

// CryptoSettings are mod_session_crypto's directives.
type CryptoSettings struct {
	// Passphrases from SessionCryptoPassphrase and
	// SessionCryptoPassphraseFile, in order; "exec:" programs have already
	// been run. The first encrypts, all decrypt. Empty means no encryption.
	Passphrases []string
	// Cipher is SessionCryptoCipher: aes128, aes192, aes256 (default) or
	// 3des192, lower case.
	Cipher string
}

// DBDSessionSettings are mod_session_dbd's directives.
type DBDSessionSettings struct {
	CookieName   string // SessionDBDCookieName first word
	CookieAttrs  string // the rest of that line, verbatim
	CookieName2  string // SessionDBDCookieName2
	CookieAttrs2 string
	CookieRemove bool // SessionDBDCookieRemove, default On
	PerUser      bool // SessionDBDPerUser, default Off
	SelectLabel  string
	InsertLabel  string
	UpdateLabel  string
	DeleteLabel  string
}

// AuthSettings are mod_auth_form's directives and the core ones it uses.
// All of them may only appear inside <Location>.
type AuthSettings struct {
	// Type is AuthType as written; see IsForm.
	Type string
	// Name is AuthName, the realm that prefixes the session keys.
	Name string
	// Require is the Require lines of the most specific section having any.
	Require Require
	// Providers is AuthFormProvider: "file" and/or "dbd", default [file].
	Providers []string
	// UserFile is AuthUserFile, absolute.
	UserFile string
	// DBDUserPWQuery is AuthDBDUserPWQuery's SQL.
	DBDUserPWQuery string

	// Form field names (AuthFormUsername, AuthFormPassword,
	// AuthFormLocation, AuthFormMethod, AuthFormMimetype, AuthFormBody).
	UsernameField string
	PasswordField string
	LocationField string
	MethodField   string
	MimetypeField string
	BodyField     string

	// Size is AuthFormSize: the largest login form body, default 8192.
	Size int64

	// Redirect targets, verbatim; they may hold %{VAR} expressions.
	LoginRequiredLocation string
	LoginSuccessLocation  string
	LogoutLocation        string

	FakeBasicAuth  bool   // AuthFormFakeBasicAuth, default Off
	DisableNoStore bool   // AuthFormDisableNoStore, default Off
	SitePassphrase string // AuthFormSitePassphrase
	Authoritative  bool   // AuthFormAuthoritative, default On

	// AllowPlainCookie lets form authentication keep the password in an
	// unencrypted cookie; without it the server refuses to start in that
	// case (default Off). websession extension: AuthFormAllowPlainCookie
	// On|Off.
	AllowPlainCookie bool

	// BcryptCost is the cost of new password hashes, 10..31, default 12.
	// websession extension: AuthFormBcryptCost N.
	BcryptCost int

	// LoginLifetime ends a login this long after it was made, whatever its
	// activity (OWASP ASVS 3.3.2), in addition to SessionMaxAge's idle
	// timeout; 0 (the default) means no limit. websession extension:
	// AuthFormLoginLifetime seconds.
	LoginLifetime time.Duration

	// Throttle limits failed logins, default 5 per 60 seconds.
	// websession extension: AuthFormThrottle attempts seconds, or
	// AuthFormThrottle Off.
	Throttle Throttle
}

// IsForm reports whether AuthType is "form" (any case).
func (a *AuthSettings) IsForm() bool { return strings.EqualFold(a.Type, "form") }

// Require is the union of the Require lines of one section. The zero value
// means no Require: nothing is demanded.
type Require struct {
	ValidUser bool     // Require valid-user
	Users     []string // Require user NAME...
	// IP is mod_authz_host's Require ip: the client must be in one of
	// these networks. A section has either IP or user requirements.
	IP []netip.Prefix
}

// Any reports whether a user requirement is configured.
func (r Require) Any() bool { return r.ValidUser || len(r.Users) > 0 }

// Throttle is a failed-login limit: Attempts within Window. Attempts 0
// means no throttling.
type Throttle struct {
	Attempts int
	Window   time.Duration
}

// Error is a configuration error at a place in the file.
type Error struct {
	File      string
	Line      int
	Directive string // as httpd spells it, or "<Location>"
	Msg       string
}

// Error returns "file:line: Directive: message".
func (e *Error) Error() string {
	if e.Directive == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Directive, e.Msg)
}

// Load reads and parses the configuration file at path.
func Load(path string, opts Options) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the configuration file: %w", path, err)
	}
	return Parse(path, src, opts)
}

// Parse parses src, the contents of the configuration file called name.
// Programs named by "exec:" passphrases are run and passphrase files read
// now, once.
func Parse(name string, src []byte, opts Options) (*Config, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Exec == nil {
		opts.Exec = runProgram
	}
	root := opts.ServerRoot
	if root == "" {
		root = filepath.Dir(name)
	}
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	p := &parser{
		file: name,
		opts: opts,
		cfg: &Config{
			File:                      name,
			Listen:                    "127.0.0.1:8080",
			ServerRoot:                root,
			Timeout:                   60 * time.Second,
			SSL:                       SSLConfig{HSTS: ssl.HSTS{MaxAge: ssl.DefaultHSTSMaxAge}},
			SessionDBDCleanupInterval: 300 * time.Second,
			DBD: DBDConfig{
				PrepareSQL:     map[string]string{},
				PrepareSQLLine: map[string]int{},
				Min:            1,
				Keep:           -1, // DBDMax unless set
				Max:            10,
				Exptime:        300 * time.Second,
			},
		},
		server: &section{},
	}
	if err := p.parse(src); err != nil {
		return nil, err
	}
	if p.cfg.DBD.Keep < 0 {
		p.cfg.DBD.Keep = p.cfg.DBD.Max
	}
	if err := p.finishFrontDoor(); err != nil {
		return nil, err
	}
	if len(p.cfg.Listeners) == 0 {
		p.cfg.Listeners = []Listener{{Addr: p.cfg.Listen}}
	}
	p.cfg.build(p.server, p.sections)
	return p.cfg, nil
}

// section is the server level or one <Location>: the operations its
// directives perform on a Settings, in file order.
type section struct {
	path  string
	line  int
	order int
	ops   []op
	// which kinds of Require the section has, to refuse mixing them
	requireIP, requireUser bool
}

// op applies one parsed directive to the Settings being merged.
type op func(a *applyState)

// applyState is the Settings being built plus which replace-once lists this
// section has already reset (a section that sets passphrases, Require or
// providers replaces the inherited list, several lines in it append).
type applyState struct {
	s     *Settings
	reset map[string]bool
}

func (a *applyState) first(key string) bool {
	if a.reset[key] {
		return false
	}
	a.reset[key] = true
	return true
}

// build precomputes the merged Settings for every distinct location path so
// that Resolve only has to find the longest matching path.
func (c *Config) build(server *section, secs []*section) {
	c.Server = merge("", server, nil)
	c.serverReachable = true
	seen := map[string]bool{}
	for _, s := range secs {
		if !seen[s.path] {
			seen[s.path] = true
			c.Locations = append(c.Locations, s.path)
		}
		if s.path == "/" {
			c.serverReachable = false
		}
	}
	// Apply order: shorter paths first, ties in file order.
	ordered := append([]*section(nil), secs...)
	sort.SliceStable(ordered, func(i, j int) bool { return len(ordered[i].path) < len(ordered[j].path) })
	for _, path := range c.Locations {
		var match []*section
		for _, s := range ordered {
			if matches(s.path, path) {
				match = append(match, s)
			}
		}
		c.resolved = append(c.resolved, merge(path, server, match))
	}
	c.byLen = make([]int, len(c.Locations))
	for i := range c.byLen {
		c.byLen[i] = i
	}
	sort.SliceStable(c.byLen, func(i, j int) bool {
		return len(c.Locations[c.byLen[i]]) > len(c.Locations[c.byLen[j]])
	})
}

func merge(path string, server *section, locs []*section) *Settings {
	s := defaults()
	s.Location = path
	for _, sec := range append([]*section{server}, locs...) {
		a := &applyState{s: s, reset: map[string]bool{}}
		for _, o := range sec.ops {
			o(a)
		}
	}
	return s
}

func defaults() *Settings {
	return &Settings{
		Cookie: CookieSettings{MaxAgeAttr: true},
		Crypto: CryptoSettings{Cipher: "aes256"},
		DBD: DBDSessionSettings{
			CookieRemove: true,
			SelectLabel:  "selectsession",
			InsertLabel:  "insertsession",
			UpdateLabel:  "updatesession",
			DeleteLabel:  "deletesession",
		},
		Auth: AuthSettings{
			Providers:     []string{"file"},
			UsernameField: "httpd_username",
			PasswordField: "httpd_password",
			LocationField: "httpd_location",
			MethodField:   "httpd_method",
			MimetypeField: "httpd_mimetype",
			BodyField:     "httpd_body",
			Size:          8192,
			Authoritative: true,
			BcryptCost:    12,
			Throttle:      Throttle{Attempts: 5, Window: 60 * time.Second},
		},
		ErrorDocuments: map[int]string{},
	}
}

// matches reports whether <Location loc> applies to urlPath, as httpd 2.4
// matches a non-regex Location: loc must be a prefix of urlPath ending at a
// path-segment boundary, unless loc itself ends in '/'.
// "/a" matches /a, /a/ and /a/b but not /ab; "/a/" matches /a/ and /a/b but
// not /a.
func matches(loc, urlPath string) bool {
	if !strings.HasPrefix(urlPath, loc) {
		return false
	}
	if len(urlPath) == len(loc) || strings.HasSuffix(loc, "/") {
		return true
	}
	return urlPath[len(loc)] == '/'
}

// Resolve returns the effective settings for a request's URL path (decoded,
// without query string). It does not allocate; the result is shared and
// read-only.
func (c *Config) Resolve(urlPath string) *Settings {
	// The matching sections of a path are determined by its longest matching
	// location path, whose merged settings build precomputed.
	for _, i := range c.byLen {
		if matches(c.Locations[i], urlPath) {
			return c.resolved[i]
		}
	}
	return c.Server
}

// AllSettings returns every distinct Settings that Resolve can return: the
// server level (unless <Location /> covers every path) and one per location
// path, in file order. Use it to validate and build stores at start-up.
func (c *Config) AllSettings() []*Settings {
	var all []*Settings
	if c.serverReachable {
		all = append(all, c.Server)
	}
	return append(all, c.resolved...)
}
