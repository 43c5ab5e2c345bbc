package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/websession/websession/internal/ssl"
)

// testOptions never touches the real environment or runs programs.
func testOptions(t *testing.T) Options {
	t.Helper()
	env := map[string]string{"HOME_DIR": "/srv/www", "SECRET": "s3cret", "TWO": "a b"}
	return Options{
		Getenv:     func(k string) string { return env[k] },
		ServerRoot: t.TempDir(),
		Exec: func(argv []string) ([]byte, error) {
			t.Fatalf("unexpected exec %q", argv)
			return nil, nil
		},
	}
}

func mustParse(t *testing.T, src string, opts Options) *Config {
	t.Helper()
	c, err := Parse("site.conf", []byte(src), opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// TestDirectives parses each directive with a good value and checks the
// field it sets in the settings for /x.
func TestDirectives(t *testing.T) {
	loc := func(s string) string { return "<Location /x>\n" + s + "\n</Location>\n" }
	tests := []struct {
		src  string
		get  func(s *Settings) any
		want any
	}{
		{"Session On", func(s *Settings) any { return s.Session.Enabled }, true},
		{"session oFF", func(s *Settings) any { return s.Session.Enabled }, false},
		{"SessionMaxAge 300", func(s *Settings) any { return s.Session.MaxAge }, int64(300)},
		{"SessionMaxAge 0", func(s *Settings) any { return s.Session.MaxAge }, int64(0)},
		{"SessionEnv on", func(s *Settings) any { return s.Session.Env }, true},
		{"SessionHeader X-Replace-Session", func(s *Settings) any { return s.Session.Header }, "X-Replace-Session"},
		{"SessionInclude /a\nSessionInclude /b", func(s *Settings) any { return s.Session.Include }, []string{"/a", "/b"}},
		{"SessionExclude /a/public", func(s *Settings) any { return s.Session.Exclude }, []string{"/a/public"}},
		{"SessionExpiryUpdateInterval 60", func(s *Settings) any { return s.Session.ExpiryUpdateInterval }, int64(60)},
		{"SessionCookieName session path=/private;domain=example.com;httponly;secure;",
			func(s *Settings) any { return [2]string{s.Cookie.Name, s.Cookie.Attrs} },
			[2]string{"session", "path=/private;domain=example.com;httponly;secure;"}},
		{`SessionCookieName s4`, func(s *Settings) any { return [2]string{s.Cookie.Name, s.Cookie.Attrs} }, [2]string{"s4", ""}},
		{`SessionCookieName s "a b" c`, func(s *Settings) any { return s.Cookie.Attrs }, `"a b" c`},
		{"SessionCookieName2 s2 path=/", func(s *Settings) any { return [2]string{s.Cookie.Name2, s.Cookie.Attrs2} }, [2]string{"s2", "path=/"}},
		{"SessionCookieRemove On", func(s *Settings) any { return s.Cookie.Remove }, true},
		{"SessionCookieMaxAge Off", func(s *Settings) any { return s.Cookie.MaxAgeAttr }, false},
		{`SessionCryptoPassphrase secret "other one"`, func(s *Settings) any { return s.Crypto.Passphrases }, []string{"secret", "other one"}},
		{"SessionCryptoPassphrase exec:", func(s *Settings) any { return s.Crypto.Passphrases }, []string{"exec:"}},
		{"SessionCryptoCipher AES128", func(s *Settings) any { return s.Crypto.Cipher }, "aes128"},
		{"SessionCryptoCipher 3des192", func(s *Settings) any { return s.Crypto.Cipher }, "3des192"},
		{"SessionDBDCookieName session path=/", func(s *Settings) any { return [2]string{s.DBD.CookieName, s.DBD.CookieAttrs} }, [2]string{"session", "path=/"}},
		{"SessionDBDCookieName2 session2 path=/", func(s *Settings) any { return [2]string{s.DBD.CookieName2, s.DBD.CookieAttrs2} }, [2]string{"session2", "path=/"}},
		{"SessionDBDCookieRemove Off", func(s *Settings) any { return s.DBD.CookieRemove }, false},
		{"SessionDBDPerUser On", func(s *Settings) any { return s.DBD.PerUser }, true},
		{"SessionDBDSelectLabel s\nSessionDBDInsertLabel i\nSessionDBDUpdateLabel u\nSessionDBDDeleteLabel d",
			func(s *Settings) any {
				return []string{s.DBD.SelectLabel, s.DBD.InsertLabel, s.DBD.UpdateLabel, s.DBD.DeleteLabel}
			},
			[]string{"s", "i", "u", "d"}},
		{"SetHandler form-login-handler", func(s *Settings) any { return s.Handler }, "form-login-handler"},
		{"SetHandler Form-Logout-Handler", func(s *Settings) any { return s.Handler }, "form-logout-handler"},
		{"SetHandler None", func(s *Settings) any { return s.Handler }, ""},
		{"ErrorDocument 401 /login.html", func(s *Settings) any { return s.ErrorDocuments }, map[int]string{401: "/login.html"}},
		{loc("AuthType Form"), func(s *Settings) any { return s.Auth.IsForm() }, true},
		{loc("AuthType Basic"), func(s *Settings) any { return [2]any{s.Auth.Type, s.Auth.IsForm()} }, [2]any{"Basic", false}},
		{loc(`AuthName "/admin area"`), func(s *Settings) any { return s.Auth.Name }, "/admin area"},
		{loc("Require valid-user"), func(s *Settings) any { return s.Auth.Require }, Require{ValidUser: true}},
		{loc("Require user alice bob\nRequire user carol"), func(s *Settings) any { return s.Auth.Require }, Require{Users: []string{"alice", "bob", "carol"}}},
		{loc("AuthFormProvider dbd file"), func(s *Settings) any { return s.Auth.Providers }, []string{"dbd", "file"}},
		{loc("AuthUserFile /etc/passwd.users"), func(s *Settings) any { return s.Auth.UserFile }, "/etc/passwd.users"},
		{loc(`AuthDBDUserPWQuery "SELECT password FROM users WHERE name = %s"`), func(s *Settings) any { return s.Auth.DBDUserPWQuery }, "SELECT password FROM users WHERE name = %s"},
		{loc("AuthFormUsername u\nAuthFormPassword p\nAuthFormLocation l\nAuthFormMethod m\nAuthFormMimetype t\nAuthFormBody b"),
			func(s *Settings) any {
				a := s.Auth
				return []string{a.UsernameField, a.PasswordField, a.LocationField, a.MethodField, a.MimetypeField, a.BodyField}
			}, []string{"u", "p", "l", "m", "t", "b"}},
		{loc("AuthFormSize 1024"), func(s *Settings) any { return s.Auth.Size }, int64(1024)},
		{loc(`AuthFormLoginRequiredLocation "http://example.com/login.html?r=%{REQUEST_URI}"`), func(s *Settings) any { return s.Auth.LoginRequiredLocation }, "http://example.com/login.html?r=%{REQUEST_URI}"},
		{loc("AuthFormLoginSuccessLocation /admin/"), func(s *Settings) any { return s.Auth.LoginSuccessLocation }, "/admin/"},
		{loc("AuthFormLogoutLocation /bye"), func(s *Settings) any { return s.Auth.LogoutLocation }, "/bye"},
		{loc("AuthFormFakeBasicAuth On"), func(s *Settings) any { return s.Auth.FakeBasicAuth }, true},
		{loc("AuthFormDisableNoStore On"), func(s *Settings) any { return s.Auth.DisableNoStore }, true},
		{loc("AuthFormSitePassphrase sitesecret"), func(s *Settings) any { return s.Auth.SitePassphrase }, "sitesecret"},
		{loc("AuthFormAuthoritative Off"), func(s *Settings) any { return s.Auth.Authoritative }, false},
		{loc("AuthFormAllowPlainCookie On"), func(s *Settings) any { return s.Auth.AllowPlainCookie }, true},
		{loc("AuthFormBcryptCost 10"), func(s *Settings) any { return s.Auth.BcryptCost }, 10},
		{loc("AuthFormThrottle 3 120"), func(s *Settings) any { return s.Auth.Throttle }, Throttle{Attempts: 3, Window: 2 * time.Minute}},
		{loc("AuthFormThrottle off"), func(s *Settings) any { return s.Auth.Throttle }, Throttle{}},
		{loc("AuthFormLoginLifetime 43200"), func(s *Settings) any { return s.Auth.LoginLifetime }, 12 * time.Hour},
		{loc(""), func(s *Settings) any { return s.Auth.LoginLifetime }, time.Duration(0)},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.src, "\n", ";"), func(t *testing.T) {
			c := mustParse(t, tt.src, testOptions(t))
			if got := tt.get(c.Resolve("/x")); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, "", testOptions(t))
	s := c.Resolve("/")
	want := defaults()
	if !reflect.DeepEqual(s, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", s, want)
	}
	if c.Listen != "127.0.0.1:8080" || c.Timeout != time.Minute || c.SessionDBDCleanupInterval != 5*time.Minute {
		t.Errorf("server defaults: %+v", c)
	}
	if d := c.DBD; d.Driver != "" || d.Max != 10 || d.Min != 1 || d.Keep != 10 || d.Exptime != 5*time.Minute || d.AutoMigrate || d.CacheOff {
		t.Errorf("DBD defaults: %+v", d)
	}
}

// DBDKeep follows DBDMax unless given, so a loaded pool keeps its
// connections; DBDCache Off turns the read cache off.
func TestDBDPoolAndCache(t *testing.T) {
	for _, tt := range []struct {
		conf     string
		keep     int
		cacheOff bool
	}{
		{"DBDMax 32\n", 32, false},
		{"DBDMax 32\nDBDKeep 4\n", 4, false},
		{"DBDKeep 0\nDBDCache Off\n", 0, true},
		{"DBDCache On\n", 10, false},
	} {
		c := mustParse(t, tt.conf, testOptions(t))
		if c.DBD.Keep != tt.keep || c.DBD.CacheOff != tt.cacheOff {
			t.Errorf("%q: Keep %d CacheOff %v, want %d %v", tt.conf, c.DBD.Keep, c.DBD.CacheOff, tt.keep, tt.cacheOff)
		}
	}
}

func TestServerDirectives(t *testing.T) {
	opts := testOptions(t)
	root := opts.ServerRoot
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, `
Listen 9090
Timeout 30
Alias /static/ static/
ScriptAlias /cgi-bin/ /usr/lib/cgi-bin/
ServerRoot sub
Alias /img img
DBDriver pgsql
DBDParams "host=/tmp dbname=web"
DBDPrepareSQL "SELECT value, expiry FROM session WHERE key = %s" selectsession
DBDMin 0
DBDKeep 4
DBDMax 20
DBDExptime 60
DBDAutoMigrate On
SessionDBDCleanupInterval 0
SessionCryptoDriver openssl engine=x
`, opts)
	want := &Config{
		File:       "site.conf",
		Listen:     ":9090",
		Listeners:  []Listener{{Addr: ":9090", Line: 2}},
		SSL:        SSLConfig{HSTS: ssl.HSTS{MaxAge: ssl.DefaultHSTSMaxAge}},
		ServerRoot: filepath.Join(root, "sub"),
		Timeout:    30 * time.Second,
		Aliases: []Alias{
			{"/static/", filepath.Join(root, "static")},
			{"/img", filepath.Join(root, "sub", "img")},
		},
		ScriptAliases: []Alias{{"/cgi-bin/", "/usr/lib/cgi-bin"}},
		DBD: DBDConfig{
			Driver:         "pgsql",
			Params:         "host=/tmp dbname=web",
			PrepareSQL:     map[string]string{"selectsession": "SELECT value, expiry FROM session WHERE key = %s"},
			PrepareSQLLine: map[string]int{"selectsession": 10},
			Min:            0,
			Keep:           4,
			Max:            20,
			Exptime:        time.Minute,
			AutoMigrate:    true,
		},
		SessionCryptoDriver:       "openssl engine=x",
		SessionDBDCleanupInterval: 0,
	}
	c.Server, c.serverReachable, c.byLen, c.resolved = nil, false, nil, nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if c := mustParse(t, "Listen 10.0.0.1:80 http", testOptions(t)); c.Listen != "10.0.0.1:80" {
		t.Errorf("Listen = %q", c.Listen)
	}
}

// TestErrors checks the exact message for bad uses of each directive.
func TestErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"Bogus 1", `site.conf:1: Bogus: not a directive websession supports (check the spelling; modules other than mod_session*, mod_auth_form, mod_dbd and mod_alias are not implemented)`},
		{"\n\nSession yes", `site.conf:3: Session: "yes" must be On or Off`},
		{"Session", `site.conf:1: Session: takes 1 argument, got 0 (usage: Session On|Off)`},
		{"Session On Off", `site.conf:1: Session: takes 1 argument, got 2 (usage: Session On|Off)`},
		{"SessionMaxAge abc", `site.conf:1: SessionMaxAge: "abc" is not a number of seconds`},
		{"SessionMaxAge -1", `site.conf:1: SessionMaxAge: "-1" is negative; give 0 or a positive number of seconds`},
		{"SessionMaxAge 99999999999999999999", `site.conf:1: SessionMaxAge: "99999999999999999999" is too large; the limit is 9223372036 seconds`},
		{"SessionMaxAge 9223372037", `site.conf:1: SessionMaxAge: "9223372037" is too large; the limit is 9223372036 seconds`},
		{"SessionExpiryUpdateInterval -5", `site.conf:1: SessionExpiryUpdateInterval: "-5" is negative; give 0 or a positive number of seconds`},
		{"SessionEnv maybe", `site.conf:1: SessionEnv: "maybe" must be On or Off`},
		{"SessionHeader", `site.conf:1: SessionHeader: takes 1 argument, got 0 (usage: SessionHeader header-name)`},
		{"SessionCookieName", `site.conf:1: SessionCookieName: needs a cookie name, e.g. SessionCookieName session path=/`},
		{"SessionCookieName a=b path=/", `site.conf:1: SessionCookieName: cookie name "a=b" must not contain any of "=&"`},
		{"SessionCookieName2 a&b", `site.conf:1: SessionCookieName2: cookie name "a&b" must not contain any of "=&"`},
		{`SessionCookieName "session" path=/`, `site.conf:1: SessionCookieName: cookie name "\"session\"" contains a quote; quotes are not processed in this directive, write the name without them`},
		{"SessionDBDCookieName a;b", `site.conf:1: SessionDBDCookieName: cookie name "a;b" must not contain any of "=&;"`},
		{"SessionDBDCookieName2", `site.conf:1: SessionDBDCookieName2: needs a cookie name, e.g. SessionDBDCookieName2 session path=/`},
		{"SessionCookieRemove 1", `site.conf:1: SessionCookieRemove: "1" must be On or Off`},
		{"SessionCryptoPassphrase", `site.conf:1: SessionCryptoPassphrase: takes at least 1 argument, got 0 (usage: SessionCryptoPassphrase secret [secret ...] (or "exec:program args"))`},
		{"SessionCryptoCipher aes512", `site.conf:1: SessionCryptoCipher: cipher "aes512" is not known; use one of aes128, aes192, aes256 (default), 3des192`},
		{"SessionDBDPerUser x", `site.conf:1: SessionDBDPerUser: "x" must be On or Off`},
		{"SetHandler cgi-script", `site.conf:1: SetHandler: handler "cgi-script" is not supported; use form-login-handler, form-logout-handler, metrics or none`},
		{"ErrorDocument 200 /x", `site.conf:1: ErrorDocument: "200" is not an error status code; give 400..599`},
		{"ErrorDocument 401", `site.conf:1: ErrorDocument: takes 2 arguments, got 1 (usage: ErrorDocument status-code /local/path|URL|"message")`},
		{"Listen nowhere", `site.conf:1: Listen: "nowhere" is not [address:]port, e.g. 127.0.0.1:8080 or 8080`},
		{"Listen 1.2.3.4:99999", `site.conf:1: Listen: "1.2.3.4:99999" has an invalid port; give 0..65535`},
		{"Listen 80\nListen 80", `site.conf:2: Listen: :80 is already given on line 1; listen on each address once`},
		{"Listen 443 spdy", `site.conf:1: Listen: protocol "spdy" is not supported; give http or https`},
		{"ServerRoot nothere", `site.conf:1: ServerRoot: "ROOT/nothere" is not a directory; give an existing folder (relative to ROOT)`},
		{"Timeout 0", `site.conf:1: Timeout: must be at least 1 second`},
		{"Timeout x", `site.conf:1: Timeout: "x" is not a number of seconds`},
		{"Alias static /srv", `site.conf:1: Alias: "static" is not a URL-path; it must start with /`},
		{"ScriptAlias /cgi-bin/", `site.conf:1: ScriptAlias: takes 2 arguments, got 1 (usage: ScriptAlias URL-path file-path)`},
		{"DBDriver mysql", `site.conf:1: DBDriver: driver "mysql" is not supported; websession supports only pgsql (PostgreSQL)`},
		{"DBDParams host=a dbname=b", `site.conf:1: DBDParams: takes 1 argument, got 2 (usage: DBDParams "conninfo" (quote it when it has blanks))`},
		{"DBDPrepareSQL \"SELECT 1\" a\nDBDPrepareSQL \"SELECT 2\" a", `site.conf:2: DBDPrepareSQL: label "a" is already defined; give each statement its own label`},
		{"DBDMax 0", `site.conf:1: DBDMax: "0" is not a valid number of connections; give a whole number of at least 1`},
		{"DBDMin -1", `site.conf:1: DBDMin: "-1" is not a valid number of connections; give a whole number of at least 0`},
		{"DBDKeep x", `site.conf:1: DBDKeep: "x" is not a valid number of connections; give a whole number of at least 0`},
		{"DBDExptime -1", `site.conf:1: DBDExptime: "-1" is negative; give 0 or a positive number of seconds`},
		{"DBDAutoMigrate yes", `site.conf:1: DBDAutoMigrate: "yes" must be On or Off`},
		{"DBDCache maybe", `site.conf:1: DBDCache: "maybe" must be On or Off`},
		{"SessionDBDCleanupInterval soon", `site.conf:1: SessionDBDCleanupInterval: "soon" is not a number of seconds`},
		{"SessionCryptoDriver", `site.conf:1: SessionCryptoDriver: needs a driver name, e.g. SessionCryptoDriver openssl (websession ignores it)`},
		// context
		{"<Location /x>\nListen 80\n</Location>", `site.conf:2: Listen: not allowed inside <Location>; move it to the server level, outside any section`},
		{"<Location /x>\nSessionCryptoDriver openssl\n</Location>", `site.conf:2: SessionCryptoDriver: not allowed inside <Location>; move it to the server level, outside any section`},
		{"AuthFormSize 100", `site.conf:1: AuthFormSize: only allowed inside a <Location> section; put it in one, e.g. <Location />`},
		{"AuthType form", `site.conf:1: AuthType: only allowed inside a <Location> section; put it in one, e.g. <Location />`},
		{"Require valid-user", `site.conf:1: Require: only allowed inside a <Location> section; put it in one, e.g. <Location />`},
		// auth, inside a Location starting on line 1
		{"<Location /x>\nRequire all granted", `site.conf:2: Require: "all granted" is not supported; use "Require valid-user", "Require user NAME..." or "Require ip ADDRESS..."`},
		{"<Location /x>\nRequire user", `site.conf:2: Require: "user" is not supported; use "Require valid-user", "Require user NAME..." or "Require ip ADDRESS..."`},
		{"<Location /x>\nRequire valid-user bob", `site.conf:2: Require: "valid-user bob" is not supported; use "Require valid-user", "Require user NAME..." or "Require ip ADDRESS..."`},
		{"<Location /x>\nAuthFormProvider file ldap", `site.conf:2: AuthFormProvider: provider "ldap" is not supported; use file and/or dbd`},
		{"<Location /x>\nAuthFormUsername a=b", `site.conf:2: AuthFormUsername: form field name "a=b" must be non-empty and must not contain '=' or '&'`},
		{"<Location /x>\nAuthFormPassword \"\"", `site.conf:2: AuthFormPassword: form field name "" must be non-empty and must not contain '=' or '&'`},
		{"<Location /x>\nAuthFormBody a&b", `site.conf:2: AuthFormBody: form field name "a&b" must be non-empty and must not contain '=' or '&'`},
		{"<Location /x>\nAuthFormSize 0", `site.conf:2: AuthFormSize: "0" is not a valid size in bytes; give a whole number of at least 1`},
		{"<Location /x>\nAuthFormSize big", `site.conf:2: AuthFormSize: "big" is not a valid size in bytes; give a whole number of at least 1`},
		{"<Location /x>\nAuthFormBcryptCost 9", `site.conf:2: AuthFormBcryptCost: "9" is not a valid bcrypt cost; give a whole number from 10 to 31`},
		{"<Location /x>\nAuthFormBcryptCost 32", `site.conf:2: AuthFormBcryptCost: "32" is not a valid bcrypt cost; give a whole number from 10 to 31`},
		{"<Location /x>\nAuthFormLoginLifetime soon", `site.conf:2: AuthFormLoginLifetime: "soon" is not a number of seconds`},
		{"<Location /x>\nAuthFormThrottle 5", `site.conf:2: AuthFormThrottle: give attempts and seconds (e.g. AuthFormThrottle 5 60), or Off`},
		{"<Location /x>\nAuthFormThrottle 0 60", `site.conf:2: AuthFormThrottle: "0" is not a valid number of attempts; give a whole number of at least 1`},
		{"<Location /x>\nAuthFormThrottle 5 0", `site.conf:2: AuthFormThrottle: the period must be at least 1 second`},
		{"<Location /x>\nAuthFormFakeBasicAuth 2", `site.conf:2: AuthFormFakeBasicAuth: "2" must be On or Off`},
		{"<Location /x>\nAuthFormAllowPlainCookie sure", `site.conf:2: AuthFormAllowPlainCookie: "sure" must be On or Off`},
		{"<Location /x>\nAuthName", `site.conf:2: AuthName: takes 1 argument, got 0 (usage: AuthName realm)`},
		// sections
		{"<Location /x>\nSession On", `site.conf:1: <Location>: section "/x" is never closed; add </Location>`},
		{"</Location>", `site.conf:1: </Location>: no <Location> section is open; remove it or add the opening <Location PATH>`},
		{"<Location /x>\n<Location /y>", `site.conf:2: <Location>: <Location> cannot occur within <Location> section "/x" (line 1); close that one first`},
		{"<Directory /var/www>", `site.conf:1: <Directory>: section not supported; websession reads only <Location PATH> sections`},
		{"<LocationMatch ^/x>", `site.conf:1: <LocationMatch>: section not supported; websession reads only <Location PATH> sections`},
		{"<Location>", `site.conf:1: <Location>: needs a URL-path, e.g. <Location /private/>`},
		{"<Location /x", `site.conf:1: <Location>: missing '>' at the end of the line`},
		{"<Location /x /y>", `site.conf:1: <Location>: takes 1 URL-path, got 2; quote a path containing blanks`},
		{"<Location ~ ^/x>", `site.conf:1: <Location>: "~": regular-expression and wildcard locations are not supported; use a URL-path prefix`},
		{"<Location /x*>", `site.conf:1: <Location>: "/x*": regular-expression and wildcard locations are not supported; use a URL-path prefix`},
		{"<Location x>", `site.conf:1: <Location>: "x" is not a URL-path; it must start with /`},
		{"</Directory>", `site.conf:1: </Directory>: closes a section websession does not support; only </Location> is known`},
		// syntax
		{`SessionHeader "X-Foo`, `site.conf:1: SessionHeader: unterminated quote; close the quoted argument`},
		{"SessionCryptoPassphrase ${NOPE}", `site.conf:1: SessionCryptoPassphrase: ${NOPE} is not defined in the environment; set it, or write the value instead`},
		{"sessionHEADER ${NOPE}", `site.conf:1: SessionHeader: ${NOPE} is not defined in the environment; set it, or write the value instead`},
		{"# c\nSession \\\n  maybe", `site.conf:2: Session: "maybe" must be On or Off`},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.src, "\n", ";"), func(t *testing.T) {
			opts := testOptions(t)
			_, err := Parse("site.conf", []byte(tt.src), opts)
			want := strings.ReplaceAll(tt.want, "ROOT", opts.ServerRoot)
			if err == nil || err.Error() != want {
				t.Errorf("got  %v\nwant %s", err, want)
			}
		})
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  a  b\tc ", []string{"a", "b", "c"}},
		{`"a b" c`, []string{"a b", "c"}},
		{`'a b' c`, []string{"a b", "c"}},
		{`"say \"hi\"" x`, []string{`say "hi"`, "x"}},
		{`"a\b"`, []string{`a\b`}},
		{`don't`, []string{"don't"}},
		{`"a"b`, []string{"a", "b"}},
		{`""`, []string{""}},
		{`new "old one"`, []string{"new", "old one"}},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSyntax(t *testing.T) {
	src := "# a comment\n" +
		"   # an indented comment \\\n" +
		"  continued comment\n" +
		"\n" +
		"SESSION on\r\n" +
		"SessionCryptoPassphrase ${SECRET} \"with ${TWO}\" \\\n" +
		"    third\n" +
		"SessionCookieName \\\n" +
		"  session path=/;\\\n" +
		"httponly\n" +
		"<Location \"/a b\">\n" +
		"  SessionHeader \"X-H\"\n" +
		"</location>\n" +
		"<LOCATION ${HOME_DIR}/>\n" +
		"SessionMaxAge 5\n" +
		"</Location >\n"
	c := mustParse(t, src, testOptions(t))
	s := c.Resolve("/")
	if !s.Session.Enabled {
		t.Error("Session On not read")
	}
	if want := []string{"s3cret", "with a b", "third"}; !reflect.DeepEqual(s.Crypto.Passphrases, want) {
		t.Errorf("passphrases %q, want %q", s.Crypto.Passphrases, want)
	}
	if s.Cookie.Name != "session" || s.Cookie.Attrs != "path=/;httponly" {
		t.Errorf("cookie %q %q", s.Cookie.Name, s.Cookie.Attrs)
	}
	if got := c.Resolve("/a b/c").Session.Header; got != "X-H" {
		t.Errorf("header in quoted location = %q", got)
	}
	if got := c.Resolve("/srv/www/x").Session.MaxAge; got != 5 {
		t.Errorf("maxage in ${VAR} location = %d", got)
	}
	if want := []string{"/a b", "/srv/www/"}; !reflect.DeepEqual(c.Locations, want) {
		t.Errorf("Locations = %q", c.Locations)
	}
}

