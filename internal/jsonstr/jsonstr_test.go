package jsonstr

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// text is a random string of the characters that need care in JSON.
func text(r *rand.Rand) string {
	alphabet := []string{"a", "Z", " ", "0", "\"", "\\", "/", "<", ">", "&", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f",
		"é", "日本", "\u2028", "\u2029", "\U0001F600", "\xff", "\xc3", "\xe2\x80", "{", "}", "[", "]", ",", ":", "'", "\ufeff"}
	var b strings.Builder
	for range r.IntN(40) {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// TestAppendMatchesEncodingJSON: Append escapes byte for byte as
// json.Marshal does, on random strings and on every single byte.
func TestAppendMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		s := text(r)
		want, _ := json.Marshal(s)
		if got := Append(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	}
	for c := range 256 {
		s := string([]byte{byte(c)})
		want, _ := json.Marshal(s)
		if got := Append(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("byte %#x: got %s, want %s", c, got, want)
		}
	}
	if got := AppendContent([]byte("x"), `a"b`); string(got) != `xa\"b` {
		t.Errorf("AppendContent appends the inside only: %s", got)
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\u2028<&>", "\xff\xc3", "日本\U0001F600"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := Append(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}

// BenchmarkAppendPrompt escapes a prompt of plain prose with a few
// newlines and quotes, as a request body does.
func BenchmarkAppendPrompt(b *testing.B) {
	s := strings.Repeat("The harbour was quiet at dawn, and the boats came in with the tide.\n\"Fish!\" said the market. ", 16)
	b.SetBytes(int64(len(s)))
	dst := make([]byte, 0, 2*len(s))
	for b.Loop() {
		dst = AppendContent(dst[:0], s)
	}
}

// TestAppendNoHTMLMatchesEncoder: AppendNoHTML escapes byte for byte as an
// Encoder with SetEscapeHTML(false) does.
func TestAppendNoHTMLMatchesEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	check := func(s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := AppendNoHTML(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	}
	for range 20000 {
		check(text(r))
	}
	for c := range 256 {
		check(string([]byte{byte(c)}))
	}
}
