package config

import (
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/websession/websession/internal/headers"
)

// scope says where a directive may appear.
type scope int

const (
	anywhere     scope = iota // server level and <Location>
	serverOnly                // outside any section (httpd RSRC_CONF)
	locationOnly              // inside <Location> only (httpd OR_AUTHCFG, ACCESS_CONF)
)

// directive describes one supported directive.
type directive struct {
	name     string // as the httpd manual spells it
	scope    scope
	raw      bool // fn gets the rest of the line verbatim as args[0]
	min, max int  // argument count; max -1 = any number
	usage    string
	fn       func(p *parser, args []string) error
}

// directives maps a lower-case directive name to its description.
var directives = map[string]*directive{}

func init() {
	for _, d := range slices.Concat(directiveList, securityDirectives, frontDoorDirectives) {
		directives[strings.ToLower(d.name)] = d
	}
}

// maxSeconds keeps a number of seconds convertible to microseconds (httpd's
// apr_time_t) and to a time.Duration without overflow.
const maxSeconds = math.MaxInt64 / int64(time.Second)

// seconds parses a non-negative number of seconds.
func (p *parser) seconds(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, p.fail("%q is too large; the limit is %d seconds", v, maxSeconds)
		}
		return 0, p.fail("%q is not a number of seconds", v)
	}
	if n < 0 {
		return 0, p.fail("%q is negative; give 0 or a positive number of seconds", v)
	}
	if n > maxSeconds {
		return 0, p.fail("%q is too large; the limit is %d seconds", v, maxSeconds)
	}
	return n, nil
}

// integer parses a whole number in [lo, hi].
func (p *parser) integer(v, what string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		if hi == math.MaxInt32 {
			return 0, p.fail("%q is not a valid %s; give a whole number of at least %d", v, what, lo)
		}
		return 0, p.fail("%q is not a valid %s; give a whole number from %d to %d", v, what, lo, hi)
	}
	return n, nil
}

func (p *parser) onOff(v string) (bool, error) {
	switch {
	case strings.EqualFold(v, "on"):
		return true, nil
	case strings.EqualFold(v, "off"):
		return false, nil
	}
	return false, p.fail("%q must be On or Off", v)
}

// path resolves a file path against the current ServerRoot.
func (p *parser) path(v string) string {
	if filepath.IsAbs(v) {
		return filepath.Clean(v)
	}
	return filepath.Join(p.cfg.ServerRoot, v)
}

// cookieName splits a raw-args cookie directive into name and attributes as
// httpd does (apr_strtok on blanks), and checks the name.
func (p *parser) cookieName(raw string, dbd bool) (name, attrs string, err error) {
	name, attrs = firstWord(raw)
	bad := "=&"
	if dbd {
		bad = "=&;"
	}
	switch {
	case name == "":
		return "", "", p.fail("needs a cookie name, e.g. %s session path=/", p.name)
	case strings.ContainsAny(name, bad):
		return "", "", p.fail("cookie name %q must not contain any of %q", name, bad)
	case strings.ContainsAny(name, `"'`):
		return "", "", p.fail("cookie name %q contains a quote; quotes are not processed in this directive, write the name without them", name)
	}
	return name, attrs, nil
}

// fieldName checks a form field name (httpd check_string).
func (p *parser) fieldName(v string) error {
	if v == "" || strings.ContainsAny(v, "=&") {
		return p.fail("form field name %q must be non-empty and must not contain '=' or '&'", v)
	}
	return nil
}

// flag builds an On|Off per-directory directive.
func flag(name string, set func(s *Settings, v bool)) *directive {
	return &directive{name: name, min: 1, max: 1, usage: "On|Off", fn: func(p *parser, a []string) error {
		v, err := p.onOff(a[0])
		if err != nil {
			return err
		}
		p.add(func(st *applyState) { set(st.s, v) })
		return nil
	}}
}

// str builds a one-string per-directory directive.
func str(name, usage string, set func(s *Settings, v string)) *directive {
	return &directive{name: name, min: 1, max: 1, usage: usage, fn: func(p *parser, a []string) error {
		v := a[0]
		p.add(func(st *applyState) { set(st.s, v) })
		return nil
	}}
}

