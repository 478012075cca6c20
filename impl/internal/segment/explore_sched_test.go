//go:build sched

package segment

import (
	"fmt"
	"testing"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// exploreAll runs round under every schedule with up to two preemptions
// (at most 100,000 of them), failing t at the first that goes wrong, or
// if the bound was not exhausted, and says how many there were.
func exploreAll(t *testing.T, round func(seam.Chooser) (string, seam.Result)) {
	t.Helper()
	testdeadline.Guard(t, testdeadline.Default)
	e := schedule.DFS{Preemptions: 2, Limit: 100_000}.Explore(0, 0)
	var prev *seam.Result
	runs := 0
	for c := e.Next(nil); c != nil; c = e.Next(prev) {
		why, res := round(c)
		if why != "" {
			t.Fatalf("schedule %d: %s (%d decisions)", runs, why, len(res.Choices))
		}
		prev, runs = &res, runs+1
	}
	if !schedule.Exhausted(e) {
		t.Fatalf("stopped after %d schedules without exhausting the bound", runs)
	}
	t.Logf("%d schedules", runs)
}

// runBoth runs a and b as two goroutines under c, each guarded so that a
// panic is reported rather than crashing the test binary, and returns
// what went wrong with the run itself, if anything.
func runBoth(c seam.Chooser, a, b func()) (string, seam.Result) {
	var panicked string
	guard := func(f func(), done chan struct{}) func() {
		return func() {
			defer seam.Close(done)
			defer func() {
				if r := recover(); r != nil {
					panicked = fmt.Sprint(r)
				}
			}()
			f()
		}
	}
	res, err := seam.Run(c, func() {
		da, db := make(chan struct{}), make(chan struct{})
		seam.Go(guard(a, da))
		seam.Go(guard(b, db))
		seam.Await(da)
		seam.Await(db)
	}, seam.Options{MaxSteps: 4000, Fair: 1 << 30})
	switch {
	case err != nil:
		return err.Error(), res
	case panicked != "":
		return "panic: " + panicked, res
	case res.Outcome != seam.Finished:
		return "the round did not finish: " + res.Failure, res
	}
	return "", res
}
