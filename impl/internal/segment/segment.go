// Package segment stores pointers in slots addressed by a 64-bit
// position, in fixed-size segments linked in position order, made on
// demand (or a little before, see ahead) and recycled through a small
// free list once no operation can touch them again. It is the storage
// under impl/queue and impl/mailbox; the protocols that decide who writes
// and reads which slot are theirs.
//
// # Layout
//
// A segment is 8160 bytes, a 32-byte header and 1016 slots of 8 bytes, so
// that it fits Go's 8192-byte size class with its malloc header. Position
// k of a segment lives in slot k, so consecutive positions are
// neighbouring slots, eight to a 64-byte cache line: a sender's line
// moves to its receiver about once per eight items, not once an item. (Spreading consecutive positions over
// different lines, against contention between goroutines on
// neighbouring positions, cost the mailbox at one sender and one
// receiver twice the time on two cores, and the queue a third at two
// producers and two consumers: docs/mailbox-with-room.md.) A segment
// holds Span positions, all its slots, unless a test made its list with
// fewer (InitSpan), so that a few operations cross and recycle segments.
//
// # Finding a segment
//
// A List's users keep hints: atomic pointers to a segment at or before
// the one they will need next. A hint moves forward only, and only to the
// segment of a position already claimed; so a goroutine that loads a hint
// before claiming a position never finds its position behind the hint, if
// the hint's segment is still the one it loaded. Locate checks that after
// the claim, with one load of the segment's ID: if the ID is the one the
// position needs, the slot is there; otherwise it walks (find) from a
// segment it has pinned. A user that must know the position's segment
// before it claims (a mailbox, whose words keep positions modulo 2^34 and
// recovers the rest from the hint's ID) reads the hint's segment and its
// ID together with LoadHint, which checks that the segment was still the
// hint's after the ID was read.
//
// # Reclamation
//
// A List recycles a segment, rather than leave it to the collector, once
// no operation can touch it again. The invariant that makes reuse safe:
//
//	A segment m is freed only when (1) m is the oldest segment not freed
//	(front), (2) every hint points past m, (3) every slot of m holds one of
//	the user's final values, and (4) nobody has m pinned. Freeing clears
//	the live bit of m's state with one CAS from live (no pins) to 0.
//
// The users' protocols make (3) mean that every operation that claimed a
// position of m has made its last access to m: the last access of each
// slot's last operation is the write of a final value (a queue's consumed
// or gone, a mailbox's consumed), and a slot not yet claimed by both sides is not final. So an
// operation in flight keeps the segment of its position alive by its slot
// alone, with no counter to touch. (1) makes the segments not freed a
// contiguous run from front to the last, so keeping one alive keeps every
// later one alive: a walk from a live segment to a later one meets live
// segments only. (2) means a goroutine
// that loads a hint loads a live segment, unless it is slow; one that is
// slow finds out by the ID check.
//
// Pins cover the walks, which are rare (once a segment per user, and
// after a stall): find pins the segment it starts from, with a CAS that
// fails once the live bit is clear, so the run from it to the position's
// segment stays alive while it walks and links, and so does a hint's
// current segment while find moves the hint with a CAS (which therefore
// never moves a hint backwards).
//
// IDs are never reused: a segment gets a new ID when it is linked again,
// one more than the segment it is linked after, which is past every ID
// the list ever had. A segment's ID therefore only grows, and an ID names
// one segment in one life. An operation that loaded segment s from a hint
// and reads s.ID() equal to its position's segment after its claim has
// the right segment, whatever happened to s in between (no ABA): the
// segment of a claimed position is alive until that operation's last
// access, so it cannot be freed and relinked under it. A new ID is stored
// after the segment is linked; until then it carries its old ID, which
// names a freed segment and so matches no claimed position.
//
// A hint's segment, read after the hint, is therefore live unless the
// reader is slow, and the reclaimer reads the hints' IDs safely: only it
// frees, and a hint's segment stays live until the hint has moved on.
//
// Who writes what: id by the goroutine that links the segment or any
// walker that passes it, all storing the same value (activate), each
// holding the segment before it alive, so that the segment cannot be in
// another life meanwhile; next by the CAS in link, and cleared by the
// reclaimer once it has moved the front past the segment; state by pin
// and unpin (the count of pins), by activate (the live bit set, after the
// ID: a pin that succeeds then reads the new ID) and by the reclaimer (the
// live bit cleared, by the CAS above); eager by Locate and link. All of
// them through impl/seam's atomics; the slots by the users' protocols.
// The list's front and free list are written by the reclaimer, one at a
// time (List.busy), and the free list's entries taken by get with a swap.
package segment

