package sse

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The exported constants are literals (so that go doc shows values, not
// C names): each must equal its C enum value, and every enum value of the
// header must have one.
func TestConstantsMatchTheHeader(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range abiConstants() {
		if c.value != c.cValue {
			t.Errorf("%s: Go constant %d, C header %d", c.name, c.value, c.cValue)
		}
		seen[c.name] = true
	}
	header, err := os.ReadFile("../../include/sse.h")
	if err != nil {
		t.Fatalf("reading the header: %v", err)
	}
	enums := regexp.MustCompile(`(?m)^\s+(SSE_[A-Z_]+) = \d+,`).FindAllSubmatch(header, -1)
	if len(enums) < 30 {
		t.Fatalf("only %d enum values found in the header", len(enums))
	}
	for _, m := range enums {
		if !seen[string(m[1])] {
			t.Errorf("%s has no Go constant", m[1])
		}
	}
	// Written as literals: an exported constant defined as C.SSE_... shows
	// as that C name in go doc.
	sources, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	cName := regexp.MustCompile(`(?m)^\s+[A-Z]\w*\s+\w+\s*=\s*C\.SSE_\w+`)
	for _, file := range sources {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cName.FindAll(text, -1) {
			t.Errorf("%s: exported constant defined by its C name: %s", file, m)
		}
	}
}
