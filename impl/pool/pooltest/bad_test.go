package pooltest_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/pool/pooltest"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The control of the known-bad dispatchers: the plain waiter without bugs
// passes the pool scenario, so that the catches of its bugs (package
// linearize's harness tests, the stress suite's pool storm) are not the
// scenario failing every waiter but pool.Waiter. (Its control in the
// continuation campaign is linearize's TestHarnessPassesPlainContDispatcher.)
func TestBadDispatcherCorrectPasses(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := pooltest.Scenario("plain-waiter", pooltest.BadDispatcher(pooltest.Correct))
	sc.Rounds = 100
	sc.Test(t)
}

// Every bug has a name, and a bug out of range is refused. The bug:
// BadDispatcher returning a correct dispatcher for a bug it does not
// know, so that a self-check passes vacuously.
func TestBadDispatcherNames(t *testing.T) {
	for bug, want := range []string{"correct", "drop-on-end", "hidden-in-flight", "step-after-done",
		"step-after-move", "drop-returning", "two-workers", "Bug(7)"} {
		if got := pooltest.Bug(bug).String(); got != want {
			t.Errorf("Bug(%d) is named %q, want %q", bug, got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("BadDispatcher(200) did not panic")
		}
	}()
	pooltest.BadDispatcher(200)
}
