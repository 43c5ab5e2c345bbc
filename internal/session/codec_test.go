package session

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func decoded(encoded string) string {
	s := New()
	Decode(s, encoded)
	return Encode(s)
}

// TestDecodeObserved is the table of decode results httpd 2.4.71 was seen
// to produce (spec §1.3 and §8, CVE-2021-26690).
func TestDecodeObserved(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=", ""},
		{"&=&", ""},
		{"==", ""},
		{"=&a=1", "a=1"},
		{"&&&", ""},
		{"=a", ""},
		{"==a=b", "a=b"},
		{"a==b", "a=%3db"},
		{"a=b=c", "a=b%3dc"},
		{"k=%zz&j=1", "j=1"},
		{"k=%00&j=1", "j=1"},
		{"k=%0&j=1", "j=1"},
		{"k=%&j=1", "j=1"},
		{"k+1=v+1&k%201=x", "k+1=x"},
		{"a=1&a=2", "a=2"},
		{"a=1&a=&b=2", "b=2"},
		{"&&a=1&&", "a=1"},
		{`"a=1"`, "%22a=1%22"},
		{"A=1&a=2&b=3&B=", "A=2"},
		{"a=1&expiry=1795301414392777", "a=1&expiry=1795301414392777"},
		{"%65xpiry=12&a=1", "a=1&expiry=12"},
		{"expiry=junk&a=1", "a=1"},
		{"Expiry=5", "Expiry=5"},
		{"key1=foo&key2=&key3=bar", "key1=foo&key3=bar"},
		{"a=%C3%BC", "a=%c3%bc"},
		{"\xff=\xfe", "%ff=%fe"},
	}
	for _, tt := range tests {
		if got := decoded(tt.in); got != tt.want {
			t.Errorf("decode(%q) re-encoded = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeDoesNotDirty(t *testing.T) {
	s := New()
	Decode(s, "a=1&b=2&a=")
	if s.Dirty() {
		t.Fatal("decoding marked the session dirty")
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abcXYZ019.-*_", "abcXYZ019.-*_"},
		{"a b", "a+b"},
		{"~/:=&+%", "%7e%2f%3a%3d%26%2b%25"},
		{"J\u00fcrgen", "J%c3%bcrgen"},
		{"\x00\x1f\x7f\x80\xff", "%00%1f%7f%80%ff"},
		{"!'()", "%21%27%28%29"},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTableKeysCaseInsensitive(t *testing.T) {
	s := New()
	s.Set("User", "a")
	s.Set("user", "b")
	if v, _ := s.Get("USER"); v != "b" || s.Len() != 1 || s.Keys()[0] != "User" {
		t.Fatalf("got %q, keys %v", v, s.Keys())
	}
	s.Delete("uSeR")
	if s.Len() != 0 {
		t.Fatal("delete missed a key differing in case")
	}
}

func TestEncodeEmptyAndExpiryLast(t *testing.T) {
	s := New()
	if got := Encode(s); got != "" {
		t.Fatalf("empty session encoded as %q", got)
	}
	s.Expiry = 42
	s.Set("a", "1")
	if got := Encode(s); got != "a=1&expiry=42" {
		t.Fatalf("got %q", got)
	}
}

// TestManyEscapedEntries is the CVE-2021-26691 check: many entries made
// only of bytes that need escaping round-trip exactly and have the length
// the escaping arithmetic predicts.
func TestManyEscapedEntries(t *testing.T) {
	s := New()
	want := 0
	for i := 0; i < 120; i++ {
		k := string([]byte{0x80 + byte(i), '/', 0x01})
		v := strings.Repeat("\xfe&=", 3)
		s.Set(k, v)
		want += 3*len(k) + 1 + 3*len(v)
	}
	want += s.Len() - 1
	enc := Encode(s)
	if len(enc) != want {
		t.Fatalf("encoded length %d, want %d", len(enc), want)
	}
	back := New()
	Decode(back, enc)
	if Encode(back) != enc || back.Len() != s.Len() {
		t.Fatal("round trip changed the table")
	}
}

type vectorFile struct {
	Vectors []struct {
		Name            string  `json:"name"`
		Kind            string  `json:"kind"`
		Passphrase      *string `json:"passphrase"`
		CookieValue     string  `json:"cookie_value"`
		ExpectedSession string  `json:"expected_session"`
		XReplace        *string `json:"x_replace_session"`
	} `json:"vectors"`
}

// vectorsFile holds cookies captured from a real Apache httpd 2.4.71; go
// test runs in the package folder, so the path is relative to it.
const vectorsFile = "testdata/apache-session-cookies.json"

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	raw, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	return vf
}

func TestApachePlainVectors(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t).Vectors {
		if v.Kind != "plain" {
			continue
		}
		n++
		if got := decoded(v.CookieValue); got != v.ExpectedSession {
			t.Errorf("%s: cookie decodes and re-encodes to %q, want %q", v.Name, got, v.ExpectedSession)
		}
		if v.XReplace != nil {
			s := New()
			Decode(s, *v.XReplace)
			if got := Encode(s); got != v.ExpectedSession {
				t.Errorf("%s: X-Replace-Session gives %q, Apache wrote %q", v.Name, got, v.ExpectedSession)
			}
		}
	}
	if n == 0 {
		t.Fatal("no plain vectors in " + vectorsFile)
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{"=", "&=&", "==a=b", "a==b", "k=%zz&j=1", "k+1=v+1&k%201=x", "a=1&expiry=99", "%", "a=%", "\x00=\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		once := decoded(in)
		if twice := decoded(once); twice != once {
			t.Fatalf("encode(decode(x)) not stable: %q -> %q -> %q", in, once, twice)
		}
	})
}

func BenchmarkDecodeEncode(b *testing.B) {
	in := "user=alice&role=admin&theme=dark&lang=en-GB&cart=3&last=%2fshop%2fitem%2f42&tz=Europe%2fLondon&flag=1&name=Alice+Liddell&expiry=1795301414392777"
	b.ReportAllocs()
	for b.Loop() {
		s := New()
		Decode(s, in)
		_ = Encode(s)
	}
}

func TestDecodeCountsSkippedPieces(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"a=1&b=2", 0},
		{"&&a=1&&", 0},
		{"a=&b=1", 0},
		{"=&a=1", 1},
		{"==", 1},
		{"k=%zz&j=1", 1},
		{"%zz=1&k=%00&x=\x00", 3},
	}
	for _, tt := range tests {
		if got := Decode(New(), tt.in); got != tt.want {
			t.Errorf("Decode(%q) skipped %d, want %d", tt.in, got, tt.want)
		}
	}
}
