package graph_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README's embedding snippet must stay a verbatim part of
// ExampleSpanBuilder, so that it is compiled and run by go test.
func TestReadmeEmbeddingSnippet(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- embedding-example:[^>]*-->\n```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no embedding example")
	}
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), string(m[1])) {
		t.Errorf("the README embedding snippet is not part of example_test.go:\n%s", m[1])
	}
}
