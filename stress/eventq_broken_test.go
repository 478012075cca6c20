package stress

import (
	"strings"
	"testing"

	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The checks of the storm must be able to fail: each known-bad queue of
// eventqtest below wraps a real one and gets one rule wrong, and a storm
// must report it.
func TestEventQueueStormCatchesBrokenQueues(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct {
		bug  eventqtest.Bug
		want string // in a problem
	}{
		// A cancel that races a firing: true, yet the firing read goes out.
		{eventqtest.CancelRace, "cancelled 1"},
		// Close loses an armed continuation.
		{eventqtest.CloseLoses, "handed back by Close 0"},
		// Register leaks a duplicate of its fd.
		{eventqtest.LeaksFd, "fds open before the storm"},
	} {
		t.Run(c.bug.String(), func(t *testing.T) {
			t.Cleanup(eventqtest.CloseLeaked)
			seed := resolveSeed(t)
			for storm := range 20 {
				for _, p := range eqStorm(t, seed, storm, func() eventqtest.Queue { return eventqtest.BadQueue(c.bug) }) {
					if strings.Contains(p, c.want) {
						t.Logf("caught in storm %d: %s", storm, p)
						return
					}
				}
			}
			t.Fatalf("20 storms passed a queue with bug %s", c.bug)
		})
	}
}
