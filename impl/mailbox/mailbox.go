// Package mailbox provides mailboxes: channels of pointers with
// backpressure, half-close, pause and interrupt, lock-free on every path
// that does not wait.
//
// A Mailbox[T] moves *T from senders to receivers in FIFO order without
// copying what they point to. It has a capacity (or Unbounded), can be
// paused and resumed, closed for writing (receivers drain what is queued,
// then see it unreadable) or for reading (both sides stop at once), and
// interrupted, which kicks sleeping callers out of their waits. Every
// operation's result follows the rules of spec.Mailbox, which are the
// normative semantics; the tests check recorded histories against
// model.Mailbox, an independent transcription of those rules.
//
// # How it works
//
// Items live in the slots of impl/internal/segment, the storage of the
// lock-free queue, addressed by position. Two words decide everything: the
// tail word holds the flags, the capacity and the tail position, the head
// word a copy of the flags and the head position (see state.go). A send
// claims the slot at the tail and takes effect with one CAS on the tail
// word that also checks the flags and the room; a receipt claims the slot
// at the head with one CAS on the head word. Each then writes or empties
// its own slot. So items are received in the order they were sent, and the
// count is exact at every instant.
//
// # Costs
//
// An operation that does not wait (TrySend, TryRecv, or Send and Recv when
// they can proceed) takes no lock and touches no channel: the segment
// hint and its ID (three loads, see Memory), a snapshot of the two words
// (three loads; the common case reads fewer), one CAS, a store to its slot
// (a receipt: a load and a store), and one load of the wait word to learn
// whether anyone sleeps. Only a call that must
// sleep takes the mutex that guards the lists of sleepers, parks on a
// parker of its own (impl/seam's; a buffered channel in an ordinary
// build), and costs no CPU while it sleeps; and only a call that finds a
// sleeper bit set in the wait word wakes anyone. Wake-ups are targeted:
// a receipt wakes one sleeping sender, a delivery one sleeping receiver;
// Interrupt(n) wakes at most n. A send that finds a receiver asleep in an
// open, empty mailbox hands it the item directly, as a channel does,
// without touching a slot.
//
// # Items in flight
//
// A receipt can take effect before the sender of its slot, which took
// effect first, has written the slot: it then re-reads the slot for a
// bounded while and otherwise sleeps until that sender has written. The
// window is a few instructions of the sender, unless the sender is
// descheduled inside it.
//
// # Memory
//
// A slot moves through three values, each change an atomic operation on
// the slot by the one operation that claimed it on that side:
//
//	nil ──sender Store──▶ item ──receipt Load, then Store──▶ consumed
//
// consumed is the address of a private object, never an item. It is
// final: the receipt's store is the slot's last access, for the sender's
// store came before the receipt saw the item, and nothing else writes a
// slot. So a segment whose slots all hold consumed is done with, and
// impl/internal/segment, once both segment hints have passed it and no
// walk has it pinned, puts it on the mailbox's free list of a few
// segments and links it again at the tail under a new ID: a mailbox whose
// length stays bounded allocates nothing once warm. A send or receipt
// descheduled between its claim and its slot access keeps its segment
// (and every later one) from reuse meanwhile, by its slot alone, and the
// mailbox allocates instead; nobody waits for it. Why no operation can
// touch a recycled segment, however slow, is the invariant in the
// package documentation of impl/internal/segment; the mailbox's part is
// that its slots end in consumed, and that it reads a hint's ID before
// its claim (see state.go).
package mailbox

