package run

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/needlestorm/needlestorm/corpus"
)

// recordText is a random string of the characters JSON escapes, HTML's
// among them, and invalid UTF-8.
func recordText(r *rand.Rand) string {
	alphabet := []string{"a", "Z", " ", "0", "\"", "\\", "/", "<", ">", "&", "\n", "\r", "\t", "\x00", "\x1f", "\x7f",
		"é", "日本", "\u2028", "\u2029", "\U0001F600", "\xff", "\xc3", "{", "}", ","}
	var b strings.Builder
	for range r.IntN(12) {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// recordFloat is a random float of every magnitude JSON formats apart.
func recordFloat(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return 0
	case 1:
		return float64(r.IntN(200)) / 2
	case 2:
		return r.Float64() * math.Pow(10, float64(r.IntN(50)-25))
	case 3:
		return -r.Float64() * math.Pow(10, float64(r.IntN(50)-25))
	case 4:
		return math.Copysign(0, -1)
	}
	return r.NormFloat64()
}

// fillRandom sets every field of v (a struct, embedded ones included) to a
// random value, or leaves it zero a third of the time, so that every
// omitempty and omitzero is taken both ways.
func fillRandom(r *rand.Rand, v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		if r.IntN(3) == 0 && f.Kind() != reflect.Struct {
			continue
		}
		switch f.Interface().(type) {
		case time.Time:
			zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+30*60), time.FixedZone("y", -7*3600)}
			t := time.Unix(r.Int64N(4e9), r.Int64N(1e9)).In(zones[r.IntN(len(zones))])
			if r.IntN(5) == 0 {
				t = t.Truncate(time.Second) // no fraction: RFC3339Nano drops it
			}
			f.Set(reflect.ValueOf(t))
			continue
		case Seconds:
			f.SetInt(r.Int64N(1<<uint(r.IntN(50))) - r.Int64N(1<<10))
			continue
		case []Seconds:
			gaps := make([]Seconds, r.IntN(20))
			for j := range gaps {
				gaps[j] = Seconds(r.Int64N(1 << uint(r.IntN(40))))
			}
			f.Set(reflect.ValueOf(gaps))
			continue
		case []corpus.Matcher:
			continue // appendJSON leaves records with matchers to encoding/json
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString(recordText(r))
		case reflect.Int, reflect.Int64:
			f.SetInt(r.Int64N(1<<uint(r.IntN(62))) - r.Int64N(1<<20))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Float64:
			f.SetFloat(recordFloat(r))
		case reflect.Slice:
			if f.Type().Elem().Kind() != reflect.String {
				panic("fillRandom: no rule for " + f.Type().String())
			}
			s := reflect.MakeSlice(f.Type(), r.IntN(4), 4) // empty, not nil, at times
			for j := range s.Len() {
				s.Index(j).SetString(recordText(r))
			}
			f.Set(s)
		case reflect.Struct:
			fillRandom(r, f)
		default:
			panic("fillRandom: no rule for " + f.Type().String())
		}
	}
}

// encodeRecord is what encoding/json's Encoder writes for r, as the
// RecordWriter configures it.
func encodeRecord(t testing.TB, r *Record) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRecordJSONMatchesEncoder: for records with every field random (a
// field added to Record and not to appendJSON fails here), appendJSON
// writes byte for byte encoding/json's line, and leaves to it the records
// it cannot write plainly.
func TestRecordJSONMatchesEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for range 20000 {
		var rec Record
		fillRandom(r, reflect.ValueOf(&rec).Elem())
		got, ok := rec.appendJSON([]byte("x"))
		if !ok {
			t.Fatalf("a plain record went to encoding/json: %+v", rec)
		}
		if want := encodeRecord(t, &rec); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("record %+v\n got %s\nwant %s", rec, got, want)
		}
	}
	var zero Record
	if got, _ := zero.appendJSON(nil); !bytes.Equal(got, encodeRecord(t, &zero)) {
		t.Errorf("the zero record: %s, want %s", got, encodeRecord(t, &zero))
	}
	for name, odd := range map[string]func(*Record){
		"matchers":  func(r *Record) { r.Matchers = []corpus.Matcher{{Contains: []string{"x"}}} },
		"NaN depth": func(r *Record) { r.Depth = math.NaN() },
		"year 10000": func(r *Record) {
			r.SentAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		},
		"offset of seconds": func(r *Record) { r.ScheduledAt = time.Unix(0, 0).In(time.FixedZone("s", 30)) },
	} {
		rec := *testRecord(1, "a")
		odd(&rec)
		if b, ok := rec.appendJSON(nil); ok || len(b) != 0 {
			t.Errorf("%s: appendJSON wrote it (%s), want it left to encoding/json", name, b)
		}
	}
}

// TestRecordWriterMatchers: a record left to encoding/json (one with
// matchers) is written and read back like the others.
func TestRecordWriterMatchers(t *testing.T) {
	var buf bytes.Buffer
	w := NewRecordWriter(&buf)
	rec := testRecord(1, "blue")
	rec.Matchers = []corpus.Matcher{{Contains: []string{"blue"}}}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(testRecord(2, "plain")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecords(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0].Matchers) != 1 || got[0].Matchers[0].Contains[0] != "blue" || got[1].Answer != "plain" {
		t.Fatalf("read back %+v", got)
	}
}
