//go:build sched

package segment

import (
	"fmt"
	"testing"

	"github.com/insideout-go/insideout/impl/seam"
)

// Two segments put on an empty free list at once both land there (and
// Count, which the reclamation tests rely on, counts none before them and
// both after: a count of the empty entries would pass the second). The
// bug it catches: an entry taken with a Store where its CAS belongs, so
// that two putters that both saw it empty write it in turn and the
// first segment is lost to the collector (the free list's point is that
// a steady state allocates none).
func TestPutsNeverOverwrite(t *testing.T) {
	exploreAll(t, func(c seam.Chooser) (string, seam.Result) {
		l, _, _ := recycling()
		if _, free := l.Count(); free != 0 {
			return fmt.Sprintf("a new list counts %d free segments, want 0", free), seam.Result{}
		}
		a, b := &Segment{span: 1}, &Segment{span: 1}
		why, res := runBoth(c, func() { l.put(a) }, func() { l.put(b) })
		if _, free := l.Count(); why == "" && free != 2 {
			why = fmt.Sprintf("%d segments on the free list after two puts, want 2", free)
		}
		return why, res
	})
}

// Two walkers that pass a segment linked but not yet activated both
// activate it, and one of them pins it meanwhile: the pin must survive,
// and once unpinned the segment is live with no pins. The bug it catches:
// activation's CAS from 0 to live made a Store, which a walker that read
// 0 before the other activated and pinned makes over the pin, erasing
// it; the unpin then leaves the state one below live, not live and not
// freeable, so the reclaimer stops there for good.
func TestActivationKeepsPins(t *testing.T) {
	exploreAll(t, func(c seam.Chooser) (string, seam.Result) {
		l, tail, _ := recycling()
		s := tail.Load()
		n := l.get() // linked below, never activated: its state is 0
		s.next.Store(n)
		pinned := false
		why, res := runBoth(c, func() { activate(s, n) }, func() {
			activate(s, n)
			if pinned = n.pin(); pinned {
				if n.state.Load() != live+1 {
					panic(fmt.Sprintf("pinned, the state is %#x, want live with one pin", n.state.Load()))
				}
				n.unpin()
			}
		})
		switch {
		case why != "":
		case !pinned:
			why = "the activated segment could not be pinned"
		case n.state.Load() != live || n.ID() != 1:
			why = fmt.Sprintf("after the pin and unpin, state %#x and ID %d, want live with no pins and ID 1", n.state.Load(), n.ID())
		}
		return why, res
	})
}

// Two reclaimers at once, one of which stops after checking that the
// front is done with while the other frees it and then grows the list:
// the freed front, taken off the free list, is linked again as segment 3.
// Only one reclaimer may run at a time (List.busy). The bug it catches:
// busy taken with a Store where its CAS belongs; the stopped reclaimer
// then frees the segment in its new life, in use at the tail, by the
// CAS from live its check allowed, and moves the front past it.
func TestOneReclaimerAtATime(t *testing.T) {
	exploreAll(t, func(c seam.Chooser) (string, seam.Result) {
		l, tail, head := recycling()
		use(l, tail, 0, fin)
		use(l, tail, 1, fin)
		l.Find(tail, tail.Load(), 2) // the tail at segment 2; the head, at 0, holds everything
		var grown *Segment
		why, res := runBoth(c,
			func() { l.Find(head, head.Load(), 2) }, // moves the head, then reclaims 0 and 1
			func() { l.reclaim(); grown = l.Find(tail, tail.Load(), 3) })
		if why != "" {
			return why, res
		}
		if grown.ID() != 3 || grown.state.Load() != live {
			return fmt.Sprintf("segment 3 has ID %d and state %#x, want 3 and live", grown.ID(), grown.state.Load()), res
		}
		want := uint64(0)
		for s := l.front.Load(); s != nil; s = s.next.Load() {
			if want == 0 {
				want = s.ID()
			}
			if s.ID() != want || s.state.Load() != live {
				return fmt.Sprintf("from the front, segment %d (state %#x) where segment %d, live, belongs", s.ID(), s.state.Load(), want), res
			}
			want++
		}
		if want != 4 {
			return fmt.Sprintf("the list from the front ends before segment %d, want 3", want-1), res
		}
		return "", res
	})
}