// field builds a form-field-name directive (mod_auth_form).
func field(name string, set func(s *Settings, v string)) *directive {
	d := str(name, "field-name", set)
	inner := d.fn
	d.scope = locationOnly
	d.fn = func(p *parser, a []string) error {
		if err := p.fieldName(a[0]); err != nil {
			return err
		}
		return inner(p, a)
	}
	return d
}

// auth marks a directive as allowed only inside <Location>.
func auth(d *directive) *directive {
	d.scope = locationOnly
	return d
}

var directiveList = []*directive{
	// ---- core and mod_alias, server level ----
	{name: "ServerRoot", scope: serverOnly, min: 1, max: 1, usage: "directory", fn: func(p *parser, a []string) error {
		dir := p.path(a[0])
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return p.fail("%q is not a directory; give an existing folder (relative to %s)", dir, p.cfg.ServerRoot)
		}
		p.cfg.ServerRoot = dir
		return nil
	}},
	{name: "Timeout", scope: serverOnly, min: 1, max: 1, usage: "seconds", fn: func(p *parser, a []string) error {
		n, err := p.seconds(a[0])
		if err != nil {
			return err
		}
		if n == 0 {
			return p.fail("must be at least 1 second")
		}
		p.cfg.Timeout = time.Duration(n) * time.Second
		return nil
	}},
	{name: "Alias", scope: serverOnly, min: 2, max: 2, usage: "URL-path file-path", fn: func(p *parser, a []string) error {
		if !strings.HasPrefix(a[0], "/") {
			return p.fail("%q is not a URL-path; it must start with /", a[0])
		}
		p.cfg.Aliases = append(p.cfg.Aliases, Alias{URLPath: a[0], Path: p.path(a[1])})
		return nil
	}},
	{name: "ScriptAlias", scope: serverOnly, min: 2, max: 2, usage: "URL-path file-path", fn: func(p *parser, a []string) error {
		if !strings.HasPrefix(a[0], "/") {
			return p.fail("%q is not a URL-path; it must start with /", a[0])
		}
		p.cfg.ScriptAliases = append(p.cfg.ScriptAliases, Alias{URLPath: a[0], Path: p.path(a[1])})
		return nil
	}},

	// ---- mod_dbd, server level ----
	{name: "DBDriver", scope: serverOnly, min: 1, max: 1, usage: "pgsql", fn: func(p *parser, a []string) error {
		if a[0] != "pgsql" {
			return p.fail("driver %q is not supported; websession supports only pgsql (PostgreSQL)", a[0])
		}
		p.cfg.DBD.Driver = a[0]
		return nil
	}},
	{name: "DBDParams", scope: serverOnly, min: 1, max: 1, usage: `"conninfo" (quote it when it has blanks)`, fn: func(p *parser, a []string) error {
		p.cfg.DBD.Params = a[0]
		return nil
	}},
	{name: "DBDPrepareSQL", scope: serverOnly, min: 2, max: 2, usage: `"SQL statement" label`, fn: func(p *parser, a []string) error {
		if a[0] == "" || a[1] == "" {
			return p.fail("SQL and label must both be non-empty")
		}
		if _, dup := p.cfg.DBD.PrepareSQL[a[1]]; dup {
			return p.fail("label %q is already defined; give each statement its own label", a[1])
		}
		p.cfg.DBD.PrepareSQL[a[1]] = a[0]
		p.cfg.DBD.PrepareSQLLine[a[1]] = p.line
		return nil
	}},
	{name: "DBDMin", scope: serverOnly, min: 1, max: 1, usage: "number", fn: func(p *parser, a []string) error {
		n, err := p.integer(a[0], "number of connections", 0, math.MaxInt32)
		p.cfg.DBD.Min = int(n)
		return err
	}},
	{name: "DBDKeep", scope: serverOnly, min: 1, max: 1, usage: "number", fn: func(p *parser, a []string) error {
		n, err := p.integer(a[0], "number of connections", 0, math.MaxInt32)
		p.cfg.DBD.Keep = int(n)
		return err
	}},
	{name: "DBDMax", scope: serverOnly, min: 1, max: 1, usage: "number", fn: func(p *parser, a []string) error {
		n, err := p.integer(a[0], "number of connections", 1, math.MaxInt32)
		p.cfg.DBD.Max = int(n)
		return err
	}},
	{name: "DBDExptime", scope: serverOnly, min: 1, max: 1, usage: "seconds", fn: func(p *parser, a []string) error {
		n, err := p.seconds(a[0])
		p.cfg.DBD.Exptime = time.Duration(n) * time.Second
		return err
	}},
	{name: "DBDAutoMigrate", scope: serverOnly, min: 1, max: 1, usage: "On|Off", fn: func(p *parser, a []string) error {
		v, err := p.onOff(a[0])
		p.cfg.DBD.AutoMigrate = v
		return err
	}},
	{name: "DBDCache", scope: serverOnly, min: 1, max: 1, usage: "On|Off", fn: func(p *parser, a []string) error {
		v, err := p.onOff(a[0])
		p.cfg.DBD.CacheOff = !v
		return err
	}},
	{name: "SessionDBDCleanupInterval", scope: serverOnly, min: 1, max: 1, usage: "seconds (0 disables)", fn: func(p *parser, a []string) error {
		n, err := p.seconds(a[0])
		p.cfg.SessionDBDCleanupInterval = time.Duration(n) * time.Second
		return err
	}},
	{name: "SessionCryptoDriver", scope: serverOnly, raw: true, usage: "name [param[=value] ...]", fn: func(p *parser, a []string) error {
		if a[0] == "" {
			return p.fail("needs a driver name, e.g. SessionCryptoDriver openssl (websession ignores it)")
		}
		p.cfg.SessionCryptoDriver = a[0]
		return nil
	}},

	// ---- mod_session ----
	flag("Session", func(s *Settings, v bool) { s.Session.Enabled = v }),
	{name: "SessionMaxAge", min: 1, max: 1, usage: "seconds", fn: func(p *parser, a []string) error {
		n, err := p.seconds(a[0])
		if err != nil {
			return err
		}
		p.add(func(st *applyState) { st.s.Session.MaxAge = n })
		return nil
	}},
	flag("SessionEnv", func(s *Settings, v bool) { s.Session.Env = v }),
	str("SessionHeader", "header-name", func(s *Settings, v string) { s.Session.Header = v }),
	str("SessionInclude", "URL-path-prefix", func(s *Settings, v string) { s.Session.Include = append(s.Session.Include, v) }),
	str("SessionExclude", "URL-path-prefix", func(s *Settings, v string) { s.Session.Exclude = append(s.Session.Exclude, v) }),
	{name: "SessionExpiryUpdateInterval", min: 1, max: 1, usage: "seconds", fn: func(p *parser, a []string) error {
		n, err := p.seconds(a[0])
		if err != nil {
			return err
		}
		p.add(func(st *applyState) { st.s.Session.ExpiryUpdateInterval = n })
		return nil
	}},

	// ---- mod_session_cookie ----
	{name: "SessionCookieName", raw: true, usage: "name [attributes]", fn: func(p *parser, a []string) error {
		n, at, err := p.cookieName(a[0], false)
		if err != nil {
			return err
		}
		p.add(func(st *applyState) { st.s.Cookie.Name, st.s.Cookie.Attrs = n, at })
		return nil
	}},
	{name: "SessionCookieName2", raw: true, usage: "name [attributes]", fn: func(p *parser, a []string) error {
		n, at, err := p.cookieName(a[0], false)
		if err != nil {
			return err
		}
		p.add(func(st *applyState) { st.s.Cookie.Name2, st.s.Cookie.Attrs2 = n, at })
		return nil
	}},
	flag("SessionCookieRemove", func(s *Settings, v bool) { s.Cookie.Remove = v }),
	flag("SessionCookieMaxAge", func(s *Settings, v bool) { s.Cookie.MaxAgeAttr = v }),

	// ---- mod_session_crypto ----
	{name: "SessionCryptoPassphrase", min: 1, max: -1, usage: "secret [secret ...] (or \"exec:program args\")", fn: func(p *parser, a []string) error {
		var list []string
		for _, w := range a {
			pw, err := p.passphrase(w)
			if err != nil {
				return err
			}
			list = append(list, pw)
		}
		if err := p.checkPassphrases(list); err != nil {
			return err
		}
		p.addPassphrases(list)
		return nil
	}},
	{name: "SessionCryptoPassphraseFile", min: 1, max: 1, usage: "file", fn: func(p *parser, a []string) error {
		list, err := p.passphraseFile(p.path(a[0]))
		if err != nil {
			return err
		}
		if err := p.checkPassphrases(list); err != nil {
			return err
		}
		p.addPassphrases(list)
		return nil
	}},
	// websession's own: a first run needs no secret prepared by hand, yet
	// the secret persists across restarts and never lives in the file.
	{name: "SessionCryptoGeneratedPassphraseFile", min: 1, max: 1, usage: "file", fn: func(p *parser, a []string) error {
		path := p.path(a[0])
		if err := p.generatePassphraseFile(path); err != nil {
			return err
		}
		list, err := p.passphraseFile(path)
		if err != nil {
			return err
		}
		p.addPassphrases(list)
		return nil
	}},
	{name: "SessionCryptoCipher", min: 1, max: 1, usage: "aes128|aes192|aes256|3des192", fn: func(p *parser, a []string) error {
		c := strings.ToLower(a[0])
		switch c {
		case "aes128", "aes192", "aes256", "3des192":
		default:
			return p.fail("cipher %q is not known; use one of aes128, aes192, aes256 (default), 3des192", a[0])
		}
		p.add(func(st *applyState) { st.s.Crypto.Cipher = c })
		return nil
	}},

	// ---- mod_session_dbd ----
	{name: "SessionDBDCookieName", raw: true, usage: "name [attributes]", fn: func(p *parser, a []string) error {
		n, at, err := p.cookieName(a[0], true)
		if err != nil {
			return err
		}
		p.add(func(st *applyState) { st.s.DBD.CookieName, st.s.DBD.CookieAttrs = n, at })
		return nil
	}},
	{name: "SessionDBDCookieName2", raw: true, usage: "name [attributes]", fn: func(p *parser, a []string) error {
		n, at, err := p.cookieName(a[0], true)
		if err != nil {
			return err
		}
		p.add(func(st *applyState) { st.s.DBD.CookieName2, st.s.DBD.CookieAttrs2 = n, at })
		return nil
	}},
	flag("SessionDBDCookieRemove", func(s *Settings, v bool) { s.DBD.CookieRemove = v }),
	flag("SessionDBDPerUser", func(s *Settings, v bool) { s.DBD.PerUser = v }),
	str("SessionDBDSelectLabel", "label", func(s *Settings, v string) { s.DBD.SelectLabel = v }),
	str("SessionDBDInsertLabel", "label", func(s *Settings, v string) { s.DBD.InsertLabel = v }),
	str("SessionDBDUpdateLabel", "label", func(s *Settings, v string) { s.DBD.UpdateLabel = v }),
	str("SessionDBDDeleteLabel", "label", func(s *Settings, v string) { s.DBD.DeleteLabel = v }),

	// ---- core: handler and error documents ----
	{name: "SetHandler", min: 1, max: 1, usage: "form-login-handler|form-logout-handler|metrics|none", fn: func(p *parser, a []string) error {
		h := strings.ToLower(a[0])
		switch h {
		case "form-login-handler", "form-logout-handler", "metrics":
		case "none":
			h = ""
		default:
			return p.fail("handler %q is not supported; use form-login-handler, form-logout-handler, metrics or none", a[0])
		}
		p.add(func(st *applyState) { st.s.Handler = h })
		return nil
	}},
	{name: "ErrorDocument", min: 2, max: 2, usage: "status-code /local/path|URL|\"message\"", fn: func(p *parser, a []string) error {
		code, err := strconv.Atoi(a[0])
		if err != nil || code < 400 || code > 599 {
			return p.fail("%q is not an error status code; give 400..599", a[0])
		}
		doc := a[1]
		p.add(func(st *applyState) { st.s.ErrorDocuments[code] = doc })
		return nil
	}},

	// ---- core and mod_auth_form, <Location> only ----
	auth(str("AuthType", "form", func(s *Settings, v string) { s.Auth.Type = v })),
	auth(str("AuthName", "realm", func(s *Settings, v string) { s.Auth.Name = v })),
	auth(&directive{name: "Require", min: 1, max: -1, usage: "valid-user | user NAME... | ip ADDRESS|CIDR...", fn: func(p *parser, a []string) error {
		var r Require
		switch {
		case strings.EqualFold(a[0], "valid-user") && len(a) == 1:
			r.ValidUser = true
		case strings.EqualFold(a[0], "user") && len(a) > 1:
			r.Users = append(r.Users, a[1:]...)
		case strings.EqualFold(a[0], "ip") && len(a) > 1:
			nets, err := p.requireIP(a[1:])
			if err != nil {
				return err
			}
			r.IP = nets
		default:
			return p.fail("%q is not supported; use \"Require valid-user\", \"Require user NAME...\" or \"Require ip ADDRESS...\"", strings.Join(a, " "))
		}
		if r.IP != nil && p.cur.requireUser || r.IP == nil && p.cur.requireIP {
			// httpd would grant either; websession keeps one kind per
			// section so that a list of addresses never silently stands
			// in for a login.
			return p.fail("Require ip and Require user/valid-user in one <Location> are not supported; protect the path with one kind")
		}
		p.cur.requireIP = p.cur.requireIP || r.IP != nil
		p.cur.requireUser = p.cur.requireUser || r.IP == nil
		p.add(func(st *applyState) {
			if st.first("require") {
				st.s.Auth.Require = Require{}
			}
			st.s.Auth.Require.ValidUser = st.s.Auth.Require.ValidUser || r.ValidUser
			st.s.Auth.Require.Users = append(st.s.Auth.Require.Users, r.Users...)
			st.s.Auth.Require.IP = append(st.s.Auth.Require.IP, r.IP...)
		})
		return nil
	}}),
	auth(&directive{name: "AuthFormProvider", min: 1, max: -1, usage: "file|dbd ...", fn: func(p *parser, a []string) error {
		var list []string
		for _, v := range a {
			v = strings.ToLower(v)
			if v != "file" && v != "dbd" {
				return p.fail("provider %q is not supported; use file and/or dbd", v)
			}
			list = append(list, v)
		}
		p.add(func(st *applyState) {
			if st.first("providers") {
				st.s.Auth.Providers = nil
			}
			st.s.Auth.Providers = append(st.s.Auth.Providers, list...)
		})
		return nil
	}}),
	auth(&directive{name: "AuthUserFile", min: 1, max: 1, usage: "file", fn: func(p *parser, a []string) error {
		f := p.path(a[0])
		p.add(func(st *applyState) { st.s.Auth.UserFile = f })
		return nil
	}}),
	auth(str("AuthDBDUserPWQuery", `"SQL query"`, func(s *Settings, v string) { s.Auth.DBDUserPWQuery = v })),
	field("AuthFormUsername", func(s *Settings, v string) { s.Auth.UsernameField = v }),
	field("AuthFormPassword", func(s *Settings, v string) { s.Auth.PasswordField = v }),
	field("AuthFormLocation", func(s *Settings, v string) { s.Auth.LocationField = v }),
	field("AuthFormMethod", func(s *Settings, v string) { s.Auth.MethodField = v }),
	field("AuthFormMimetype", func(s *Settings, v string) { s.Auth.MimetypeField = v }),
	field("AuthFormBody", func(s *Settings, v string) { s.Auth.BodyField = v }),
	auth(&directive{name: "AuthFormSize", min: 1, max: 1, usage: "bytes", fn: func(p *parser, a []string) error {
		n, err := p.integer(a[0], "size in bytes", 1, math.MaxInt32)
		if err != nil {
			return err
		}
		p.add(func(st *applyState) { st.s.Auth.Size = n })
		return nil
	}}),
	auth(str("AuthFormLoginRequiredLocation", "URL", func(s *Settings, v string) { s.Auth.LoginRequiredLocation = v })),
	auth(str("AuthFormLoginSuccessLocation", "URL", func(s *Settings, v string) { s.Auth.LoginSuccessLocation = v })),
	auth(str("AuthFormLogoutLocation", "URL", func(s *Settings, v string) { s.Auth.LogoutLocation = v })),
	auth(flag("AuthFormFakeBasicAuth", func(s *Settings, v bool) { s.Auth.FakeBasicAuth = v })),
	auth(flag("AuthFormDisableNoStore", func(s *Settings, v bool) { s.Auth.DisableNoStore = v })),
	auth(str("AuthFormSitePassphrase", "secret", func(s *Settings, v string) { s.Auth.SitePassphrase = v })),
	auth(flag("AuthFormAuthoritative", func(s *Settings, v bool) { s.Auth.Authoritative = v })),
	auth(flag("AuthFormAllowPlainCookie", func(s *Settings, v bool) { s.Auth.AllowPlainCookie = v })),
	auth(&directive{name: "AuthFormBcryptCost", min: 1, max: 1, usage: "10..31", fn: func(p *parser, a []string) error {
		n, err := p.integer(a[0], "bcrypt cost", 10, 31)
		if err != nil {
			return err
		}
		p.add(func(st *applyState) { st.s.Auth.BcryptCost = int(n) })
		return nil
	}}),
	auth(&directive{name: "AuthFormLoginLifetime", min: 1, max: 1, usage: "seconds (0: no limit)", fn: func(p *parser, a []string) error {
		n, err := p.seconds(a[0])
		if err != nil {
			return err
		}
		p.add(func(st *applyState) { st.s.Auth.LoginLifetime = time.Duration(n) * time.Second })
		return nil
	}}),
	auth(&directive{name: "AuthFormThrottle", min: 1, max: 2, usage: "attempts seconds | Off", fn: func(p *parser, a []string) error {
		var t Throttle
		if len(a) == 1 {
			if !strings.EqualFold(a[0], "off") {
				return p.fail("give attempts and seconds (e.g. AuthFormThrottle 5 60), or Off")
			}
		} else {
			n, err := p.integer(a[0], "number of attempts", 1, math.MaxInt32)
			if err != nil {
				return err
			}
			s, err := p.seconds(a[1])
			if err != nil {
				return err
			}
			if s == 0 {
				return p.fail("the period must be at least 1 second")
			}
			t = Throttle{Attempts: int(n), Window: time.Duration(s) * time.Second}
		}
		p.add(func(st *applyState) { st.s.Auth.Throttle = t })
		return nil
	}}),
}