func TestLocationMatching(t *testing.T) {
	tests := []struct {
		loc, path string
		want      bool
	}{
		{"/private1", "/private1", true},
		{"/private1", "/private1/", true},
		{"/private1", "/private1/file", true},
		{"/private1", "/private1other", false},
		{"/private1", "/private", false},
		{"/private2/", "/private2/", true},
		{"/private2/", "/private2/x", true},
		{"/private2/", "/private2", false},
		{"/", "/", true},
		{"/", "/anything", true},
	}
	for _, tt := range tests {
		if got := matches(tt.loc, tt.path); got != tt.want {
			t.Errorf("matches(%q, %q) = %v", tt.loc, tt.path, got)
		}
	}
	// The same through Resolve.
	c := mustParse(t, "<Location /private1>\nSessionHeader one\n</Location>\n<Location /private2/>\nSessionHeader two\n</Location>", testOptions(t))
	for _, tt := range []struct{ path, want string }{
		{"/private1", "one"}, {"/private1/", "one"}, {"/private1/file", "one"},
		{"/private1other", ""}, {"/private2/", "two"}, {"/private2/x", "two"}, {"/private2", ""}, {"/", ""},
	} {
		if got := c.Resolve(tt.path).Session.Header; got != tt.want {
			t.Errorf("Resolve(%q).Session.Header = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestMerge(t *testing.T) {
	c := mustParse(t, `
Session On
SessionMaxAge 100
SessionInclude /app
SessionCryptoPassphrase base1 base2
SessionCookieName s path=/
ErrorDocument 401 /login
ErrorDocument 403 /forbidden

<Location /app/admin/area>
	SessionMaxAge 3
	SessionCryptoPassphrase deep
</Location>
<Location /app>
	SessionMaxAge 1
	SessionExclude /app/public
	SessionCookieName2 s2
	AuthFormProvider dbd
	Require user alice
</Location>
<Location /app/admin>
	SessionMaxAge 2
	SessionInclude /app/admin
	SessionCryptoPassphrase admin1
	SessionCryptoPassphraseFile keys
	SessionCookieName t
	ErrorDocument 401 /admin-login
	Require valid-user
</Location>
<Location /app>
	SessionEnv On
	SessionMaxAge 11
</Location>
`, func() Options {
		o := testOptions(t)
		if err := os.WriteFile(filepath.Join(o.ServerRoot, "keys"), []byte("admin2\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return o
	}())

	type view struct {
		MaxAge           int64
		Env              bool
		Include, Exclude []string
		Pass             []string
		Cookie           [4]string
		Providers        []string
		Require          Require
		Docs             map[int]string
	}
	get := func(s *Settings) view {
		return view{s.Session.MaxAge, s.Session.Env, s.Session.Include, s.Session.Exclude, s.Crypto.Passphrases,
			[4]string{s.Cookie.Name, s.Cookie.Attrs, s.Cookie.Name2, s.Cookie.Attrs2}, s.Auth.Providers, s.Auth.Require, s.ErrorDocuments}
	}
	base := view{100, false, []string{"/app"}, nil, []string{"base1", "base2"}, [4]string{"s", "path=/", "", ""},
		[]string{"file"}, Require{}, map[int]string{401: "/login", 403: "/forbidden"}}
	app := view{11, true, []string{"/app"}, []string{"/app/public"}, []string{"base1", "base2"}, [4]string{"s", "path=/", "s2", ""},
		[]string{"dbd"}, Require{Users: []string{"alice"}}, map[int]string{401: "/login", 403: "/forbidden"}}
	admin := view{2, true, []string{"/app", "/app/admin"}, []string{"/app/public"}, []string{"admin1", "admin2"}, [4]string{"t", "", "s2", ""},
		[]string{"dbd"}, Require{ValidUser: true}, map[int]string{401: "/admin-login", 403: "/forbidden"}}
	area := admin
	area.MaxAge = 3
	area.Pass = []string{"deep"}

	for _, tt := range []struct {
		path string
		want view
	}{
		{"/", base}, {"/apple", base},
		{"/app", app}, {"/app/x", app},
		{"/app/admin", admin}, {"/app/admin/", admin},
		{"/app/admin/area/x", area},
	} {
		if got := get(c.Resolve(tt.path)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Resolve(%q):\n got %+v\nwant %+v", tt.path, got, tt.want)
		}
	}
	if got := c.Resolve("/app/admin/area").Location; got != "/app/admin/area" {
		t.Errorf("Location = %q", got)
	}

	all := c.AllSettings()
	if len(all) != 4 || all[0] != c.Server || all[1] != c.Resolve("/app/admin/area") || all[2] != c.Resolve("/app") || all[3] != c.Resolve("/app/admin") {
		t.Errorf("AllSettings = %v", all)
	}
}

func TestRootLocationHidesServer(t *testing.T) {
	c := mustParse(t, "<Location />\nSession On\n</Location>", testOptions(t))
	all := c.AllSettings()
	if len(all) != 1 || all[0] != c.Resolve("/anything") || !all[0].Session.Enabled {
		t.Errorf("AllSettings = %+v", all)
	}
}

func TestResolveNoAllocs(t *testing.T) {
	c := mustParse(t, "<Location /a>\nSession On\n</Location>\n<Location /a/b/>\nSession Off\n</Location>", testOptions(t))
	if n := testing.AllocsPerRun(100, func() { c.Resolve("/a/b/c") }); n != 0 {
		t.Errorf("Resolve allocates %v times", n)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				if c.Resolve("/a/x").Session.Enabled != true {
					t.Error("wrong settings")
					return
				}
			}
		})
	}
	wg.Wait()
}

func writeScript(t *testing.T, dir, rel, body string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestExecPassphrase is spec §9 scenario 13, first half, with the real
// os/exec runner.
func TestExecPassphrase(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "bin/key.sh", `[ "$1" = arg ] || exit 3; echo k1; echo k2`)
	writeScript(t, dir, "bin/fail.sh", `echo oops >&2; exit 1`)
	writeScript(t, dir, "bin/quiet.sh", `exit 0`)
	opts := Options{ServerRoot: dir}

	c := mustParse(t, `SessionCryptoPassphrase plain "exec:bin/key.sh arg"`, opts)
	if got, want := c.Server.Crypto.Passphrases, []string{"plain", "k1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("passphrases %q, want %q", got, want)
	}

	for _, tt := range []struct{ src, want string }{
		{`SessionCryptoPassphrase exec:bin/fail.sh`, `site.conf:1: SessionCryptoPassphrase: running "DIR/bin/fail.sh" failed: exit status 1: oops`},
		{`SessionCryptoPassphrase exec:bin/quiet.sh`, `site.conf:1: SessionCryptoPassphrase: "DIR/bin/quiet.sh" printed no passphrase on its first line`},
		{`SessionCryptoPassphrase exec:bin/missing`, `site.conf:1: SessionCryptoPassphrase: running "DIR/bin/missing" failed: fork/exec DIR/bin/missing: no such file or directory`},
		{`SessionCryptoPassphrase "exec:  "`, `site.conf:1: SessionCryptoPassphrase: "exec:  " does not name a program; write "exec:program args"`},
	} {
		_, err := Parse("site.conf", []byte(tt.src), opts)
		want := strings.ReplaceAll(tt.want, "DIR", dir)
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got  %v\n want %s", tt.src, err, want)
		}
	}
}

// TestPassphraseFile is spec §9 scenario 13, second half.
func TestPassphraseFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, "conf", name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("keys", "# comment\nnew \"old one\"\n\n")
	write("more", "a b # not c\n  \n\"exec:bin/key.sh\" d\n")
	write("empty", "# nothing here\n")
	write("bad", "\"open\n")
	writeScript(t, dir, "bin/key.sh", "echo k1; echo k2")
	opts := Options{ServerRoot: dir}

	c := mustParse(t, "SessionCryptoPassphraseFile conf/keys", opts)
	if got, want := c.Server.Crypto.Passphrases, []string{"new", "old one"}; !reflect.DeepEqual(got, want) {
		t.Errorf("passphrases %q, want %q", got, want)
	}
	c = mustParse(t, "SessionCryptoPassphrase first\nSessionCryptoPassphraseFile conf/more", opts)
	if got, want := c.Server.Crypto.Passphrases, []string{"first", "a", "b", "k1", "d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("passphrases %q, want %q", got, want)
	}

	for _, tt := range []struct{ src, want string }{
		{"SessionCryptoPassphraseFile conf/missing", `site.conf:1: SessionCryptoPassphraseFile: cannot read "DIR/conf/missing": no such file or directory`},
		{"SessionCryptoPassphraseFile conf/empty", `site.conf:1: SessionCryptoPassphraseFile: "DIR/conf/empty" holds no passphrase`},
		{"SessionCryptoPassphraseFile conf/bad", `site.conf:1: SessionCryptoPassphraseFile: bad:1: unterminated quote`},
		{"SessionCryptoPassphraseFile conf", `site.conf:1: SessionCryptoPassphraseFile: cannot read "DIR/conf": is a directory`},
	} {
		_, err := Parse("site.conf", []byte(tt.src), opts)
		want := strings.ReplaceAll(tt.want, "DIR", dir)
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got  %v\n want %s", tt.src, err, want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.conf")
	if err := os.WriteFile(path, []byte("AuthUserFile x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, Options{})
	if want := path + ":1: AuthUserFile: only allowed"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v", err)
	}
	if err := os.WriteFile(path, []byte("<Location />\nAuthUserFile users\n</Location>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerRoot != dir || c.Resolve("/").Auth.UserFile != filepath.Join(dir, "users") {
		t.Errorf("ServerRoot %q, UserFile %q", c.ServerRoot, c.Resolve("/").Auth.UserFile)
	}
	_, err = Load(filepath.Join(dir, "nope.conf"), Options{})
	if want := filepath.Join(dir, "nope.conf") + ": cannot read the configuration file: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Session On\nSessionCookieName session path=/\n",
		"<Location /a>\nSessionMaxAge 5\n</Location>\n<Location /a/>\nRequire user a b\n</Location>",
		"SessionCryptoPassphrase a \"b c\" 'd' \"exec:x y\" \\\n e\n# c\n",
		"Listen 8080\nDBDriver pgsql\nDBDPrepareSQL \"SELECT 1\" l\n${X}\n",
		"<Location \"/x y\">\nAuthType form\nAuthFormThrottle 1 2\nErrorDocument 401 \"msg\n</Location>",
	} {
		f.Add(s)
	}
	root := f.TempDir()
	opts := Options{
		Getenv:     func(k string) string { return map[string]string{"X": "Session On"}[k] },
		ServerRoot: root,
		Exec:       func(argv []string) ([]byte, error) { return []byte("k\n"), nil },
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := Parse("fuzz.conf", []byte(src), opts)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.conf:") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		for _, p := range append([]string{"/", "/a", "/a/b"}, c.Locations...) {
			if c.Resolve(p) == nil {
				t.Fatalf("Resolve(%q) = nil", p)
			}
		}
		if len(c.AllSettings()) == 0 {
			t.Fatal("no settings")
		}
	})
}

