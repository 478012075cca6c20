//go:build sched

package segment

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// hintRound runs one round under chooser c: two goroutines, both starting
// from the list's first segment, find positions in segments 1 and 3.
// Afterwards the
// hint must point at segment 3, the furthest either found; it returns
// what went wrong, if anything, and the run's result.
//
// The bug it catches: a hint moved by a plain store where a CAS belongs
// (in advance). The goroutine
// finding segment 1 reads the hint at segment 0 and is held; the other
// moves the hint to segment 3; the first then stores segment 1 over it,
// and the hint has moved backwards: every later operation walks again
// from there, and the segments after it cannot be collected.
func hintRound(c seam.Chooser) (string, seam.Result) {
	l := new(List)
	hint, other := new(seam.Pointer[Segment]), new(seam.Pointer[Segment])
	l.InitSpan([2]unsafe.Pointer{fin, fin}, hint, other, 2)
	first := hint.Load()
	res, err := seam.Run(c, func() {
		done := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		for g, pos := range [2]uint64{2, 6} { // segments 1 and 3 of span 2
			seam.Go(func() { l.Find(hint, first, pos); seam.Close(done[g]) })
		}
		seam.Await(done[0])
		seam.Await(done[1])
	}, seam.Options{})
	switch {
	case err != nil:
		return err.Error(), res
	case res.Outcome != seam.Finished:
		return "the round did not finish: " + res.Failure, res
	}
	if id := hint.Load().ID(); id != 3 {
		return fmt.Sprintf("the hint points at segment %d after finds in segments 1 and 3: it moved backwards", id), res
	}
	return "", res
}

// Under every schedule with up to two preemptions, a hint only moves
// forward.
func TestHintNeverMovesBackwardsUnderSchedules(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	e := schedule.DFS{Preemptions: 2}.Explore(0, 0)
	var prev *seam.Result
	runs := 0
	for c := e.Next(nil); c != nil; c = e.Next(prev) {
		why, res := hintRound(c)
		if why != "" {
			t.Fatalf("schedule %d: %s (%d decisions)", runs, why, len(res.Choices))
		}
		prev, runs = &res, runs+1
	}
	if !schedule.Exhausted(e) {
		t.Fatalf("stopped after %d schedules without exhausting the bound", runs)
	}
	if runs < 10 {
		t.Fatalf("only %d schedules explored", runs)
	}
	t.Logf("%d schedules", runs)
}
