package sse_test

import (
	"encoding/base64"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libsse.dev/sse"
)

// The shared parser vectors; format in tests/vectors/README.md.
var vectorsFile = filepath.Join("..", "..", "tests", "vectors", "parser_vectors.json")

type vectorItem struct {
	Kind  string `json:"kind"`
	Type  string `json:"type"`
	Data  string `json:"data"`
	ID    string `json:"id"`
	Text  string `json:"text"`
	Value *int64 `json:"value"`
}

type vectorCase struct {
	Name        string       `json:"name"`
	InputB64    string       `json:"input_b64"`
	Items       []vectorItem `json:"items"`
	Retry       *int64       `json:"retry"`
	LastEventID string       `json:"last_event_id"`
}

// chunkings returns the ways a case is fed: whole, one byte at a time
// (inputs up to 64 KiB; 7-byte pieces beyond), and 20 seeded random cuts.
func chunkings(input []byte, seed int64) [][][]byte {
	var out [][][]byte
	out = append(out, [][]byte{input})
	step := 1
	if len(input) > 64*1024 {
		step = 7
	}
	var bytewise [][]byte
	for i := 0; i < len(input); i += step {
		end := i + step
		if end > len(input) {
			end = len(input)
		}
		bytewise = append(bytewise, input[i:end])
	}
	out = append(out, bytewise)
	rng := rand.New(rand.NewSource(seed))
	for r := 0; r < 20; r++ {
		var pieces [][]byte
		rest := input
		for len(rest) > 0 {
			n := 1 + rng.Intn(len(rest))
			if len(input) > 4096 && n > len(rest)/2+1 && rng.Intn(2) == 0 {
				n = len(rest)/2 + 1
			}
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		out = append(out, pieces)
	}
	return out
}

func TestParserVectors(t *testing.T) {
	raw, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatalf("the shared vectors: %v", err)
	}
	var file struct {
		Version int          `json:"version"`
		Cases   []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if file.Version != 1 || len(file.Cases) == 0 {
		t.Fatalf("version %d, %d cases", file.Version, len(file.Cases))
	}
	for ci, tc := range file.Cases {
		input, err := base64.StdEncoding.DecodeString(tc.InputB64)
		if err != nil {
			t.Fatalf("%s: input_b64: %v", tc.Name, err)
		}
		// The C parser reports messages and comments in order, and the
		// retry value only as state: compare items without retry items,
		// then the final retry (README: "if the binding cannot report
		// items in order").
		var want []sse.Item
		for _, it := range tc.Items {
			switch it.Kind {
			case "event":
				want = append(want, sse.Item{Kind: sse.KindMessage, Event: sse.Event{Type: it.Type, Data: it.Data, ID: it.ID}})
			case "comment":
				want = append(want, sse.Item{Kind: sse.KindComment, Comment: it.Text})
			case "retry":
			default:
				t.Fatalf("%s: unknown item kind %q", tc.Name, it.Kind)
			}
		}
		for k, pieces := range chunkings(input, int64(ci)) {
			p := sse.NewParser()
			var got []sse.Item
			for _, piece := range pieces {
				got = append(got, p.FeedItems(piece)...)
			}
			p.Finish()
			got = append(got, p.FeedItems(nil)...)
			how := [...]string{"whole", "bytewise"}[min2(k, 1)]
			if k >= 2 {
				how = "random cuts"
			}
			if !sameItems(got, want) {
				t.Errorf("%s (%s, %d pieces): items differ\n got %s\nwant %s", tc.Name, how, len(pieces), show(got), show(want))
			}
			if id := p.LastEventID(); id != tc.LastEventID {
				t.Errorf("%s (%s): last event id %q, want %q", tc.Name, how, id, tc.LastEventID)
			}
			retry, ok := p.Retry()
			switch {
			case tc.Retry == nil && ok:
				t.Errorf("%s (%s): retry %v, want none", tc.Name, how, retry)
			case tc.Retry != nil && (!ok || retry != time.Duration(*tc.Retry)*time.Millisecond):
				t.Errorf("%s (%s): retry %v (%v), want %d ms", tc.Name, how, retry, ok, *tc.Retry)
			}
			if p.Err() != nil {
				t.Errorf("%s: %v", tc.Name, p.Err())
			}
			p.Close()
			if t.Failed() {
				break
			}
		}
	}
}

func min2(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func sameItems(a, b []sse.Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		// Event.Retry is not compared: the vectors give retry values as
		// items of their own (the final one is checked through Parser.Retry).
		ea, eb := a[i].Event, b[i].Event
		ea.Retry, eb.Retry = 0, 0
		if a[i].Kind != b[i].Kind || ea != eb || a[i].Comment != b[i].Comment {
			return false
		}
	}
	return true
}

func show(items []sse.Item) string {
	var b strings.Builder
	for i, it := range items {
		if i == 8 {
			b.WriteString(" ...")
			break
		}
		s := it.Comment
		if it.Kind == sse.KindMessage {
			s = it.Event.Type + "|" + it.Event.ID + "|" + it.Event.Data
		}
		if len(s) > 60 {
			s = s[:60] + "..."
		}
		b.WriteString(" " + it.Kind.String() + ":" + strings.Trim(jsonQuote(s), ""))
	}
	return b.String()
}

func jsonQuote(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
