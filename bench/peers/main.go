// Command peers serves bench/run.sh's page the way a Go developer would
// without websession, so the benchmark can set websession beside what it
// competes with on the same machine in the same run:
//
//	ceiling            bare net/http file server, no session
//	gorilla-signed     gorilla/sessions CookieStore, HMAC-signed, saved on
//	                   every request (a sliding MaxAge, like SessionMaxAge)
//	gorilla-encrypted  the same, signed and AES-encrypted
//	scs-pg             alexedwards/scs with its PostgreSQL store, unchanged
//	scs-pg-idle        the same with IdleTimeout: the row is written on every request
//	letsgo             the "Let's Go" protected page: an scs PostgreSQL session
//	                   holding the user id, plus a check that the user still
//	                   exists; POST /login is its bcrypt login
//
// Every mode serves GET /p/<file> from -www; GET /seed starts a session (its
// Set-Cookie is what the benchmark sends). It lives in a module of its own
// so that websession does not depend on its peers.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/sessions"
	_ "github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"
)

// seedValues are the six values websession's plain-cookie scenario carries.
var seedValues = map[string]string{
	"user": "alice", "role": "admin", "theme": "dark", "lang": "en-GB", "cart": "3", "last": "/shop/item/42",
}

func main() {
	mode := flag.String("mode", "ceiling", "which peer to serve (see the package comment)")
	addr := flag.String("addr", "127.0.0.1:18082", "listen address")
	www := flag.String("www", ".", "folder served under /p/")
	dsn := flag.String("dsn", "", "PostgreSQL conninfo for the scs and letsgo modes")
	maxConns := flag.Int("db-max", 32, "PostgreSQL connections at most (kept idle too)")
	flag.Parse()
	h, err := handler(*mode, http.StripPrefix("/p/", http.FileServer(http.Dir(*www))), *dsn, *maxConns)
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(2)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	log.Fatal(srv.ListenAndServe())
}

func handler(mode string, files http.Handler, dsn string, maxConns int) (http.Handler, error) {
	mux := http.NewServeMux()
	switch mode {
	case "ceiling":
		mux.Handle("/p/", files)
		return mux, nil
	case "gorilla-signed", "gorilla-encrypted":
		keys := [][]byte{[]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")}
		if mode == "gorilla-encrypted" {
			keys = append(keys, []byte("0123456789abcdef0123456789abcdef")) // AES-256
		}
		store := sessions.NewCookieStore(keys...)
		store.Options.HttpOnly = true
		store.MaxAge(3600)
		mux.HandleFunc("/seed", func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.New(r, "session")
			for k, v := range seedValues {
				s.Values[k] = v
			}
			if err := s.Save(r, w); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
		mux.Handle("/p/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "session")
			if err != nil || s.Values["user"] == nil {
				http.Error(w, "no session", http.StatusForbidden)
				return
			}
			// The same work as SessionMaxAge in the other servers: the
			// expiry slides, so every response carries a new cookie.
			if err := s.Save(r, w); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			files.ServeHTTP(w, r)
		}))
		return mux, nil
	}

	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions (expiry)`,
		`CREATE TABLE IF NOT EXISTS letsgo_users (id SERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, hashed_password TEXT NOT NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			return nil, err
		}
	}
	sm := scs.New()
	sm.Store = postgresstore.New(db)
	sm.Lifetime = time.Hour
	switch mode {
	case "scs-pg", "scs-pg-idle":
		if mode == "scs-pg-idle" {
			sm.IdleTimeout = 30 * time.Minute
		}
		mux.HandleFunc("/seed", func(w http.ResponseWriter, r *http.Request) {
			for k, v := range seedValues {
				sm.Put(r.Context(), k, v)
			}
		})
		mux.Handle("/p/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if sm.GetString(r.Context(), "user") == "" {
				http.Error(w, "no session", http.StatusForbidden)
				return
			}
			files.ServeHTTP(w, r)
		}))
		return sm.LoadAndSave(mux), nil
	case "letsgo":
		app := &letsGo{db: db, sm: sm}
		mux.HandleFunc("/seed", func(w http.ResponseWriter, r *http.Request) {
			var id int
			if err := db.QueryRow(`SELECT id FROM letsgo_users ORDER BY id LIMIT 1`).Scan(&id); err != nil {
				http.Error(w, "no user: "+err.Error(), http.StatusInternalServerError)
				return
			}
			sm.Put(r.Context(), "authenticatedUserID", id)
		})
		mux.HandleFunc("POST /login", app.login)
		mux.Handle("/p/", app.requireAuthentication(files))
		return sm.LoadAndSave(app.authenticate(mux)), nil
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}

// letsGo is the book's pattern: authenticate looks the session's user id
// up on every request, requireAuthentication redirects when it is gone.
type letsGo struct {
	db *sql.DB
	sm *scs.SessionManager
}

type ctxKey struct{}

func (a *letsGo) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := a.sm.GetInt(r.Context(), "authenticatedUserID")
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		var exists bool
		if err := a.db.QueryRowContext(r.Context(), `SELECT EXISTS(SELECT true FROM letsgo_users WHERE id = $1)`, id).Scan(&exists); err != nil {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		if exists {
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, true))
		}
		next.ServeHTTP(w, r)
	})
}

func (a *letsGo) requireAuthentication(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, _ := r.Context().Value(ctxKey{}).(bool); !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		w.Header().Add("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// login is the book's userLoginPost with the Authenticate model method.
func (a *letsGo) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	var id int
	var hash []byte
	err := a.db.QueryRowContext(r.Context(), `SELECT id, hashed_password FROM letsgo_users WHERE email = $1`, r.PostForm.Get("email")).Scan(&id, &hash)
	if err == nil {
		err = bcrypt.CompareHashAndPassword(hash, []byte(r.PostForm.Get("password")))
	}
	switch {
	case errors.Is(err, sql.ErrNoRows), errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		http.Error(w, "Email or password is incorrect", http.StatusUnprocessableEntity)
		return
	case err != nil:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	if err := a.sm.RenewToken(r.Context()); err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	a.sm.Put(r.Context(), "authenticatedUserID", id)
	http.Redirect(w, r, "/p/hello.txt", http.StatusSeeOther)
}