import (
	"unsafe"

	"github.com/insideout-go/insideout/impl/seam"
)

const (
	lineSlots = 8   // slots in a 64-byte cache line
	rows      = 127 // cache lines of slots in a segment
	// Slots is the number of slots in a segment.
	Slots = lineSlots * rows
	// Span is the number of positions a segment holds: all its slots.
	Span = Slots
)

// live is the bit of a segment's state that says it is linked and not
// freed: pin fails while it is clear. A segment's zero state (a new one,
// or one on the free list) is not live.
const live = 1 << 63

// A Segment holds the slots of positions [ID*span, (ID+1)*span).
type Segment struct {
	id    seam.Uint64           // see the package documentation, Who writes what
	next  seam.Pointer[Segment] // set once a life, by the CAS in link; read by grow and link
	state seam.Uint64           // pins, and the live bit
	eager seam.Bool             // make the next segment ahead: see ahead
	span  uint16                // positions the segment holds; written before it is published
	slots [Slots]unsafe.Pointer // accessed only through seam's pointer functions, by the users' protocols
}

// ID returns the segment's ID: it holds positions [ID*span, (ID+1)*span),
// where span is Span unless a test chose fewer (InitSpan).
func (s *Segment) ID() uint64 { return s.id.Load() }

// Slot returns the slot of position i, which must belong to s.
func (s *Segment) Slot(i uint64) *unsafe.Pointer { return s.at(i - s.ID()*uint64(s.span)) }

// Peek returns the slot of position i if i belongs to s, and nil if not,
// reading s's ID once: a caller that has not claimed i may hold a segment
// that is recycled meanwhile, and so gets another ID, between two reads.
func (s *Segment) Peek(i uint64) *unsafe.Pointer {
	if k := i - s.ID()*uint64(s.span); k < uint64(s.span) {
		return s.at(k)
	}
	return nil
}

// at returns the slot at offset k (below span) of s.
func (s *Segment) at(k uint64) *unsafe.Pointer { return &s.slots[k] }

// pin keeps s from being freed until unpin, and reports whether it could:
// false if s is freed already (or not linked yet). It retries only when
// another pin, unpin or the freeing changed the state: lock-free.
func (s *Segment) pin() bool {
	for {
		v := s.state.Load()
		if v&live == 0 {
			return false
		}
		if s.state.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

// unpin undoes one pin.
func (s *Segment) unpin() { s.state.Add(^uint64(0)) }

// ahead is the offset at which Locate makes the next segment, if it does
// not exist yet, in an eager segment: one whose making was contended.
// Otherwise every operation that crosses into a segment not made yet
// races to make it, and all but one make a segment for nothing. Made
// ahead, the next segment is there long before anyone needs it, and the
// operation that claimed offset ahead makes it alone. Ahead is early in
// the segment, not at its middle: an allocation that assists the
// collector can outlast another sender's crossing of half a segment.
//
// Only where making was contended: a segment made ahead stays linked
// after the one before, so a mailbox that goes idle keeps two segments
// where it needed one. Eagerness starts when an operation loses the race
// to link a segment it made (link), and passes on to every segment made
// ahead, so a queue that has seen concurrent makers stays eager; one that
// has not (as a rule, one with a single sender) never pays.
// It is an eighth of the segment's span.
func (s *Segment) ahead() uint64 { return uint64(s.span) / 8 }
