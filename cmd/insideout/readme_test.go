package main

import (
	"os"
	"strings"
	"testing"
)

// README.md opens with two commands: the main job, then the test command;
// CI must run exactly the second. The bug this catches: someone edits one
// and not the other, and CI silently tests something else than what the
// README tells users to run.
func TestCIRunsReadmeCommand(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(readme), "```sh\n")
	if len(blocks) < 3 {
		t.Fatal("README.md does not open with two sh code blocks")
	}
	mainJob := strings.TrimSpace(strings.SplitN(blocks[1], "```", 2)[0])
	if mainJob != "go run ./cmd/insideout verify" {
		t.Fatalf("README's first command is %q, want the main job", mainJob)
	}
	testCmd := strings.TrimSpace(strings.SplitN(blocks[2], "```", 2)[0])
	if !strings.Contains(testCmd, "go test") {
		t.Fatalf("README's second command %q does not run the tests", testCmd)
	}
	var run []string
	for _, line := range strings.Split(string(ci), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "set ") || strings.HasPrefix(line, "cd ") {
			continue
		}
		run = append(run, line)
	}
	if len(run) != 1 || run[0] != testCmd {
		t.Fatalf(".ci/run runs %q, README's test command is %q", run, testCmd)
	}
}
