package dbd_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/websession/websession/internal/database"
	"github.com/websession/websession/internal/session/dbd"
)

// The manual's configuration
//
//	DBDriver pgsql
//	DBDParams "host=/run/postgresql dbname=web"
//	DBDPrepareSQL "select value from session where key = %s and (expiry = 0 or expiry > %lld)" selectsession
//	DBDPrepareSQL "update session set value = %s, expiry = %lld, key = %s where key = %s" updatesession
//	DBDPrepareSQL "insert into session (value, expiry, key) values (%s, %lld, %s)" insertsession
//	DBDPrepareSQL "delete from session where key = %s" deletesession
//	Session On
//	SessionDBDCookieName session path=/
//
// becomes a Store like this (the statements shown are also the defaults).
func Example() {
	ctx := context.Background()
	db, err := database.Open(ctx, "host=/run/postgresql dbname=web", database.PoolOptions{})
	if err != nil {
		log.Fatal(err)
	}
	store, err := dbd.New(dbd.Options{
		DB:           db,
		CookieName:   "session",
		CookieAttrs:  "path=/",
		CookieRemove: true, // SessionDBDCookieRemove defaults to On
		Statements: dbd.Statements{
			Select: "select value from session where key = %s and (expiry = 0 or expiry > %lld)",
			Update: "update session set value = %s, expiry = %lld, key = %s where key = %s",
			Insert: "insert into session (value, expiry, key) values (%s, %lld, %s)",
			Delete: "delete from session where key = %s",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Prepare(ctx); err != nil { // fail at start-up, not on the first request
		log.Fatal(err)
	}
	go store.RunCleanup(ctx, 10*time.Minute, nil) // httpd leaves this to cron
	// store is the session.Store the session middleware of this location uses.
}

// DBDPrepareSQL statements use apr_dbd placeholders; the store numbers them
// for PostgreSQL.
func ExampleConvertPlaceholders() {
	q, n, err := dbd.ConvertPlaceholders("update session set value = %s, expiry = %lld, key = %s where key = %s")
	fmt.Println(q, n, err)
	// Output: update session set value = $1, expiry = $2, key = $3 where key = $4 4 <nil>
}
