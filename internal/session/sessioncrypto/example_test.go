package sessioncrypto_test

import (
	"fmt"
	"log"

	"github.com/websession/websession/internal/session/sessioncrypto"
)

// The configuration
//
//	SessionCryptoPassphrase secret
//
// becomes a Codec with one passphrase and the default cipher, aes256. The
// value below was made by httpd 2.4.71 with that passphrase.
func Example() {
	c, err := sessioncrypto.New([]string{"secret"}, "", sessioncrypto.Options{})
	if err != nil {
		log.Fatal(err)
	}
	plain, err := c.Decrypt("Y2ivqSi0gYUAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH7prq7/uUK7Ohxcf4x2PT3P7ijQ/oK89AQe8ZPtS9kKy")
	fmt.Println(plain, err)

	wire, _ := c.Encrypt(plain) // a cookie value httpd reads back
	again, _ := c.Decrypt(wire)
	fmt.Println(again)
	// Output:
	// user=alice&role=admin <nil>
	// user=alice&role=admin
}

// Rotating passphrases as the manual describes: the new passphrase is put
// first (it encrypts), the old one stays after it (it still decrypts), and
// is removed once every session has been re-saved.
//
//	SessionCryptoPassphrase new old
func Example_rotation() {
	before, _ := sessioncrypto.New([]string{"old"}, "", sessioncrypto.Options{})
	during, _ := sessioncrypto.New([]string{"new", "old"}, "", sessioncrypto.Options{})
	after, _ := sessioncrypto.New([]string{"new"}, "", sessioncrypto.Options{})

	issued, _ := before.Encrypt("user=alice")
	plain, err := during.Decrypt(issued) // an old cookie is still read
	fmt.Println(plain, err)

	reissued, _ := during.Encrypt(plain + "&n=1") // saved again with "new"
	_, err = after.Decrypt(issued)
	fmt.Println("old cookie after rotation:", err)
	plain, err = after.Decrypt(reissued)
	fmt.Println("re-saved cookie after rotation:", plain, err)
	// Output:
	// user=alice <nil>
	// old cookie after rotation: session crypto: value does not decrypt with any passphrase
	// re-saved cookie after rotation: user=alice&n=1 <nil>
}
