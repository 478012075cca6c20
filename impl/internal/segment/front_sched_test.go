//go:build sched

package segment

import (
	"fmt"
	"testing"

	"github.com/insideout-go/insideout/impl/seam"
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
	l, tail, head := recycling()
	first := tail.Load()
	use(l, tail, 0, fin)
	use(l, tail, 1, fin)
	l.Find(tail, tail.Load(), 3) // the tail at segment 3; the head, at 0, holds everything
	var got *Segment
	why, res := runBoth(c,
		func() { l.Find(head, head.Load(), 3) }, // reclaims 0 and 1
		func() { got = l.Find(tail, first, 2) })
	switch {
	case res.Outcome == seam.StepLimit:
		return "the finder did not finish: it waits for the reclaimer (" + res.Failure + ")", res
	case why != "":
		return why, res
	case got.ID() != 2:
		return fmt.Sprintf("position 2's segment came back as segment %d", got.ID()), res
	}
	return "", res
}

// Under every schedule with up to two preemptions, a finder whose start
// segment and hint will not do goes on from the front, or the front's next
// while a reclaimer frees the front, without waiting for the reclaimer.
func TestFinderNeverWaitsForTheReclaimer(t *testing.T) { exploreAll(t, frontRound) }
