// Package segment stores pointers in slots addressed by a 64-bit
// position, in fixed-size segments linked in position order, made on
// demand (or a little before, see ahead) and dropped (to the garbage
// collector) once every operation has moved past them. It is the storage
// under impl/queue and impl/mailbox; the protocols that decide who writes
// and reads which slot are theirs.
//
// # Layout
//
// A segment is 8152 bytes, a 24-byte header and 1016 slots of 8 bytes, so
// that it fits Go's 8192-byte size class with its malloc header: 8.06
// bytes per slot. Its slots form a grid of 127 rows of 8 slots, a row
// being one 64-byte cache line's worth; position k of a segment lives at
// row k%127, column k/127, so consecutive positions fall in different
// cache lines, and goroutines working on neighbouring positions do not
// fight over one line.
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
	"unsafe"

	"github.com/insideout-go/insideout/impl/seam"
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
	next  seam.Pointer[Segment] // set once, by the CAS in link; read by grow and link
	eager seam.Bool             // make the next segment ahead: see ahead
	slots [Slots]unsafe.Pointer // accessed only through seam's pointer functions, by the users' protocols
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
func Locate(hint *seam.Pointer[Segment], s *Segment, i uint64) (*Segment, *unsafe.Pointer) {
	if k := i - s.ID*Slots; k < Slots {
		if k == ahead && s.eager.Load() {
			if next := s.grow(); !next.eager.Load() {
				next.eager.Store(true)
			}
		}
		return s, s.at(k)
	}
	s = Find(hint, s, i)
	return s, s.Slot(i)
}

// Find returns the segment holding position i, starting from s, which must
// not be past it, and creating segments that do not exist yet. It then
// moves hint forward to that segment if hint is behind it.
func Find(hint *seam.Pointer[Segment], s *Segment, i uint64) *Segment {
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

// ahead is the offset at which Locate makes the next segment, if it does
// not exist yet, in an eager segment: one whose making was contended.
// Otherwise every operation that crosses into a segment not made yet
// races to make it, and all but one allocate a segment for nothing. Made
// ahead, the next segment is there long before anyone needs it, and the
// operation that claimed offset ahead makes it alone. Ahead is early in
// the segment, not at its middle: an allocation that assists the
// collector can outlast another sender's crossing of half a segment.
//
// Only where making was contended: a segment made ahead stays reachable
// from the one before, so a mailbox that goes idle keeps two segments
// where it needed one. Eagerness starts when an operation loses the race
// to link a segment it made (link), and passes on to every segment made
// ahead, so a queue that has seen concurrent makers stays eager; one that
// has not (as a rule, one with a single sender) never pays.
const ahead = Slots / 8

// grow returns the segment after s, making it if nobody has yet.
func (s *Segment) grow() *Segment {
	if next := s.next.Load(); next != nil {
		return next
	}
	seam.Point()
	return s.link(&Segment{ID: s.ID + 1})
}

// link makes n the segment after s, unless another is already, and
// returns the one that is. If another is, whoever made it raced with the
// caller, and making segments from there on is contended: the winner
// becomes eager.
func (s *Segment) link(n *Segment) *Segment {
	if s.next.CompareAndSwap(nil, n) {
		return n
	}
	next := s.next.Load()
	if !next.eager.Load() {
		next.eager.Store(true)
	}
	return next
}