// TestGeneratedPassphraseFile: the first parse makes a private random
// passphrase, later parses (and a second server) read the same one, and a
// folder that cannot be made is named with what to do.
func TestGeneratedPassphraseFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := Options{ServerRoot: dir}
	first := mustParse(t, "SessionCryptoGeneratedPassphraseFile data/passphrase", opts).Server.Crypto.Passphrases
	if len(first) != 1 || len(first[0]) < 40 {
		t.Fatalf("generated passphrases %q, want one of 256 bits", first)
	}
	again := mustParse(t, "SessionCryptoGeneratedPassphraseFile data/passphrase", opts).Server.Crypto.Passphrases
	if !reflect.DeepEqual(first, again) {
		t.Fatalf("second run read %q, first made %q", again, first)
	}
	for name, want := range map[string]os.FileMode{"data": 0o700 | os.ModeDir, "data/passphrase": 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: %v, %v; want mode %v", name, fi.Mode(), err, want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "data", ".passphrase-*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %q", left)
	}

	// A file where the folder should be stops the folder, even for root.
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Parse("site.conf", []byte("SessionCryptoGeneratedPassphraseFile file/data/passphrase"), opts)
	want := `site.conf:1: SessionCryptoGeneratedPassphraseFile: cannot create the folder "` + filepath.Join(dir, "file", "data") + `"`
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "relative paths resolve against ServerRoot "+dir) {
		t.Fatalf("error %v, want %s... naming ServerRoot", err, want)
	}
}
