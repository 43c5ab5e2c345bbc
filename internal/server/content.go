package server

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"os"
	"path/filepath"
	"strings"

	"github.com/websession/websession/internal/authform"
	"github.com/websession/websession/internal/config"
	"github.com/websession/websession/internal/session"
)

// content serves what a location's handler chain ends in when no
// SetHandler applies: ScriptAlias (CGI), Alias (files), then the site.
type content struct {
	cfg      *config.Config
	site     http.Handler
	logger   *slog.Logger
	dirs     []noDirs       // one folder per cfg.Aliases entry
	files    []http.Handler // and its file server
	notFound http.HandlerFunc
}

// newContent serves cfg's aliases and the site; notFound answers a path
// none of them has, and a missing CGI program.
func newContent(cfg *config.Config, site http.Handler, logger *slog.Logger, notFound http.HandlerFunc) *content {
	c := &content{cfg: cfg, site: site, logger: logger, notFound: notFound}
	for _, a := range cfg.Aliases {
		d := noDirs{http.Dir(a.Path)}
		c.dirs = append(c.dirs, d)
		c.files = append(c.files, http.FileServer(d))
	}
	return c
}

func (c *content) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, a := range c.cfg.ScriptAliases {
		if rest, ok := aliasMatch(a.URLPath, r.URL.Path); ok {
			c.cgi(w, r, a, rest)
			return
		}
	}
	for i, a := range c.cfg.Aliases {
		if rest, ok := aliasMatch(a.URLPath, r.URL.Path); ok {
			// A missing file gets the same page as any missing path,
			// not the file server's plain-text one.
			f, err := c.dirs[i].Open("/" + rest)
			if errors.Is(err, fs.ErrNotExist) {
				c.notFound(w, r)
				return
			}
			if err == nil {
				f.Close()
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + rest
			c.files[i].ServeHTTP(w, r2)
			return
		}
	}
	if c.site != nil {
		c.site.ServeHTTP(w, r)
		return
	}
	c.notFound(w, r)
}

// aliasMatch matches a mod_alias URL prefix; rest is what follows it.
func aliasMatch(prefix, urlPath string) (rest string, ok bool) {
	if !strings.HasPrefix(urlPath, prefix) {
		return "", false
	}
	rest = urlPath[len(prefix):]
	if strings.HasSuffix(prefix, "/") {
		return rest, true
	}
	if rest == "" || rest[0] == '/' {
		return strings.TrimPrefix(rest, "/"), true
	}
	return "", false
}

// cgi runs the program named by the first path segment after a
// ScriptAlias prefix, passing the rest as PATH_INFO, and exports the
// session (SessionEnv) and the authenticated user as httpd does.
func (c *content) cgi(w http.ResponseWriter, r *http.Request, a config.Alias, rest string) {
	name, _, _ := strings.Cut(rest, "/")
	if name == "" || name == "." || name == ".." {
		c.notFound(w, r)
		return
	}
	program := filepath.Join(a.Path, name)
	info, err := os.Stat(program)
	if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		c.notFound(w, r)
		return
	}
	root := strings.TrimSuffix(a.URLPath, "/") + "/" + name
	if !strings.HasSuffix(a.URLPath, "/") {
		root = a.URLPath + "/" + name
	}
	h := &cgi.Handler{Path: program, Root: root, Dir: a.Path, Logger: slog.NewLogLogger(c.logger.Handler(), slog.LevelError), Stderr: os.Stderr}
	if env, ok := session.EnvValue(r); ok {
		h.Env = append(h.Env, "HTTP_SESSION="+env)
	}
	if user, ok := authform.User(r); ok {
		h.Env = append(h.Env, "REMOTE_USER="+user, "AUTH_TYPE=form")
	}
	h.ServeHTTP(w, r)
}

// noDirs hides directory listings, as httpd does without Options Indexes.
type noDirs struct{ fs http.FileSystem }

func (n noDirs) Open(name string) (http.File, error) {
	f, err := n.fs.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		if idx, err := n.fs.Open(strings.TrimSuffix(name, "/") + "/index.html"); err == nil {
			idx.Close()
			return f, nil
		}
		f.Close()
		return nil, os.ErrNotExist
	}
	return f, nil
}
