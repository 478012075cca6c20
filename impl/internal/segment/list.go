package segment

import (
	"fmt"
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/seam"
)

// FreeMax bounds a List's free list: a queue that grew and shrank keeps at
// most this many segments beyond those it holds items in.
const FreeMax = 4

// A List is the segments of one queue or mailbox: the first it made, the
// hints of its users, and its free list. The zero value is not usable;
// call Init. A List must not be copied after Init.
type List struct {
	// front is the oldest segment not freed. It is written by the
	// reclaimer (holding busy) only, and read by find when neither its
	// own segment nor its hint will do.
	front seam.Pointer[Segment]
	// busy is set while a goroutine reclaims: others skip reclaiming
	// rather than wait (the one that holds it frees what they would).
	busy seam.Bool
	// hints are the users' hints, set by Init.
	hints [2]*seam.Pointer[Segment]
	// final are the slot values that end a slot's use, set by Init: a
	// segment whose slots all hold one of them is done with.
	final [2]unsafe.Pointer
	// free holds freed segments: put stores into an empty entry with a
	// CAS, get takes one with a swap.
	free [FreeMax]seam.Pointer[Segment]
	// span is the number of positions of each segment, set by Init.
	span uint16
	// made counts the segments get allocated, for tests (Made).
	made seam.Uint64
}

// Init makes the first segment and points both hints (tail and head) at
// it. A slot whose value is final[0] or final[1] has been used for good:
// no operation will touch it again (see the package documentation). Both
// must be non-nil (a new or cleared slot holds nil): Init panics if not.
func (l *List) Init(final [2]unsafe.Pointer, tail, head *seam.Pointer[Segment]) {
	l.InitSpan(final, tail, head, Span)
}

// InitSpan is Init with segments that hold span positions (1 to Span)
// rather than Span: a test's few operations then cross segments, and
// recycle them.
func (l *List) InitSpan(final [2]unsafe.Pointer, tail, head *seam.Pointer[Segment], span int) {
	if span < 1 || span > Span {
		panic(fmt.Sprintf("segment: a span of %d positions; a segment holds 1 to %d", span, Span))
	}
	if final[0] == nil || final[1] == nil {
		panic("segment: a final slot value is nil, which is an empty slot's")
	}
	l.hints = [2]*seam.Pointer[Segment]{tail, head}
	l.final = final
	l.span = uint16(span)
	l.Reset(0)
}

// Span returns the number of positions each of the list's segments holds:
// Span, unless a test chose fewer (InitSpan).
func (l *List) Span() uint64 { return uint64(l.span) }

// Reset gives the list one segment, of the given ID, and points both
// hints at it; the free list is emptied. Init starts at 0; a test may
// start elsewhere. It must not be called while the list is in use.
func (l *List) Reset(id uint64) {
	s := &Segment{span: l.span}
	s.id.Store(id)
	s.state.Store(live)
	l.hints[0].Store(s)
	l.hints[1].Store(s)
	l.front.Store(s)
	for k := range l.free {
		l.free[k].Store(nil)
	}
}

// LoadHint loads hint's segment s and an ID of it that lies between the
// hint's ID when the call began and the hint's ID when it returned, so
// that the ID is at or before the segment of any position claimed after
// the call, and not before the hint's when the call began. A user that
// needs the ID before it claims (a mailbox, whose words hold positions
// modulo 2^34) uses it rather than s's ID after the claim, which a slow
// caller may read from s's next life, past its position.
//
// It loads the hint, s's ID, then the hint again, until both loads give s.
// If s was not freed between the first load and the ID's, the ID is the
// one s had as the hint. If it was, s was linked again under a greater
// ID and became the hint again by the second load (a freed segment is
// behind every hint, and a hint moves forward only): the ID read is the
// old one, the hint's at the first load, or the new one, at most the
// hint's at the second. It retries only when the hint has moved meanwhile.
func LoadHint(hint *seam.Pointer[Segment]) (*Segment, uint64) {
	for {
		s := hint.Load()
		id := s.id.Load()
		if hint.Load() == s {
			return s, id
		}
	}
}

