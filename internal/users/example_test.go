package users_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/websession/websession/internal/users"
)

// The file store behind "AuthFormProvider file" and "AuthUserFile
// data/users.htpasswd": created 0600 when missing, readable by Apache's
// mod_authn_file and htpasswd.
func ExampleOpenFile() {
	dir, err := os.MkdirTemp("", "users-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := users.OpenFile(filepath.Join(dir, "data", "users.htpasswd"), users.Options{Cost: users.MinCost})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	ctx := context.Background()
	if err := store.Add(ctx, "alice", "wonderland"); err != nil {
		log.Fatal(err)
	}
	for _, pw := range []string{"wonderland", "wonderland", "looking-glass"} {
		r, err := store.Check(ctx, "alice", pw)
		if err != nil {
			log.Fatal(err) // the file could not be read: a 500, not a 401
		}
		fmt.Println("alice", pw+":", r)
	}
	r, _ := store.Check(ctx, "bob", "wonderland")
	fmt.Println("bob:", r)
	// Output:
	// alice wonderland: granted
	// alice wonderland: granted
	// alice looking-glass: denied
	// bob: not found
}

// Errors from Add and SetPassword carry what to show the user, next to
// the form field it is about.
func ExampleInvalidError() {
	dir, _ := os.MkdirTemp("", "users-example")
	defer os.RemoveAll(dir)
	store, err := users.OpenFile(filepath.Join(dir, "users.htpasswd"), users.Options{Cost: users.MinCost})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()

	for _, try := range []struct{ name, password string }{
		{"alice:admin", "wonderland"},
		{"alice", "short"},
		{"alice", "a passphrase that goes on and on and on, well beyond what bcrypt reads: 80 bytes"},
		{"alice", "wonderland"},
		{"alice", "wonderland"},
	} {
		err := store.Add(ctx, try.name, try.password)
		var inv *users.InvalidError
		switch {
		case errors.As(err, &inv):
			fmt.Printf("%s: %s\n", inv.Field, inv.Message)
		case errors.Is(err, users.ErrExists):
			fmt.Println("name: That name is taken.")
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println("added", try.name)
		}
	}
	// Output:
	// name: The user name cannot contain a colon (:).
	// password: The password is too short: use at least 8 characters.
	// password: The password is too long: at most 72 bytes (bcrypt's limit), this one has 80. Non-ASCII characters take 2 to 4 bytes each.
	// added alice
	// name: That name is taken.
}
