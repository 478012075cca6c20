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

// frontRound runs one round under chooser c, on a list of one-position
// segments: positions 0 and 1 are done with (final), position 2 is claimed
// by a goroutine that loaded its start segment (segment 0) long ago, and
// the tail hint is at segment 3. A reclaimer moves the head hint to
// segment 3 too, and so frees segments 0 and 1, while the stalled
// goroutine finds its position's segment from segment 0. The stalled one
// must get segment 2, whatever the interleaving; it returns what went
// wrong, if anything.
//
// The bugs it catches are in pinStart's last resort, the front: a finder
// that, finding the front freed by a reclaimer that has not moved it yet,
// waits for that reclaimer instead of going on from the front's next
// (its pin's condition inverted, or the next's ID compared with < or the
// comparison inverted): under a schedule that holds the reclaimer between
// freeing the front and moving it, the finder spins, and the run passes
// its step limit. The package's promise (the pinStart comment): nobody
// waits for a reclaimer that stalls there.
func frontRound(c seam.Chooser) (string, seam.Result) {
	l := new(List)
	tail, head := new(seam.Pointer[Segment]), new(seam.Pointer[Segment])
	l.InitSpan([2]unsafe.Pointer{fin, fin}, tail, head, 1)
	first := tail.Load()
	use(l, tail, 0, fin)
	use(l, tail, 1, fin)
	l.Find(tail, tail.Load(), 3) // the tail at segment 3; the head, at 0, holds everything
	var got *Segment
	res, err := seam.Run(c, func() {
		done := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		seam.Go(func() { l.Find(head, head.Load(), 3); seam.Close(done[0]) }) // reclaims 0 and 1
		seam.Go(func() { got = l.Find(tail, first, 2); seam.Close(done[1]) })
		seam.Await(done[0])
		seam.Await(done[1])
	}, seam.Options{MaxSteps: 4000, Fair: 1 << 30})
	switch {
	case err != nil:
		return err.Error(), res
	case res.Outcome == seam.StepLimit:
		return "the finder did not finish: it waits for the reclaimer (" + res.Failure + ")", res
	case res.Outcome != seam.Finished:
		return "the round did not finish: " + res.Failure, res
	case got.ID() != 2:
		return fmt.Sprintf("position 2's segment came back as segment %d", got.ID()), res
	}
	return "", res
}

// Under every schedule with up to two preemptions, a finder whose start
// segment and hint will not do goes on from the front, or the front's next
// while a reclaimer frees the front, without waiting for the reclaimer.
func TestFinderNeverWaitsForTheReclaimer(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	e := schedule.DFS{Preemptions: 2}.Explore(0, 0)
	var prev *seam.Result
	runs := 0
	for c := e.Next(nil); c != nil; c = e.Next(prev) {
		why, res := frontRound(c)
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
