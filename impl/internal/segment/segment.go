// Package segment stores pointers in slots addressed by a 64-bit
// position, in fixed-size segments linked in position order, each made a
// little before it is needed (see ahead) and dropped (to the garbage
// collector) once every operation has moved past them. It is the storage under impl/queue and impl/mailbox;
// the protocols that decide who writes and reads which slot are theirs.
//
// # Layout
//
// A segment is 8144 bytes, a 16-byte header and 1016 slots of 8 bytes, so
// that it fits Go's 8192-byte size class: 8.06 bytes per slot. Its slots
// form a grid of 127 rows of 8 slots, a row being one 64-byte cache line's
// worth; position k of a segment lives at row k%127, column k/127, so
// consecutive positions fall in different cache lines, and goroutines
// working on neighbouring positions do not fight over one line.
//
// # Finding a segment
//
// Each user keeps hints: atomic pointers to a segment at or before the one
// it will need next. A hint only ever moves forward, and only to the
// segment of a position already claimed; so a goroutine that loads a hint
// before claiming a position never finds its position behind the hint, and
// only walks forward from it (Find). Segments behind every hint, and behind
// every operation in flight, are unreachable and become garbage; nothing is
// recycled, so there is no ABA hazard.
package segment

import (
	"sync/atomic"
	"unsafe"

	"github.com/insideout-go/insideout/impl/chaos"
)

const (
	lineSlots = 8
	rows      = 127
	// Slots is the number of slots in a segment.
	Slots = lineSlots * rows
)

// A Segment holds the slots of positions [ID*Slots, (ID+1)*Slots).
type Segment struct {
	ID    uint64
	next  atomic.Pointer[Segment]
	slots [Slots]unsafe.Pointer // accessed only through sync/atomic
}

// Slot returns the slot of position i, which must belong to s.
func (s *Segment) Slot(i uint64) *unsafe.Pointer { return s.at(i - s.ID*Slots) }

// at returns the slot at offset k (below Slots) of s: row k%rows, column
// k/rows, with one division by a constant (a multiplication) for both.
func (s *Segment) at(k uint64) *unsafe.Pointer {
	col := k / rows
	return &s.slots[(k-col*rows)*lineSlots+col]
}

// Locate returns the segment holding position i and its slot, starting
// from s, as Find(hint, s, i) and Slot(i) do, but without dividing where i
// belongs to s, as it mostly does: a send or a receipt then costs a
// multiplication and a comparison to find its slot. A caller walking
// consecutive positions passes the segment it got back for the next one.
func Locate(hint *atomic.Pointer[Segment], s *Segment, i uint64) (*Segment, *unsafe.Pointer) {
	if k := i - s.ID*Slots; k < Slots {
		if k == ahead {
			s.grow()
		}
		return s, s.at(k)
	}
	s = Find(hint, s, i)
	return s, s.Slot(i)
}

// Find returns the segment holding position i, starting from s, which must
// not be past it, and creating segments that do not exist yet. It then
// moves hint forward to that segment if hint is behind it.
func Find(hint *atomic.Pointer[Segment], s *Segment, i uint64) *Segment {
	id := i / Slots
	if s.ID == id {
		return s
	}
	for s.ID < id {
		s = s.grow()
	}
	for {
		h := hint.Load()
		if h.ID >= s.ID || hint.CompareAndSwap(h, s) {
			return s
		}
	}
}

// ahead is the offset at which Locate makes sure the next segment exists,
// so that it is there long before anyone needs it: the operation that
// claimed that position makes it, one caller per segment. Otherwise every
// operation that crosses into a segment not made yet races to make it,
// and all but one allocate 8 KiB for nothing: two senders filling a
// mailbox in batches of 64 made 1.52 segments for every one they used,
// and still 1.25 with ahead at the middle of a segment (an allocation can
// take longer than the other sender takes to cross half a segment, when
// the collector makes it assist); 1.02 from here. Not at offset 0: a
// mailbox that never holds more than a few items keeps one segment.
const ahead = Slots / 8

// grow returns the segment after s, making it if nobody has yet.
func (s *Segment) grow() *Segment {
	next := s.next.Load()
	if next == nil {
		chaos.Point()
		n := &Segment{ID: s.ID + 1}
		if s.next.CompareAndSwap(nil, n) {
			next = n
		} else {
			next = s.next.Load()
		}
	}
	return next
}
