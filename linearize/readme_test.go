package linearize_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// README.md's "Verify your own primitive" quotes ExampleScenario: each of
// its Go blocks must be a run of lines of example_test.go, which the tests
// compile and run. The bug this catches: a README example that no longer
// compiles, or shows an API that is gone (as the one before typed
// scenarios did).
func TestReadmeQuotesExampleScenario(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Verify your own primitive")
	if !ok {
		t.Fatal(`README.md has no "## Verify your own primitive" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := strings.Split(section, "```go\n")[1:]
	if len(blocks) == 0 {
		t.Fatal("the section quotes no Go code")
	}
	source := trimmedLines(string(example))
	for i, b := range blocks {
		code, _, _ := strings.Cut(b, "```")
		quoted := trimmedLines(code)
		if !containsRun(source, quoted) {
			t.Errorf("Go block %d of the section is not a run of lines of linearize/example_test.go:\n%s", i+1, code)
		}
	}
}

// trimmedLines returns the non-blank lines of s, trimmed.
func trimmedLines(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// containsRun reports whether run occurs in lines, contiguous.
func containsRun(lines, run []string) bool {
	for i := 0; i+len(run) <= len(lines); i++ {
		if slices.Equal(lines[i:i+len(run)], run) {
			return true
		}
	}
	return false
}
