//go:build sched

package mailbox

import (
	"testing"
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/recycletest"
)

// spanMailbox is an unbounded mailbox of segments of 2 positions, as
// recycletest's rounds need.
type spanMailbox struct{ m *Mailbox[int] }

func (s spanMailbox) Put(v *int) { s.m.TrySend(v) }
func (s spanMailbox) Take() *int {
	if v, r := s.m.TryRecv(); r == Received {
		return v
	}
	return nil
}

// consumedMark names the slots' final value, if v is it.
func consumedMark(v *int) string {
	if unsafe.Pointer(v) == consumed {
		return "the consumed mark, a slot's final value"
	}
	return ""
}

// Controlled schedules find a sender writing into a segment recycled
// under it (knownbad.SegmentRecyclesEarly): a receipt that claimed the
// same position waits for it while the others move both hints past the
// segment, and the sender then writes into its next life, over another
// sender's item or under another receipt, which takes the first
// receipt's consumed mark for an item; the decisions replay the failure
// exactly, and the real reclaimer passes every one of the same schedules
// (recycletest.Round says how).
func TestScheduleFindsEarlyRecycling(t *testing.T) {
	recycletest.FindsEarlyRecycling(t, func() recycletest.FIFO { return spanMailbox{newSpan[int](Unbounded, 2)} }, consumedMark)
}
