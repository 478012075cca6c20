//go:build sched

package segment

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/insideout-go/insideout/impl/seam"
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
	why, res := runBoth(c, // segments 1 and 3 of span 2
		func() { l.Find(hint, first, 2) },
		func() { l.Find(hint, first, 6) })
	if why != "" {
		return why, res
	}
	if id := hint.Load().ID(); id != 3 {
		return fmt.Sprintf("the hint points at segment %d after finds in segments 1 and 3: it moved backwards", id), res
	}
	return "", res
}

// Under every schedule with up to two preemptions, a hint only moves
// forward.
func TestHintNeverMovesBackwardsUnderSchedules(t *testing.T) { exploreAll(t, hintRound) }

// loadHintRound runs one round under chooser c, on a list of 1-position
// segments: one goroutine loads the head hint with LoadHint and checks
// that the ID it got is not past the hint's ID after the call; the other
// uses positions 0 and 1 on both sides (a tail find, a final value, a
// head find), so that segment 0 is freed, then finds position 2 at the
// tail, which links segment 0 again as segment 2. It returns what went wrong, if anything, and the run's result.
//
// The bug it catches: LoadHint without its second load of the hint. The
// loader loads segment 0 from the head hint and is held; the other frees
// it and links it again as segment 2 while the head hint is at segment 1;
// the loader reads ID 2 and returns it, past the hint: a mailbox would
// then take the start of segment 2 for the base of a position claimed in
// segment 1, and place it 2^34 positions on.
func loadHintRound(c seam.Chooser) (string, seam.Result) {
	l := new(List)
	tail, head := new(seam.Pointer[Segment]), new(seam.Pointer[Segment])
	l.InitSpan([2]unsafe.Pointer{fin, fin}, tail, head, 1)
	first := head.Load()
	var bad string
	why, res := runBoth(c, func() {
		s, id := LoadHint(head)
		if h := head.Load().ID(); id > h {
			bad = fmt.Sprintf("LoadHint returned segment %p with ID %d, past the hint's %d after the call", s, id, h)
		}
	}, func() {
		t, h := first, first
		for i := range uint64(2) {
			t = l.Find(tail, t, i)
			seam.StorePointer(t.Slot(i), fin) // position i is done with
			h = l.Find(head, h, i)
		}
		l.Find(tail, t, 2) // links segment 0 again, as segment 2
	})
	if why == "" {
		why = bad
	}
	return why, res
}

// Under every schedule with up to two preemptions, LoadHint returns an
// ID no later than the hint's, though the segment it loaded is freed and
// linked again under a later ID meanwhile.
func TestLoadHintUnderSchedules(t *testing.T) { exploreAll(t, loadHintRound) }

// frontPinRound runs one round under chooser c, on a list of 1-position
// segments whose hints are both at segment 2, with segment 0 (the front)
// and segment 1 not done with: one goroutine looks for a start at or
// before segment 1 from segment 2, which only the front can give
// (pinStart); the other finishes segment 0's slot, reclaims it, and links
// a segment after segment 2, which takes segment 0 from the free list
// and makes it segment 3. The start must not be past segment 1, whose
// position is still claimed. It returns what went wrong, if anything,
// and the run's result.
//
// The bug it catches: pinStart returning the front it pinned without
// looking at it again. The first goroutine loads the front, segment 0,
// and is held; the other frees it and links it again as segment 3; the
// pin then succeeds on segment 0's next life, and find, walking from
// segment 3 to segment 1, reports a claimed position's segment gone (a
// mailbox's Drain did, under the stress suite's race-detector run: its
// hint, and its first segment, had both moved on).
func frontPinRound(c seam.Chooser) (string, seam.Result) {
	l := new(List)
	tail, head := new(seam.Pointer[Segment]), new(seam.Pointer[Segment])
	l.InitSpan([2]unsafe.Pointer{fin, fin}, tail, head, 1)
	s0 := head.Load()
	s2 := l.grow(l.grow(s0))
	tail.Store(s2)
	head.Store(s2)
	var bad string
	why, res := runBoth(c, func() {
		if start := l.pinStart(head, s2, 1); start.ID() > 1 {
			bad = fmt.Sprintf("pinStart returned segment %d for a walk to segment 1, which is live", start.ID())
		} else {
			start.unpin()
		}
	}, func() {
		seam.StorePointer(s0.Slot(0), fin)
		l.reclaim()
		l.grow(s2)
	})
	if why == "" {
		why = bad
	}
	return why, res
}

// Under every schedule with up to two preemptions, pinStart's walk from
// the front starts at or before the segment it looks for, though the
// front it loaded is freed and linked again meanwhile.
func TestFrontStartUnderSchedules(t *testing.T) { exploreAll(t, frontPinRound) }
