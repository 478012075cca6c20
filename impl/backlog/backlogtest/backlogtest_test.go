package backlogtest_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/backlog/backlogtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
)

func configNames() []string {
	names := make([]string, 0, 3)
	for n := range backlogtest.Configs() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// The backlog of impl/backlog, checked round after round in every
// configuration, and the control, Simple with no bug: both pass, so that
// the known-bads' catches below are their bugs' doing.
func TestBacklogLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, name := range configNames() {
		c := backlogtest.Configs()[name]
		sc := backlogtest.Scenario("backlog-"+name, c, backlogtest.NewBacklog)
		sc.Rounds, sc.ReportDir = 60, t.TempDir()
		sc.Test(t)
		simple := backlogtest.Scenario("backlog-simple-"+name, c, backlogtest.Simple(backlogtest.Correct))
		simple.Rounds, simple.ReportDir = 30, t.TempDir()
		simple.Test(t)
	}
}

// catch runs the scenario of bug's configuration on Simple(bug) free, for
// up to rounds rounds from seed 1, and returns its failure, or an error if
// it found none.
func catch(t *testing.T, bug backlogtest.Bug, rounds int) (*linearize.Failure, error) {
	sc := backlogtest.Scenario("backlog-"+bug.String(), backlogtest.Configs()[bug.Config()], backlogtest.Simple(bug))
	sc.Seed, sc.Rounds, sc.ReportDir = 1, rounds, t.TempDir()
	sc.RoundTimeout = 2 * time.Second
	sum, err := sc.Run()
	var f *linearize.Failure
	if !errors.As(err, &f) {
		return nil, fmt.Errorf("no failure in %d rounds (%v)", sum.Rounds, err)
	}
	return f, nil
}

// Every known-bad backlog fails the free scenario as an Illegal history:
// records lost at Close, accepted after it, swallowed by a write error or
// a drop, or written out of order.
func TestScenarioCatchesKnownBads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, bug := range backlogtest.Bugs() {
		t.Run(bug.String(), func(t *testing.T) {
			f, err := catch(t, bug, 400)
			if err != nil {
				t.Fatalf("%v: %v", bug, err)
			}
			if f.Verdict != linearize.Illegal {
				t.Fatalf("%v: failed, but not as an Illegal history: %v", bug, f)
			}
			line, _, _ := strings.Cut(f.Error(), "\n")
			t.Logf("%v: round %d: %s", bug, f.Round, line)
		})
	}
}

// The bug: a Bug without a name of its own, which would make the
// self-checks' reports ambiguous.
func TestBugNames(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range append([]backlogtest.Bug{backlogtest.Correct}, backlogtest.Bugs()...) {
		name := b.String()
		if name == "" || strings.HasPrefix(name, "Bug(") || seen[name] {
			t.Errorf("bug %d: name %q missing or taken", b, name)
		}
		seen[name] = true
	}
	if len(backlogtest.Bugs()) < 2 {
		t.Fatalf("fewer than two known-bad backlogs")
	}
}