// Locate returns the segment holding position i and its slot, starting
// from s, a segment loaded from hint before i was claimed. The common
// case costs a load of s's ID, a multiplication and a comparison: s is
// still i's segment (see the package documentation for why that check is
// enough). Otherwise find walks there. A caller walking consecutive
// positions passes the segment it got back for the next one.
func (l *List) Locate(hint *seam.Pointer[Segment], s *Segment, i uint64) (*Segment, *unsafe.Pointer) {
	if k := i - s.ID()*uint64(s.span); k < uint64(s.span) {
		if k == s.ahead() && s.eager.Load() {
			if next := l.grow(s); !next.eager.Load() {
				next.eager.Store(true)
			}
		}
		return s, s.at(k)
	}
	s = l.find(hint, s, i)
	return s, s.at(i % uint64(s.span)) // s's ID, checked by find, is i's: no second read
}

// Find returns the segment holding position i, which its caller has
// claimed, as Locate does.
func (l *List) Find(hint *seam.Pointer[Segment], s *Segment, i uint64) *Segment {
	s, _ = l.Locate(hint, s, i)
	return s
}

// find returns the segment holding position i, claimed by the caller and
// not in s, making segments that do not exist yet, and moves hint forward
// to it if hint is behind. It walks from a segment it has pinned, so that
// nothing on the way is freed under it.
func (l *List) find(hint *seam.Pointer[Segment], s *Segment, i uint64) *Segment {
	id := i / uint64(l.span)
	start := l.pinStart(hint, s, id)
	t := start
	for t.ID() < id {
		t = l.grow(t)
	}
	if t.ID() != id {
		panic(fmt.Sprintf("segment: position %d's segment %d is gone, recycled while an operation had it claimed (reached segment %d)", i, id, t.ID()))
	}
	moved := l.advance(hint, t)
	start.unpin()
	if moved {
		l.reclaim()
	}
	return t
}

// pinStart pins and returns a segment at or before segment id: s if it is
// live and not past id, else the hint's segment if it is, else the front,
// which is never past a segment that has a claimed position (only the
// reclaimer moves it, over segments whose positions are all done with).
// A front that is freed already is one the reclaimer has not yet moved
// past: its next, intact until the reclaimer clears it (after moving the
// front), is the oldest live segment, so nobody waits
// for a reclaimer that stalls there. A front that is pinned is the front
// still, unless it was freed and linked again (under a greater ID) after
// it was loaded, for the reclaimer moves the front past a segment before
// it puts it on the free list: so a pinned segment past id is returned
// only if it is the front after the pin (the invariant broken, which find
// reports), and let go otherwise. The loop retries only when the
// reclaimer has moved on meanwhile.
func (l *List) pinStart(hint *seam.Pointer[Segment], s *Segment, id uint64) *Segment {
	for _, c := range [2]*Segment{s, hint.Load()} {
		if c.pin() {
			if c.ID() <= id {
				return c
			}
			c.unpin()
		}
	}
	for {
		f := l.front.Load()
		if f.pin() {
			if f.ID() <= id || l.front.Load() == f {
				return f // past id only if the invariant is broken: find says so
			}
			f.unpin() // freed and linked again since it was loaded
			continue
		}
		if n := f.next.Load(); n != nil && n.pin() {
			if n.ID() <= id {
				return n
			}
			n.unpin() // f was recycled meanwhile, and n is its new next
		}
	}
}

// advance moves hint to t if it points to a segment before t, and reports
// whether it did. It pins the hint's segment while it compares, so that
// the segment cannot be freed and linked again (with a greater ID) between
// the comparison and the CAS: a hint never moves backwards.
func (l *List) advance(hint *seam.Pointer[Segment], t *Segment) bool {
	for {
		h := hint.Load()
		if !h.pin() {
			continue // freed, so the hint has moved on: look again
		}
		behind := h.ID() < t.ID()
		ok := behind && hint.CompareAndSwap(h, t)
		h.unpin()
		if !behind || ok {
			return ok
		}
	}
}

