//go:build sched

package schedule_test

import (
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Two goroutines that wait in Until for flags a third sets must not keep
// that third from running under PCT, whatever the priorities: the bug
// this catches is a PCT that passed over a yielding goroutine only once,
// so two spinners of higher priority handed the turn to each other until
// the step limit (pool/two-workers was found that way, by the limit, not
// by its bug).
func TestPCTLetsSpinnersGiveWay(t *testing.T) {
	for seed := range uint64(40) {
		var got [2]bool
		res, err := seam.Run(schedule.PCT{Depth: 3}.Explore(seed, 0).Next(nil), func() {
			var a, b seam.Bool
			var done seam.Int32
			all := make(chan struct{})
			wait := func(i int, flag *seam.Bool) {
				got[i] = seam.Until(flag.Load, time.Hour)
				if done.Add(1) == 2 {
					seam.Close(all)
				}
			}
			seam.Go(func() { wait(0, &a) })
			seam.Go(func() { wait(1, &b) })
			seam.Go(func() {
				a.Store(true)
				b.Store(true)
			})
			seam.Await(all)
		}, seam.Options{MaxSteps: 20_000})
		if err != nil || res.Outcome != seam.Finished || !got[0] || !got[1] {
			t.Fatalf("seed %d: %v %v %s, Until returned %v", seed, err, res.Outcome, res.Failure, got)
		}
	}
}
