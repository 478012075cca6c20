package main

import (
	"os"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// run parses its flags and arguments, reports usage errors with status 2
// and input or output errors with status 1, and otherwise wraps the named
// file or standard input onto standard output.
func TestRun(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	golden, err := os.ReadFile("testdata/naur-30.golden")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		args       []string
		stdin      string
		code       int
		stdout     string
		stderrHas  string
		failWrites bool
	}{
		{name: "stdin", args: nil, stdin: "a  b\tc\n", stdout: "a b c\n"},
		{name: "dash", args: []string{"-width", "3", "-"}, stdin: "a b c", stdout: "a b\nc\n"},
		{name: "file", args: []string{"-width", "30", "-cap", "1", "testdata/naur.txt"}, stdout: string(golden)},
		{name: "help", args: []string{"-h"}, stderrHas: "usage: telegram"},
		{name: "zero width", args: []string{"-width", "0"}, code: 2, stderrHas: "-width must be at least 1, got 0"},
		{name: "negative width", args: []string{"-width=-5"}, code: 2, stderrHas: "-width must be at least 1, got -5"},
		{name: "width not a number", args: []string{"-width", "wide"}, code: 2, stderrHas: "invalid value"},
		{name: "zero cap", args: []string{"-cap", "0"}, code: 2, stderrHas: "-cap must be at least 1"},
		{name: "unknown flag", args: []string{"-height", "3"}, code: 2, stderrHas: "flag provided but not defined"},
		{name: "two files", args: []string{"a.txt", "b.txt"}, code: 2, stderrHas: "at most one file"},
		{name: "missing file", args: []string{"testdata/no-such-file.txt"}, code: 1, stderrHas: "no-such-file.txt"},
		{name: "unreadable file", args: []string{"testdata"}, code: 1, stderrHas: "reading input"},
		{name: "write error", args: []string{"testdata/naur.txt"}, code: 1, stderrHas: errBroken.Error(), failWrites: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			var w interface{ Write([]byte) (int, error) } = &stdout
			if c.failWrites {
				w = &failingWriter{room: 10}
			}
			code := run(c.args, strings.NewReader(c.stdin), w, &stderr)
			if code != c.code {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", c.args, code, c.code, stderr.String())
			}
			if !c.failWrites && stdout.String() != c.stdout {
				t.Errorf("run(%q) wrote %q, want %q", c.args, stdout.String(), c.stdout)
			}
			if c.stderrHas == "" && stderr.Len() > 0 {
				t.Errorf("run(%q) reported %q, want nothing", c.args, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.stderrHas) {
				t.Errorf("run(%q) reported %q, want it to mention %q", c.args, stderr.String(), c.stderrHas)
			}
		})
	}
}