// securityDirectives are issue 15's: mod_headers' Header and the opt-in
// for credentials written through the SessionHeader.
var securityDirectives = []*directive{
	flag("SessionHeaderAllowCredentials", func(s *Settings, v bool) { s.Session.HeaderAllowCredentials = v }),
	{name: "Header", min: 1, max: -1, usage: "[always] set|append|unset header [value]", fn: func(p *parser, a []string) error {
		r, err := headers.Parse(a)
		if err != nil {
			return p.fail("%v", err)
		}
		p.add(func(st *applyState) { st.s.Headers = append(st.s.Headers, r) })
		return nil
	}},
}

// addPassphrases appends to the section's passphrase list; the first
// passphrase directive of a section replaces the inherited list.
func (p *parser) addPassphrases(list []string) {
	p.add(func(st *applyState) {
		if st.first("passphrases") {
			st.s.Crypto.Passphrases = nil
		}
		st.s.Crypto.Passphrases = append(st.s.Crypto.Passphrases, list...)
	})
}

// ListenAddress checks an address as the Listen directive takes it,
// [address:]port, and returns it as net.Listen wants it: a bare port
// "8080" becomes ":8080", every address, as in httpd.
func ListenAddress(v string) (string, error) {
	addr := v
	if _, err := strconv.Atoi(addr); err == nil {
		addr = ":" + addr
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not [address:]port, e.g. 127.0.0.1:8080 or 8080", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("%q has an invalid port; give 0..65535", v)
	}
	return addr, nil
}
