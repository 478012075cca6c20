package linearize_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/pool/pooltest"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The bug: a dispatcher that drops the job in hand when disturbed. The
// audit finds a job neither completed, nor left, nor in the mailbox.
func TestHarnessCatchesDispatcherThatDropsAJob(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustFail(t, pooltest.Scenario("drop", pooltest.BadDispatcher(pooltest.DropsOnEnd)), illegal)
}

// The bug: a dispatcher that hides the job in hand from Leftovers. The
// audit finds a job neither completed, nor left, nor in the mailbox, once
// a worker stopped in the middle of one.
func TestHarnessCatchesDispatcherThatHidesItsJob(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustFail(t, pooltest.Scenario("hidden", pooltest.BadDispatcher(pooltest.HidesInFlight)), illegal)
}

// The bug: a dispatcher that runs the last step of a job again after it
// completed. The audit counts it a duplicate (Dup), which no history of a
// pool may show.
func TestHarnessCatchesDispatcherThatStepsAfterDone(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	mustFail(t, pooltest.Scenario("after-done", pooltest.BadDispatcher(pooltest.StepsAfterDone)), illegal)
}
