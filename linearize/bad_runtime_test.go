package linearize_test

// The runtime scenario on the known-bad runtimes of rttest: the one
// without bugs (rttest.Correct, built apart from impl/rt) is the control,
// which also shows that the runtime model accepts an implementation other
// than impl/rt; each bug must be caught.

import (
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
)

// mustCatchRuntime runs the runtime scenario on rttest's known-bad
// runtime with bug and requires a failure that want accepts.
func mustCatchRuntime(t *testing.T, bug rttest.Bug, want func(*linearize.Failure) bool) {
	t.Helper()
	sc := rttest.Scenario(bug.String(), func() rttest.Counted { return rttest.BadRuntime(bug) })
	sc.RoundTimeout = time.Second
	sc.Unblock = rttest.Unblock
	mustFail(t, sc, want)
}

func illegal(f *linearize.Failure) bool { return f.Verdict == linearize.Illegal && !f.Hung }

// The control: the locked runtime without bugs passes.
func TestHarnessPassesLockedRuntime(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := rttest.Scenario("locked", func() rttest.Counted { return rttest.BadRuntime(rttest.Correct) })
	sc.Rounds = 300
	sc.Test(t)
}

// The bug: Flags shows the runtime asleep while a step is still in
// progress; the counter then moves under a frozen runtime.
func TestHarnessCatchesFreezeThatLetsAStepRun(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchRuntime(t, rttest.FlagsLie, illegal)
}

// The bug: Eject returns before the step in progress ends, which then
// counts after the continuation was handed out.
func TestHarnessCatchesEjectBeforeTheStepEnds(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchRuntime(t, rttest.EjectsEarly, illegal)
}

// The bug: a Halt that does not wake a frozen runtime. The final Join
// never returns: the harness must report the hang.
func TestHarnessCatchesHaltThatDoesNotWake(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchRuntime(t, rttest.HaltLosesFrozen, func(f *linearize.Failure) bool {
		return f.Hung || f.Stuck != "" || strings.Contains(f.Error(), "join")
	})
}

// The bug: Freeze accepted after the continuation was ejected and the
// runtime thawed, on its way to tear down.
func TestHarnessCatchesFreezeAfterEject(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchRuntime(t, rttest.FreezesAfterEject, func(f *linearize.Failure) bool {
		return f.Verdict == linearize.Illegal || f.Hung
	})
}

// mustCatchGroup runs the links scenario (the runtime campaign's) on
// rttest's known-bad group with bug and requires an Illegal history.
func mustCatchGroup(t *testing.T, bug rttest.LinkBug) {
	t.Helper()
	mustFail(t, rttest.GroupScenario(bug.String(), func() rttest.Group { return rttest.BadGroup(bug) }), illegal)
}

// The control: three impl/rt runtimes, linked, unlinked and signalled,
// pass the links scenario.
func TestHarnessPassesLinkedRuntimes(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := rttest.GroupScenario("links", rttest.NewGroup)
	sc.Rounds = 300
	sc.Test(t)
}

// The bug: a Link that links nothing; a teardown halts no peer.
func TestHarnessCatchesLinkThatDoesNotPropagate(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchGroup(t, rttest.LinkDeaf)
}

// The bug: an Unlink that leaves the link; a teardown still halts the
// runtime unlinked from it.
func TestHarnessCatchesUnlinkThatStillPropagates(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchGroup(t, rttest.UnlinkIgnored)
}

// The bug: a failure passed on as no error: the peer of a canceled
// runtime joins with nil.
func TestHarnessCatchesLinkedFailureLost(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchGroup(t, rttest.LinkedErrorLost)
}

// The bug: SIGTERM's default action (a halt) not applied.
func TestHarnessCatchesSignalIgnored(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchGroup(t, rttest.SignalIgnored)
}

// The bug: a halter whose Stop does not wait for the halt in flight: it
// reports sparing the runtime, and the halt lands after.
func TestHarnessCatchesHalterThatDoesNotWait(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchGroup(t, rttest.HalterStopNoWait)
}

// The bug: a halter that reports its halt without asking whether it took
// effect (the runtime halted already).
func TestHarnessCatchesHalterThatTrustsItsTimeout(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustCatchGroup(t, rttest.HalterTrusting)
}
