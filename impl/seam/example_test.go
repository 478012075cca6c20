//go:build sched

package seam_test

import (
	"fmt"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Counter is a user's own type whose shared memory goes through the seam:
// seam.Int64 where it would use atomic.Int64. Its Inc is wrong on
// purpose: a load, then a store.
type Counter struct{ n seam.Int64 }

func (c *Counter) Inc() { c.n.Store(c.n.Load() + 1) }

// Run, in a build with -tags sched, runs two goroutines that increment a
// Counter under a controlled schedule; PCT finds the interleaving that
// loses an increment, and the same choices replay it exactly.
func ExampleRun() {
	body := func(got *int64) func() {
		return func() {
			var c Counter
			var done seam.Int32
			for range 2 {
				seam.Go(func() { c.Inc(); done.Add(1) })
			}
			for done.Load() != 2 {
				seam.Yield()
			}
			*got = c.n.Load()
		}
	}
	for round := range 100 {
		var got int64
		ch := schedule.PCT{Depth: 2}.Explore(1, round).Next(nil)
		res, err := seam.Run(ch, body(&got), seam.Options{})
		if err != nil || got == 2 {
			continue
		}
		var again int64
		rep, _ := seam.Run(&schedule.Replay{Choices: res.Choices}, body(&again), seam.Options{})
		fmt.Printf("lost an increment: %d of 2 survived; the replay ends with %d, same steps: %v\n", got, again, rep.Hash == res.Hash)
		return
	}
	fmt.Println("no schedule lost an increment")
	// Output: lost an increment: 1 of 2 survived; the replay ends with 1, same steps: true
}
