package cubbytest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cubby/cubbytest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/spec"
)

// The cubby of impl/cubby, checked round after round, and the control,
// Peterson with no bug: both pass, so that the known-bads' catches below
// are their bugs' doing.
func TestCubbyLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := cubbytest.Scenario("cubby", cubbytest.NewCubby)
	sc.Rounds = 200
	sc.Test(t)
	control := cubbytest.Scenario("cubby-peterson", func() spec.Cubby[cubbytest.Pair] { return cubbytest.Peterson(cubbytest.Correct) })
	control.Rounds = 100
	control.Test(t)
}

// catch runs the scenario free on Peterson(bug), under Go's scheduler,
// with ops calls per client, for up to rounds rounds from seed 1, and
// returns its failure, or an error if it found none.
func catch(t *testing.T, bug cubbytest.Bug, ops, rounds int) (*linearize.Failure, error) {
	sc := cubbytest.Scenario("cubby-"+bug.String(), func() spec.Cubby[cubbytest.Pair] { return cubbytest.Peterson(bug) })
	sc.Seed, sc.Rounds, sc.OpsPerClient, sc.ReportDir = 1, rounds, ops, t.TempDir()
	sc.StuckPatience = 50 * time.Millisecond
	sum, err := sc.Run()
	var f *linearize.Failure
	if !errors.As(err, &f) {
		return nil, fmt.Errorf("no failure in %d rounds", sum.Rounds)
	}
	return f, nil
}

func firstLine(f *linearize.Failure) string {
	if f.Stuck != "" {
		return "stuck: " + f.Stuck
	}
	line, _, _ := strings.Cut(f.Error(), "\n")
	return line
}

// The bug: a Bug without a name of its own, which would make the
// self-checks' reports ambiguous.
func TestBugNames(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range append([]cubbytest.Bug{cubbytest.Correct}, cubbytest.Bugs()...) {
		name := b.String()
		if name == "" || strings.HasPrefix(name, "Bug(") || seen[name] {
			t.Errorf("bug %d: name %q missing or taken", b, name)
		}
		seen[name] = true
	}
	if len(cubbytest.Bugs()) < 2 {
		t.Fatalf("fewer than two known-bad cubbies")
	}
}

// freeCatches reports whether the free scenario is a check that catches b
// at once (in the first rounds, whatever Go's scheduler does). The bugs
// whose window is a reader and a writer meeting at one instruction
// (TurnFirst, WakeLost) it finds only now and then, even with the yield
// inside the window: the controlled scheduler finds them every time
// (sched_test.go in impl/cubby), and the stress suite on one processor.
func freeCatches(b cubbytest.Bug) bool {
	return b == cubbytest.NoTurn || b == cubbytest.NoWant || b == cubbytest.UpdateKeepsVersion
}

// The known-bad cubbies that the free scenario catches fail it the way
// their Bug's comment says: without the turn, the writer and the reader
// wait on each other; without the flags, a Store waits for a reader that is not there
// (or a Load for a writer); an Update that is not counted makes the
// history Illegal.
func TestScenarioCatchesKnownBads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, bug := range cubbytest.Bugs() {
		if !freeCatches(bug) {
			continue
		}
		t.Run(bug.String(), func(t *testing.T) {
			f, err := catch(t, bug, 60, 200)
			if err != nil {
				t.Fatalf("%v: %v", bug, err)
			}
			switch bug {
			case cubbytest.NoTurn:
				if !strings.Contains(f.Stuck, "waiting on each other") {
					t.Fatalf("%v: failed, but not as two calls waiting on each other: %v", bug, f)
				}
			case cubbytest.NoWant:
				if !strings.Contains(f.Stuck, "waiting, with no") {
					t.Fatalf("%v: failed, but not as a call waiting for a party that is not there: %v", bug, f)
				}
			default:
				if f.Verdict != linearize.Illegal {
					t.Fatalf("%v: failed, but not as an Illegal history: %v", bug, f)
				}
			}
			t.Logf("%v: round %d: %s", bug, f.Round, firstLine(f))
		})
	}
}
