package session

import "testing"

// TestClearKeepsID: a store must still know which row to delete after a
// handler empties the session (logout on a DBD store).
func TestClearKeepsID(t *testing.T) {
	s := New()
	s.ID = "6a1f3c2e-8b4d-4e6f-9a0b-1c2d3e4f5a6b"
	s.Set("a", "1")
	s.Expiry = 5
	s.Clear()
	if s.Len() != 0 || s.Expiry != 0 || !s.Dirty() || s.ID == "" {
		t.Fatalf("after Clear: len %d expiry %d dirty %v id %q", s.Len(), s.Expiry, s.Dirty(), s.ID)
	}
	s.reset()
	if s.ID != "" {
		t.Fatal("reset kept the ID of an expired session")
	}
}
