package linearize_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
)

// The event-queue campaign on the known-bad event queues of eventqtest:
// each wraps a real impl/eventq queue and breaks one rule of
// spec.EventQueue the way a plausible implementation would, and the
// campaign must catch every one.

// mustCatchEventQueue runs the event-queue campaign on eventqtest's
// known-bad queues with bug, for up to badRounds rounds, and requires a
// failure that want accepts. With noAudit, only the history is checked
// (linearizability against model.EventQ, and the ids' order): the
// concurrent history alone must betray the bug.
func mustCatchEventQueue(t *testing.T, bug eventqtest.Bug, noAudit bool, want func(*linearize.Failure) bool) {
	t.Helper()
	name := bug.String()
	newQueue := func() eventqtest.Queue { return eventqtest.BadQueue(bug) }
	c := eventqtest.Check{Name: name, New: newQueue, Rounds: badRounds, NoAudit: noAudit, ReportDir: t.TempDir()}
	_, sum, err := c.Run(context.Background(), nil)
	var f *linearize.Failure
	if !errors.As(err, &f) {
		t.Fatalf("%s (audit %v): the harness passed a known-bad event queue: %d rounds, %d histories, no failure (%v)", name, !noAudit, sum.Rounds, sum.Histories, err)
	}
	if !want(f) {
		t.Fatalf("%s (audit %v): caught, but not as expected:\n%v", name, !noAudit, err)
	}
	t.Logf("%s (audit %v): caught after %d rounds (seed %#x, round %d)", name, !noAudit, sum.Rounds, f.Seed, f.Round)
}

// illegalHistory accepts a failure whose history porcupine found not
// linearizable, with the visualization written and named.
func illegalHistory(t *testing.T) func(*linearize.Failure) bool {
	return func(f *linearize.Failure) bool {
		if f.Verdict != linearize.Illegal || f.Hung || f.Panic != "" || f.Report == "" {
			return false
		}
		html, err := os.ReadFile(f.Report)
		if err != nil {
			t.Errorf("the report %q was not written: %v", f.Report, err)
			return false
		}
		return strings.Contains(string(html), "<html") && strings.Contains(f.Error(), f.Report)
	}
}

// wrongRound accepts a failure whose history was Illegal or whose audit
// found a problem: either says the round went wrong.
func wrongRound(f *linearize.Failure) bool {
	return f.Verdict == linearize.Illegal || len(f.Problems) > 0
}

// auditFinds accepts a failure whose audit found a problem containing
// each of wants.
func auditFinds(wants ...string) func(*linearize.Failure) bool {
	return func(f *linearize.Failure) bool {
		for _, p := range f.Problems {
			found := true
			for _, w := range wants {
				found = found && strings.Contains(p, w)
			}
			if found {
				return true
			}
		}
		return false
	}
}

// The control: the real queue passes the same campaign, audit and all, so
// the catches below are not the harness failing everything.
func TestHarnessPassesEventQueue(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	eventqtest.Check{Rounds: 300, New: func() eventqtest.Queue { return eventqtest.BadQueue(eventqtest.Correct) }}.Test(t)
}

// The bug: a cancel that races with a firing. Cancel reports true while
// a firing already read by Wait is still handed out afterwards: a firing
// after a successful Cancel. The history alone shows it (a one-shot both
// fired and cancelled, or fired after its Cancel), and the audit too.
func TestHarnessCatchesEventQueueCancelRacingFiring(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchEventQueue(t, eventqtest.CancelRace, true, illegalHistory(t))
	mustCatchEventQueue(t, eventqtest.CancelRace, false, wrongRound)
}

// The bug: a one-shot that can fire twice (EPOLLONESHOT forgotten, the
// registration left armed). The history alone shows it.
func TestHarnessCatchesEventQueueOneShotTwice(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchEventQueue(t, eventqtest.OneShotTwice, true, illegalHistory(t))
	mustCatchEventQueue(t, eventqtest.OneShotTwice, false, wrongRound)
}

// The bug: a lent continuation handed out again before it was handed
// back: two runners could step it at once. The history alone shows it.
func TestHarnessCatchesEventQueueLentHandedOutTwice(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchEventQueue(t, eventqtest.LentTwice, true, illegalHistory(t))
}

// The bug: Close loses an armed continuation. Close is outside the
// model, so the history cannot show it; the audit must.
func TestHarnessCatchesEventQueueCloseThatLoses(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchEventQueue(t, eventqtest.CloseLoses, false, auditFinds("handed back by Close 0"))
}

// The bug: a Rearm that reports success and hands nothing back. The
// history cannot show it (an armed registration need not fire); the
// audit sees an armed registration that Close does not hand back, or an
// armed one, ready, that never fired.
func TestHarnessCatchesEventQueueDeafRearm(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchEventQueue(t, eventqtest.DeafRearm, false, func(f *linearize.Failure) bool {
		return auditFinds("armed true at Close")(f) || auditFinds("lost firing")(f)
	})
}