import (
	"fmt"
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/segment"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// yieldOnContention makes Send and Recv (not the Try forms) yield the
// processor when they lose a race for a word to another call on the same
// side. With more goroutines than processors, as is common, that lets a
// goroutine of the other side run, which can proceed, instead of two
// senders (or two receivers) taking a cache line from each other at every
// step. The Try forms never yield: their path takes no lock of any kind,
// and yielding goes through the scheduler's.
const yieldOnContention = true

// consumed is what a receipt leaves in the slot it emptied: the address
// of a private object, never an item. It is the slot's final value, after
// which no operation touches the slot, and the one impl/internal/segment
// waits for before it recycles a segment.
var (
	consumedObj byte
	consumed    = unsafe.Pointer(&consumedObj)
)

// lagSpins bounds how many times a receipt re-reads its slot, whose sender
// has taken effect but not yet written it, before sleeping.
const lagSpins = 64

// Mailbox is a FIFO of *T with a capacity and a state: see spec.Mailbox
// for the rules. The zero value is not usable; call New. All methods are
// safe for concurrent use.
type Mailbox[T any] struct {
	core
	// Segment hints, each loaded before the CAS that claims a position;
	// see package impl/internal/segment.
	tailSeg seam.Pointer[segment.Segment]
	headSeg seam.Pointer[segment.Segment]
	// segs is the mailbox's list of segments.
	segs segment.List
	// headBound is a head position read earlier: never ahead of the head,
	// which only moves forward. Senders keep it, on a line of its own, so
	// that they need not read the head word on every send; tailBound is the
	// receivers' twin.
	_         [128]byte
	headBound seam.Uint64
	_         [128]byte
	tailBound seam.Uint64
	_         [128]byte
}

// maxDistance bounds the distance, modulo 2^34, from a head position to a
// tail position: the count is below MaxLen. A larger difference between a
// bound and a position means the bound is behind.
const maxDistance = MaxLen

// Mailbox[int] is a spec.Mailbox[int]. The assertion also instantiates
// Mailbox[int] here, so that compiling this package inlines every
// impl/seam call that Mailbox's methods make, and its export data carries
// their bodies (as impl/queue's comment on its own assertion explains):
// a package that instantiates Mailbox without importing impl/seam can
// then inline them too.
var _ spec.Mailbox[int] = (*Mailbox[int])(nil)

// New returns an empty mailbox that holds at most capacity items. Use
// Unbounded for no limit (any capacity above MaxCapacity means the same);
// capacity 0 makes a mailbox that is Full from birth. New panics if
// capacity is negative.
func New[T any](capacity int) *Mailbox[T] {
	if capacity < 0 {
		panic(fmt.Sprintf("mailbox: New(%d): capacity must not be negative (use mailbox.Unbounded for no limit)", capacity))
	}
	return newSpan[T](capacity, segment.Span)
}

// newSpan is New with segments of span positions (1 to segment.Span):
// tests use a few, so that a few operations recycle segments.
func newSpan[T any](capacity, span int) *Mailbox[T] {
	m := new(Mailbox[T])
	m.tail.Store(capField(capacity))
	m.segs.InitSpan([2]unsafe.Pointer{consumed, consumed}, &m.tailSeg, &m.headSeg, span)
	return m
}

// slot returns the slot of position p (modulo 2^34), starting from s and
// its ID id, loaded together (segment.LoadHint) before p was claimed.
func (m *Mailbox[T]) slot(hint *seam.Pointer[segment.Segment], s *segment.Segment, id, p uint64) *unsafe.Pointer {
	_, slot := m.segs.Locate(hint, s, m.fullPos(id, p))
	return slot
}

// fullPos returns the full 64-bit position of position p (modulo 2^34),
// which is at or after the start of segment id and less than 2^34
// positions after it.
func (m *Mailbox[T]) fullPos(id, p uint64) uint64 {
	base := id * m.segs.Span()
	return base + (p-base)&posMask
}

// TrySend sends v without waiting: Delivered, or Nil, Paused, Unwritable
// or Full (in that order of precedence) when it cannot, in which case
// nothing was sent.
func (m *Mailbox[T]) TrySend(v *T) Result {
	if v != nil && m.wait.Load()&recvSleep != 0 && m.handOff(v) {
		return Delivered
	}
	r := m.trySend(v, false)
	if r == Delivered {
		m.settle(delivered)
	}
	return r
}

// trySend is TrySend without the wake-ups a delivery calls for. If yield
// is set, it yields the processor after losing a race for the tail word
// (see yieldOnContention).
func (m *Mailbox[T]) trySend(v *T, yield bool) Result {
	if v == nil {
		return Nil
	}
	var (
		seg   *segment.Segment
		segID uint64
		s     snap
	)
	for {
		seg, segID = segment.LoadHint(&m.tailSeg) // before claiming: see package segment
		// The fast path, while the mailbox runs open as far as senders can
		// tell (the tail word's flags): a lower bound of the head (a head
		// position read earlier) bounds the count from above, so if it
		// shows room there is room, and the CAS below fails if the flags or
		// the capacity change. The head word, which receivers write, is
		// read only when the bound shows no room; then, if its copy of the
		// flags is clean too, the mailbox was full at the instant it was
		// read (the tail only grows), and the send reports Full. But t
		// was read first: if receipts have passed it since, the head is
		// ahead of t, their difference wraps round to more than any count
		// (maxDistance), and t is stale: look again.
		if t := m.tail.Load(); t&flagMask == 0 {
			c := uint64(capOf(t))
			if bound := m.headBound.Load(); (t-bound)&posMask >= c {
				seam.Point() // receipts may pass t now
				h := m.head.Load()
				if hp := h & posMask; hp != bound { // storing the same value would still take the line
					m.headBound.Store(hp)
				}
				if d := (t - h) & posMask; d >= c {
					switch {
					case d > maxDistance:
						continue // stale
					case h&flagMask == 0:
						return Full
					}
					goto slow
				}
			}
			if m.tail.CompareAndSwap(t, advance(t, 1)) {
				s.t = t
				break
			}
			if yield {
				seam.Yield()
			}
			continue
		}
	slow:
		s = m.snapshot()
		switch {
		case s.t&paused != 0:
			return Paused
		case s.unwritable():
			return Unwritable
		case s.full():
			return Full
		}
		// The send claims slot s.t and takes effect here. The CAS fails if
		// the tail word changed since the snapshot: another send, or a
		// change of flags or capacity.
		if m.tail.CompareAndSwap(s.t, advance(s.t, 1)) {
			break
		}
	}
	seam.Point() // taken effect, not yet written: its receipt may wait
	// The store publishes v: a release that pairs with the receipt's
	// load of the same slot that sees it (an acquire).
	seam.StorePointer(m.slot(&m.tailSeg, seg, segID, s.t&posMask), unsafe.Pointer(v))
	return Delivered
}

// TryRecv receives without waiting: the first item and Received, or nil
// and Paused, Unreadable or Empty (in that order of precedence).
func (m *Mailbox[T]) TryRecv() (*T, Result) {
	v, r := m.tryRecv(false)
	if r == Received {
		m.settle(received)
	}
	return v, r
}

// tryRecv is TryRecv without the wake-ups a receipt calls for; yield as
// for trySend.
func (m *Mailbox[T]) tryRecv(yield bool) (*T, Result) {
	for {
		seg, segID := segment.LoadHint(&m.headSeg) // before claiming
		// The fast path, while the mailbox is neither paused nor closed for
		// reading as far as receivers can tell (the head word's copy of the
		// flags): a lower bound of the tail (a tail position read earlier)
		// bounds the count from below, so if it shows an item there is one,
		// and the receipt claims it at once, keeping the time between its
		// load of the head word and its CAS short. The tail word, which
		// senders write, is read only when the bound shows nothing; if it
		// shows nothing either, the mailbox was empty at the instant the
		// head word was read (the tail only grows), and that word's flags
		// say whether that means Empty or, closed for writing, Unreadable.
		if h := m.head.Load(); h&(paused|readClosed) == 0 {
			if bound := m.tailBound.Load(); (bound-h)&posMask-1 >= maxDistance {
				t := m.tail.Load() & posMask
				if (t-h)&posMask-1 >= maxDistance {
					if h&writeClosed != 0 {
						return nil, Unreadable
					}
					return nil, Empty
				}
				if t != bound { // storing the same value would still take the line
					m.tailBound.Store(t)
				}
			}
			if m.head.CompareAndSwap(h, advance(h, 1)) {
				return m.take(m.slot(&m.headSeg, seg, segID, h&posMask)), Received
			}
			if yield {
				seam.Yield()
			}
			continue
		}
		s := m.snapshot()
		switch {
		case s.t&paused != 0:
			return nil, Paused
		case s.unreadable():
			return nil, Unreadable
		case s.count() == 0:
			return nil, Empty
		}
		// The receipt claims slot s.h and takes effect here.
		if m.head.CompareAndSwap(s.h, advance(s.h, 1)) {
			return m.take(m.slot(&m.headSeg, seg, segID, s.h&posMask)), Received
		}
	}
}

// take empties the slot a receipt has claimed and returns its item. The
// slot's send took effect before the receipt did, so the item is there or
// on its way; once it is there, a store of consumed takes it, so that the
// slot does not keep it alive, and is the slot's last access (final: see
// package impl/internal/segment, which recycles a segment whose slots
// are all consumed). Only the receipt writes a slot that holds an item.
func (m *Mailbox[T]) take(p *unsafe.Pointer) *T {
	if v := seam.LoadPointer(p); v != nil {
		seam.StorePointer(p, consumed)
		return (*T)(v) // the usual case: the item is there
	}
	for {
		// Wait for the sender to write: re-read (loads, which do not take
		// the line from the sender that must write it) a bounded while...
		for range lagSpins {
			if v := seam.LoadPointer(p); v != nil {
				seam.StorePointer(p, consumed)
				return (*T)(v)
			}
		}
		// ...then sleep until it has: set the lag bit, then look again (the
		// sender writes, then reads the wait word: one of us sees the
		// other), then park.
		w := m.getWaiter(lagKind, nil)
		m.mu.Lock()
		m.setWait(lagSleep)
		m.lists[lagKind].push(w)
		m.mu.Unlock()
		if v := seam.LoadPointer(p); v != nil {
			m.mu.Lock()
			if w.listed {
				m.unlist(w)
				m.mu.Unlock()
			} else {
				m.mu.Unlock()
				w.p.Park()
			}
			m.putWaiter(w)
			seam.StorePointer(p, consumed)
			return (*T)(v)
		}
		w.p.Park()
		m.putWaiter(w)
	}
}

// Pause holds both sides: TrySend and TryRecv report Paused and the
// blocking calls sleep until Resume. It reports whether the mailbox was
// running.
func (m *Mailbox[T]) Pause() bool { return m.pause() }

// Resume undoes Pause, waking everyone who sleeps; it reports whether the
// mailbox was paused.
func (m *Mailbox[T]) Resume() bool { return m.resume() }

// CloseWrite stops all sending for good: TrySend reports Unwritable, and
// receivers see Unreadable once they have drained what is queued. It
// reports whether this call closed it (false: it was closed already).
func (m *Mailbox[T]) CloseWrite() bool { return m.close(writeClosed) }

// CloseRead stops all receiving for good, and so all sending too:
// TryRecv reports Unreadable and TrySend Unwritable from now on. Items
// still queued stay counted; Drain hands them back. It reports whether
// this call closed it.
func (m *Mailbox[T]) CloseRead() bool { return m.close(readClosed) }

// Interrupt wakes up to n sleeping calls, longest sleeping first, which
// return ErrInterrupted (or, for the Wait calls, return early), and
// returns how many it woke. If it wakes fewer than n, the next call that
// would sleep returns as interrupted instead (one pending interrupt at
// most).
func (m *Mailbox[T]) Interrupt(n int) int { return m.interrupt(n) }

// Len returns the number of items sent and not yet received.
func (m *Mailbox[T]) Len() int { return m.snapshot().count() }

// Cap returns the capacity, or Unbounded.
func (m *Mailbox[T]) Cap() int {
	c := int(m.tail.Load() & capMask >> capShift)
	if c == capAll {
		return Unbounded
	}
	return c
}

// SetCap changes the capacity: Unbounded, or anything above MaxCapacity,
// for no limit. A capacity below Len makes the mailbox Full until receipts
// bring it under. SetCap panics if n is negative.
func (m *Mailbox[T]) SetCap(n int) {
	if n < 0 {
		panic(fmt.Sprintf("mailbox: SetCap(%d): capacity must not be negative (use mailbox.Unbounded for no limit)", n))
	}
	field := capField(n)
	_, changed := m.change(func(t uint64) (uint64, bool) { return t&^capMask | field, t&capMask != field })
	if changed && m.wait.Load()&(sendSleep|watchSleep) != 0 {
		m.wakeAll(sendSleep | watchSleep)
	}
}

// Clear removes every item and returns how many it removed. It works
// whether the mailbox is paused or closed. Items that concurrent sends
// deliver while it decides may stay queued (see spec.Mailbox); once the
// mailbox is closed, nothing can arrive, and it leaves the mailbox empty.
func (m *Mailbox[T]) Clear() int {
	seg, segID, s := m.claimAll()
	m.takeRun(seg, m.fullPos(segID, s.h&posMask), nil, s.count())
	return s.count()
}

// Drain removes every item and returns them in order, so that nothing
// queued is lost. It works whether the mailbox is paused or closed. Items
// that concurrent sends deliver while it decides may stay queued (see
// spec.Mailbox); once the mailbox is closed, nothing can arrive, and it
// leaves the mailbox empty.
func (m *Mailbox[T]) Drain() []*T {
	seg, segID, s := m.claimAll()
	if s.count() == 0 {
		return nil
	}
	items := make([]*T, s.count())
	m.takeRun(seg, m.fullPos(segID, s.h&posMask), items, len(items))
	return items
}

// takeRun takes the items of the n positions from p on, which the caller
// has claimed, starting from seg, the hint it loaded before, into out if
// out is not empty. Each lookup starts from the segment of the position
// before, as in TryRecvMany, so that a run over many segments walks them
// once, not once a position.
func (m *Mailbox[T]) takeRun(seg *segment.Segment, p uint64, out []*T, n int) {
	for i := range n {
		var sl *unsafe.Pointer
		seg, sl = m.segs.Locate(&m.headSeg, seg, p+uint64(i))
		if v := m.take(sl); len(out) > 0 {
			out[i] = v
		}
	}
}

// claimAll claims every slot between head and tail in one CAS of the head
// word, and wakes those it frees. It returns the segment hint loaded
// before, with its ID, and the snapshot it claimed on. The CAS validates the head word
// only: sends that land between the snapshot and the CAS are not claimed,
// though they came first (a Len between the two counts them), which the
// spec allows, as for TryRecvMany.
func (m *Mailbox[T]) claimAll() (*segment.Segment, uint64, snap) {
	for {
		seg, segID := segment.LoadHint(&m.headSeg)
		s := m.snapshot()
		n := uint64(s.count())
		if n == 0 {
			return seg, segID, s
		}
		if m.head.CompareAndSwap(s.h, advance(s.h, n)) {
			if m.wait.Load()&(sendSleep|watchSleep) != 0 {
				m.wakeAll(sendSleep | watchSleep)
			}
			return seg, segID, s
		}
	}
}

// Flags returns the mailbox's flags at one instant.
func (m *Mailbox[T]) Flags() Flags { return m.flags() }
