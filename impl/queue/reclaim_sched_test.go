//go:build sched

package queue

import (
	"testing"
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/recycletest"
)

// spanQueue is a queue of segments of 2 positions, as recycletest's
// rounds need.
type spanQueue struct{ q *Queue[int] }

func (s spanQueue) Put(v *int) { s.q.Push(v) }
func (s spanQueue) Take() *int { return s.q.Pop() }

// sentinel names the slots' sentinel that v is, if it is one.
func sentinel(v *int) string {
	for _, s := range []struct {
		p    unsafe.Pointer
		name string
	}{{waiting, "waiting"}, {taken, "taken"}, {consumed, "consumed"}, {gone, "gone"}} {
		if unsafe.Pointer(v) == s.p {
			return "the sentinel " + s.name + ", a slot's mark"
		}
	}
	return ""
}

// Controlled schedules find a producer writing into a segment recycled
// under it (knownbad.SegmentRecyclesEarly), and its decisions replay the
// failure exactly; the real reclaimer passes every one of the same
// schedules (recycletest.Round says how).
func TestScheduleFindsEarlyRecycling(t *testing.T) {
	recycletest.FindsEarlyRecycling(t, func() recycletest.FIFO { return spanQueue{newSpan[int](2)} }, sentinel)
}
