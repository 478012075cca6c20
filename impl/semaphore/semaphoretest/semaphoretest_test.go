package semaphoretest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/semaphore/semaphoretest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/spec"
)

// The semaphores of impl/semaphore (in order and barging), checked round
// after round at capacities 1 and 2, and the control, Locked with no bug:
// all pass, so that the known-bads' catches below are their bugs' doing.
func TestSemaphoreLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, n := range []int{1, 2} {
		for _, s := range semaphoretest.Semaphores {
			sc := semaphoretest.Scenario("semaphore-"+s.Name, n, s.New)
			sc.Rounds = 80
			sc.Test(t)
		}
		locked := semaphoretest.Scenario("semaphore-locked", n, func(n int) spec.Semaphore {
			return semaphoretest.Locked(n, semaphoretest.Correct)
		})
		locked.Rounds = 40
		locked.Test(t)
	}
}

// catch runs the scenario on Locked(n, bug) free, under Go's scheduler,
// for up to rounds rounds from seed 1, and returns its failure, or an
// error if it found none.
func catch(t *testing.T, bug semaphoretest.Bug, n, rounds int) (*linearize.Failure, error) {
	sc := semaphoretest.Scenario("semaphore-"+bug.String(), n, func(n int) spec.Semaphore { return semaphoretest.Locked(n, bug) })
	sc.Seed, sc.Rounds, sc.ReportDir = 1, rounds, t.TempDir()
	sc.StuckPatience = 50 * time.Millisecond
	sum, err := sc.Run()
	var f *linearize.Failure
	if !errors.As(err, &f) {
		return nil, fmt.Errorf("no failure in %d rounds", sum.Rounds)
	}
	return f, nil
}

// Every known-bad semaphore fails the free scenario, and fails it the way
// its Bug's comment says: a lost wake-up and a Release that wakes nobody
// as a call stuck beside a free permit (Stuck), two holders of one permit,
// a lost permit and a racy TryAcquire as an Illegal history (or, for the
// lost permits, a round that cannot end).
func TestScenarioCatchesKnownBads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, bug := range semaphoretest.Bugs() {
		if !bug.Scenario() {
			continue // LIFO: TestFIFO's (impl/semaphore); OverRelease, DoKeeps: the fuzz target's
		}
		t.Run(bug.String(), func(t *testing.T) {
			n := 1
			if bug == semaphoretest.WakesTwo || bug == semaphoretest.RacyTry {
				n = 2
			}
			f, err := catch(t, bug, n, 400)
			if err != nil {
				t.Fatalf("%v: %v", bug, err)
			}
			switch bug {
			case semaphoretest.LostWakeup, semaphoretest.WakesNone:
				if !strings.Contains(f.Stuck, "permits free") {
					t.Fatalf("%v: failed, but not as a stuck acquire: %v", bug, f)
				}
			case semaphoretest.CutShortLeaks:
				if !strings.Contains(f.Stuck, "permits lost") {
					t.Fatalf("%v: failed, but not as permits lost: %v", bug, f)
				}
			case semaphoretest.RacyTry:
				// Its late write may also make a permit that no sleeper is
				// woken for.
				if f.Verdict != linearize.Illegal && !strings.Contains(f.Stuck, "permits") {
					t.Fatalf("%v: failed, but neither as an Illegal history nor a stuck acquire: %v", bug, f)
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
	for _, b := range append([]semaphoretest.Bug{semaphoretest.Correct}, semaphoretest.Bugs()...) {
		name := b.String()
		if name == "" || strings.HasPrefix(name, "Bug(") || seen[name] {
			t.Errorf("bug %d: name %q missing or taken", b, name)
		}
		seen[name] = true
	}
	if len(semaphoretest.Bugs()) < 2 {
		t.Fatalf("fewer than two known-bad semaphores")
	}
}
