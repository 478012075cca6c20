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
// they can proceed) takes no lock and touches no channel: a snapshot of
// the two words (three loads), one CAS, one slot access, and one load of
// the wait word to learn whether anyone sleeps. Only a call that must
// sleep takes the mutex that guards the lists of sleepers, parks on a
// channel of its own, and costs no CPU while it sleeps; and only a call
// that finds a sleeper bit set in the wait word wakes anyone. Wake-ups are
// targeted: a receipt wakes one sleeping sender, a delivery one sleeping
// receiver; Interrupt(n) wakes at most n.
//
// # Items in flight
//
// A receipt can take effect before the sender of its slot, which took
// effect first, has written the slot: it then re-reads the slot for a
// bounded while and otherwise sleeps until that sender has written. The
// window is a few instructions of the sender, unless the sender is
// descheduled inside it.
package mailbox

import (
	"context"
	"fmt"
	"iter"
	"sync/atomic"
	"unsafe"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/internal/segment"
	"github.com/insideout-go/insideout/spec"
)

// The errors of blocking calls; the same values as in package spec.
var (
	ErrNil         = spec.ErrNil
	ErrUnwritable  = spec.ErrUnwritable
	ErrUnreadable  = spec.ErrUnreadable
	ErrInterrupted = spec.ErrInterrupted
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
	tailSeg atomic.Pointer[segment.Segment]
	headSeg atomic.Pointer[segment.Segment]
}

var _ spec.Mailbox[int] = (*Mailbox[int])(nil)

// New returns an empty mailbox that holds at most capacity items. Use
// Unbounded for no limit (any capacity above MaxCapacity means the same);
// capacity 0 makes a mailbox that is Full from birth. New panics if
// capacity is negative.
func New[T any](capacity int) *Mailbox[T] {
	if capacity < 0 {
		panic(fmt.Sprintf("mailbox: New(%d): capacity must not be negative (use mailbox.Unbounded for no limit)", capacity))
	}
	m := new(Mailbox[T])
	m.tail.Store(capField(capacity))
	s := new(segment.Segment)
	m.tailSeg.Store(s)
	m.headSeg.Store(s)
	return m
}

// slot returns the slot of position p (modulo 2^34), starting from s, the
// hint loaded before p was claimed.
func slot(hint *atomic.Pointer[segment.Segment], s *segment.Segment, p uint64) *unsafe.Pointer {
	base := s.ID * segment.Slots
	full := base + (p-base)&posMask
	return segment.Find(hint, s, full).Slot(full)
}

// TrySend sends v without waiting: Delivered, or Nil, Paused, Unwritable
// or Full (in that order of precedence) when it cannot, in which case
// nothing was sent.
func (m *Mailbox[T]) TrySend(v *T) spec.Result {
	if v == nil {
		return spec.Nil
	}
	var (
		seg *segment.Segment
		s   snap
	)
	for {
		seg = m.tailSeg.Load() // before claiming: see package segment
		s = m.snapshot()
		switch {
		case s.t&paused != 0:
			return spec.Paused
		case s.unwritable():
			return spec.Unwritable
		case s.full():
			return spec.Full
		}
		// The send claims slot s.t and takes effect here. The CAS fails if
		// the tail word changed since the snapshot: another send, or a
		// change of flags or capacity.
		if m.tail.CompareAndSwap(s.t, advance(s.t, 1)) {
			break
		}
	}
	chaos.Point() // taken effect, not yet written: its receipt may wait
	// The store publishes v: a release that pairs with the receipt's
	// swap of the same slot (an acquire).
	atomic.StorePointer(slot(&m.tailSeg, seg, s.t&posMask), unsafe.Pointer(v))
	// Read after writing: a receipt waiting for this slot sets its bit and
	// then looks at the slot, so one of the two sees the other.
	if w := m.wait.Load(); w&(recvSleep|watchSleep|lagSleep) != 0 {
		if w&lagSleep != 0 {
			m.wakeAll(lagSleep)
		}
		if w&recvSleep != 0 {
			m.wakeOne(recvKind)
		}
		if w&watchSleep != 0 {
			m.wakeWatchers()
		}
	}
	return spec.Delivered
}

// TryRecv receives without waiting: the first item and Received, or nil
// and Paused, Unreadable or Empty (in that order of precedence).
func (m *Mailbox[T]) TryRecv() (*T, spec.Result) {
	for {
		seg := m.headSeg.Load() // before claiming
		s := m.snapshot()
		switch {
		case s.t&paused != 0:
			return nil, spec.Paused
		case s.unreadable():
			return nil, spec.Unreadable
		case s.count() == 0:
			return nil, spec.Empty
		}
		// The receipt claims slot s.h and takes effect here.
		if m.head.CompareAndSwap(s.h, advance(s.h, 1)) {
			v := m.take(slot(&m.headSeg, seg, s.h&posMask))
			m.freed()
			return v, spec.Received
		}
	}
}

// freed wakes whoever a receipt may free: one sleeping sender, and the
// Wait calls.
func (m *Mailbox[T]) freed() {
	if w := m.wait.Load(); w&(sendSleep|watchSleep) != 0 {
		if w&sendSleep != 0 {
			m.wakeOne(sendKind)
		}
		if w&watchSleep != 0 {
			m.wakeWatchers()
		}
	}
}