// grow returns the segment after s, linking one if there is none yet. s
// must be kept live by the caller: pinned, after a pinned segment, or
// holding a position the caller has claimed.
func (l *List) grow(s *Segment) *Segment {
	if next := s.next.Load(); next != nil {
		return activate(s, next)
	}
	seam.Point()
	return l.link(s, l.get())
}

// link makes n the segment after s, unless another is already, and
// returns the one that is. If another is, whoever made it raced with the
// caller, and making segments from there on is contended: the winner
// becomes eager. The loser's n was never reachable and goes back to the
// free list.
func (l *List) link(s, n *Segment) *Segment {
	if s.next.CompareAndSwap(nil, n) {
		return activate(s, n)
	}
	l.put(n)
	next := s.next.Load()
	activate(s, next)
	if !next.eager.Load() {
		next.eager.Store(true)
	}
	return next
}

// activate gives next, linked after s, its ID and makes it live, if
// nobody has yet. Its linker does it right after linking, and every walker
// that passes does it again, so that no one waits for a linker that
// stalls; s must be kept live by the caller (as for grow), so next is in
// the life that follows s's, and they all store the same.
func activate(s, next *Segment) *Segment {
	if id := s.ID() + 1; next.ID() != id {
		next.id.Store(id)
	}
	if next.state.Load() == 0 {
		next.state.CompareAndSwap(0, live)
	}
	return next
}

// get returns a segment to link: one from the free list, emptied, or a
// new one. It is not live and carries an ID that names a freed segment
// (or 0, for a new one, which nobody holds), until activate.
func (l *List) get() *Segment {
	for k := range l.free {
		if l.free[k].Load() == nil {
			continue
		}
		if s := l.free[k].Swap(nil); s != nil {
			s.clearSlots() // its next is nil: see reclaim
			s.eager.Store(false)
			return s
		}
	}
	l.made.Add(1)
	return &Segment{span: l.span}
}

// put puts a segment that nobody can reach on the free list, if it has
// room; otherwise the collector takes it.
func (l *List) put(s *Segment) {
	for k := range l.free {
		if l.free[k].Load() == nil && l.free[k].CompareAndSwap(nil, s) {
			return
		}
	}
}

// reclaim frees the segments at the front that the invariant allows (see
// the package documentation), putting them on the free list. It is called
// after a hint has moved, which is when (2) can have become true. A
// goroutine that finds another reclaiming skips it; one that finds a slot
// not final stops there, and the next hint move looks again.
func (l *List) reclaim() {
	if !l.busy.CompareAndSwap(false, true) {
		return
	}
	limit := min(l.hints[0].Load().ID(), l.hints[1].Load().ID())
	early := knownbad.SegmentRecyclesEarly.Load()
	for m := l.front.Load(); m.ID() < limit; {
		if !early && !l.done(m) || !m.state.CompareAndSwap(live, 0) {
			break
		}
		// The hints are past m, so its next is linked. Once the front has
		// moved there, nobody reads m's next (see pinStart), and clearing
		// it keeps a free segment from holding the segments after it, all
		// of them freed soon, out of the collector's reach.
		next := activate(m, m.next.Load())
		l.front.Store(next)
		m.next.Store(nil)
		l.put(m)
		m = next
	}
	l.busy.Store(false)
}

// done reports whether every slot of m holds a final value.
func (l *List) done(m *Segment) bool {
	for k := range uint64(l.span) {
		if v := seam.LoadPointer(m.at(k)); v != l.final[0] && v != l.final[1] {
			return false
		}
	}
	return true
}

// Made returns how many segments the list has allocated besides the
// first: each that the free list could not provide. It is for tests.
func (l *List) Made() uint64 { return l.made.Load() }

// Count returns how many segments the list holds: live, from the front to
// the last linked, and free, on the free list. It is for tests, on a list
// nobody else is using.
func (l *List) Count() (live, free int) {
	for s := l.front.Load(); s != nil; s = s.next.Load() {
		live++
	}
	for k := range l.free {
		if l.free[k].Load() != nil {
			free++
		}
	}
	return live, free
}
