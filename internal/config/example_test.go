package config_test

import (
	"fmt"
	"log"

	"github.com/websession/websession/internal/config"
)

// parse parses an example configuration with no environment variables.
func parse(src string) *config.Config {
	c, err := config.Parse("example.conf", []byte(src), config.Options{
		Getenv:     func(string) string { return "" },
		ServerRoot: "/srv/web",
	})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// The mod_session basic example: a browser session in a plain cookie,
// written by the application through a response header.
func Example_sessionBasic() {
	c := parse(`
Session On
SessionCookieName session path=/
SessionHeader X-Replace-Session
SessionEnv On
`)
	s := c.Resolve("/anything")
	fmt.Println(s.Session.Enabled, s.Session.Header, s.Session.Env)
	fmt.Printf("cookie %q attrs %q, encrypted: %v\n", s.Cookie.Name, s.Cookie.Attrs, len(s.Crypto.Passphrases) > 0)
	// Output:
	// true X-Replace-Session true
	// cookie "session" attrs "path=/", encrypted: false
}

// An encrypted cookie session with a sliding five-minute expiry; the
// second passphrase only decrypts cookies made before a key rotation.
func Example_encryptedCookie() {
	c := parse(`
Session On
SessionMaxAge 300
SessionCryptoPassphrase secret other
SessionCryptoCipher aes256
SessionCookieName session path=/private;domain=example.com;httponly;secure;
`)
	s := c.Resolve("/private/page")
	fmt.Println(s.Session.MaxAge, s.Crypto.Cipher, s.Crypto.Passphrases)
	fmt.Println(s.Cookie.Attrs)
	// Output:
	// 300 aes256 [secret other]
	// path=/private;domain=example.com;httponly;secure;
}

// Sessions kept in PostgreSQL (mod_session_dbd), keyed by an anonymous
// cookie.
func Example_dbd() {
	c := parse(`
DBDriver pgsql
DBDParams "host=/run/postgresql dbname=web"
DBDPrepareSQL "SELECT value FROM session WHERE key = %s AND (expiry = 0 OR expiry > %lld)" selectsession
DBDMax 20
SessionDBDCleanupInterval 600

Session On
SessionDBDCookieName session path=/
`)
	s := c.Resolve("/")
	fmt.Println(c.DBD.Driver, c.DBD.Params, c.DBD.Max, c.SessionDBDCleanupInterval)
	fmt.Println(s.DBD.CookieName, s.DBD.CookieRemove, s.DBD.SelectLabel)
	// Output:
	// pgsql host=/run/postgresql dbname=web 20 10m0s
	// session true selectsession
}

// The mod_auth_form example: a protected area, a login handler and a
// logout handler sharing one encrypted session cookie.
func Example_formLogin() {
	c := parse(`
Session On
SessionCryptoPassphrase secret
SessionCookieName session path=/

<Location /admin>
	AuthFormProvider file
	AuthUserFile conf/passwd
	AuthType form
	AuthName "/admin"
	AuthFormLoginRequiredLocation "http://example.com/login.html"
	Require valid-user
</Location>
<Location /dologin.html>
	SetHandler form-login-handler
	AuthFormLoginRequiredLocation "http://example.com/login.html"
	AuthFormLoginSuccessLocation "http://example.com/admin/index.html"
	AuthFormProvider file
	AuthUserFile conf/passwd
	AuthType form
	AuthName /admin
</Location>
<Location /logout>
	SetHandler form-logout-handler
	AuthName /admin
	AuthFormLogoutLocation "http://example.com/loggedout.html"
</Location>
`)
	admin := c.Resolve("/admin/index.html")
	fmt.Println(admin.Auth.IsForm(), admin.Auth.Name, admin.Auth.UserFile, admin.Auth.Require.ValidUser)
	login := c.Resolve("/dologin.html")
	fmt.Println(login.Handler, login.Auth.LoginSuccessLocation, login.Auth.UsernameField)
	fmt.Println(c.Resolve("/logout").Handler, c.Locations)
	fmt.Println(len(c.AllSettings()), "distinct settings")
	// Output:
	// true /admin /srv/web/conf/passwd true
	// form-login-handler http://example.com/admin/index.html httpd_username
	// form-logout-handler [/admin /dologin.html /logout]
	// 4 distinct settings
}