// take empties the slot a receipt has claimed and returns its item. The
// slot's send took effect before the receipt did, so the item is there or
// on its way; the swap takes it and leaves nil, so that the slot does not
// keep it alive.
func (m *Mailbox[T]) take(p *unsafe.Pointer) *T {
	for i := 0; ; i++ {
		if v := atomic.SwapPointer(p, nil); v != nil {
			return (*T)(v)
		}
		if i < lagSpins {
			continue
		}
		// Sleep until the sender has written: set the lag bit, then look
		// again (the sender writes, then reads the wait word: one of us
		// sees the other), then park.
		w := getWaiter(lagKind, nil)
		m.mu.Lock()
		m.setWait(lagSleep)
		m.lists[lagKind].push(w)
		m.mu.Unlock()
		if v := atomic.SwapPointer(p, nil); v != nil {
			m.mu.Lock()
			if w.listed {
				m.unlist(w)
				m.mu.Unlock()
			} else {
				m.mu.Unlock()
				<-w.ch
			}
			putWaiter(w)
			return (*T)(v)
		}
		<-w.ch
		putWaiter(w)
		i = 0
	}
}

// Send sends v, sleeping while the mailbox is full or paused. It returns
// nil once v is delivered, ErrUnwritable if the mailbox is (or becomes)
// closed, ErrNil for nil, or ErrInterrupted if Interrupt woke it.
func (m *Mailbox[T]) Send(v *T) error { return m.SendContext(nil, v) }

// SendContext is Send, returning ctx's error if ctx ends while it sleeps.
// A nil ctx never ends.
func (m *Mailbox[T]) SendContext(ctx context.Context, v *T) error {
	for {
		switch m.TrySend(v) {
		case spec.Delivered:
			return nil
		case spec.Unwritable:
			return ErrUnwritable
		case spec.Nil:
			return ErrNil
		}
		if err := m.sleep(ctx, sendKind, snap.sendBlocked); err != nil {
			return err
		}
	}
}

// Recv receives the first item, sleeping while the mailbox is empty or
// paused. It returns ErrUnreadable once nothing more can come (closed for
// reading, or closed for writing and drained), or ErrInterrupted if
// Interrupt woke it.
func (m *Mailbox[T]) Recv() (*T, error) { return m.RecvContext(nil) }

// RecvContext is Recv, returning ctx's error if ctx ends while it sleeps.
// A nil ctx never ends.
func (m *Mailbox[T]) RecvContext(ctx context.Context) (*T, error) {
	for {
		switch v, r := m.TryRecv(); r {
		case spec.Received:
			return v, nil
		case spec.Unreadable:
			return nil, ErrUnreadable
		}
		if err := m.sleep(ctx, recvKind, snap.recvBlocked); err != nil {
			return nil, err
		}
	}
}

// All returns an iterator that receives items until the mailbox is
// unreadable, or until a Recv is interrupted; it stops early if the loop
// body breaks.
func (m *Mailbox[T]) All() iter.Seq[*T] {
	return func(yield func(*T) bool) {
		for {
			v, err := m.Recv()
			if err != nil || !yield(v) {
				return
			}
		}
	}
}

// WaitPushable sleeps until TrySend would not report Full or Paused. It
// returns false if the mailbox is unwritable (nothing can ever be sent),
// and true otherwise, including when Interrupt woke it: look again.
func (m *Mailbox[T]) WaitPushable() bool {
	s, interrupted := m.waitFor(snap.sendBlocked)
	return interrupted || !s.unwritable()
}

// WaitPoppable sleeps until TryRecv would not report Empty or Paused. It
// returns false if the mailbox is unreadable (nothing can ever be
// received), and true otherwise, including when Interrupt woke it.
func (m *Mailbox[T]) WaitPoppable() bool {
	s, interrupted := m.waitFor(snap.recvBlocked)
	return interrupted || !s.unreadable()
}

// WaitEmpty sleeps until the mailbox is empty, or Interrupt wakes it.
func (m *Mailbox[T]) WaitEmpty() { m.waitFor(func(s snap) bool { return s.count() > 0 }) }

// WaitFull sleeps until the mailbox holds its capacity or more, or
// Interrupt wakes it.
func (m *Mailbox[T]) WaitFull() { m.waitFor(func(s snap) bool { return !s.full() }) }

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
// whether the mailbox is paused or closed.
func (m *Mailbox[T]) Clear() int {
	seg, s := m.claimAll()
	for i := range s.count() {
		m.take(slot(&m.headSeg, seg, (s.h+uint64(i))&posMask))
	}
	return s.count()
}

// Drain removes every item and returns them in order, so that nothing
// queued is lost. It works whether the mailbox is paused or closed.
func (m *Mailbox[T]) Drain() []*T {
	seg, s := m.claimAll()
	if s.count() == 0 {
		return nil
	}
	items := make([]*T, s.count())
	for i := range items {
		items[i] = m.take(slot(&m.headSeg, seg, (s.h+uint64(i))&posMask))
	}
	return items
}

// claimAll claims every slot between head and tail in one CAS of the head
// word, and wakes those it frees. It returns the segment hint loaded
// before, and the snapshot it claimed on.
func (m *Mailbox[T]) claimAll() (*segment.Segment, snap) {
	for {
		seg := m.headSeg.Load()
		s := m.snapshot()
		n := uint64(s.count())
		if n == 0 {
			return seg, s
		}
		if m.head.CompareAndSwap(s.h, advance(s.h, n)) {
			if m.wait.Load()&(sendSleep|watchSleep) != 0 {
				m.wakeAll(sendSleep | watchSleep)
			}
			return seg, s
		}
	}
}

// Flags returns the mailbox's flags at one instant.
func (m *Mailbox[T]) Flags() spec.Flags { return m.flags() }
