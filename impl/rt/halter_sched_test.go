//go:build sched

package rt_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// controlledRounds runs halterRound under the controlled scheduler,
// strategy's rounds from seed 1, alternating its two races, and returns
// the first failure (with its round), or nil.
func controlledRounds(t *testing.T, mk halterMaker, strategy string, rounds int) error {
	st, err := schedule.Parse(strategy)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rounds {
		var roundErr error
		res, err := seam.Run(st.Explore(1, i).Next(nil), func() {
			roundErr = halterRound(mk, time.Millisecond, i%2 == 0, 1+i/2%8)
		}, seam.Options{})
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if res.Outcome != seam.Finished {
			return fmt.Errorf("round %d: %v: %s", i, res.Outcome, res.Failure)
		}
		if roundErr != nil {
			return fmt.Errorf("round %d: %w", i, roundErr)
		}
	}
	return nil
}

// Under controlled schedules the halter's races (halterRound) are explored
// rather than hoped for: rt's halter passes every round, and each known-bad
// fails: a Stop that lets a halt in flight land after it (badStopNoWait),
// and a halter that reports a halt that found the runtime torn down
// (badTrustingHalter, whose window free runs almost never hit).
func TestScheduleHalterRaces(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, strategy := range []string{"pct:3", "random"} {
		if err := controlledRounds(t, realHalter, strategy, 1000); err != nil {
			t.Fatalf("%s: rt's halter: %v", strategy, err)
		}
		for name, mk := range map[string]halterMaker{"stop-no-wait": badStopNoWait, "trusting": badTrustingHalter} {
			err := controlledRounds(t, mk, strategy, 2000)
			if err == nil {
				t.Fatalf("%s: the known-bad %s halter passed 2000 rounds", strategy, name)
			}
			t.Logf("%s: %s caught: %v", strategy, name, err)
		}
	}
}
