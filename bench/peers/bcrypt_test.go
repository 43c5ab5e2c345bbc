package main

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// BenchmarkBcrypt10 times one comparison at cost 10, what every cold login
// of bench/run.sh's row 6a spends: its ceiling is cores / this time.
func BenchmarkBcrypt10(b *testing.B) {
	h, err := bcrypt.GenerateFromPassword([]byte("wonderland1"), 10)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		bcrypt.CompareHashAndPassword(h, []byte("wonderland1"))
	}
}
