package mailbox

import (
	"context"
	"iter"
	"unsafe"

	"github.com/insideout-go/insideout/impl/seam"
)

// What a successful operation did, for settle.
const (
	delivered = 1 << iota // an item was delivered: a receiver may proceed
	received              // an item was received: a sender may proceed
)

// settle does the wake-ups that deliveries and receipts call for, read
// off the wait word after the operation (a sleeper sets its bit before it
// looks at the state, so one of the two sees the other): receipts waiting
// for the item they claimed, the Wait calls, and the longest-sleeping
// receiver after a delivery or sender after a receipt. Those two it does
// not merely wake: it does their operation for them, as a channel hands a
// value to a blocked goroutine, so that the woken call returns at once
// instead of trying again. Each operation done so may free another
// sleeper, so settle loops until there is no one left to free.
func (m *Mailbox[T]) settle(did int) {
	for did != 0 {
		w := m.wait.Load()
		if w == 0 {
			return
		}
		next := 0
		if did&delivered != 0 {
			if w&lagSleep != 0 {
				m.wakeAll(lagSleep)
			}
			if w&recvSleep != 0 && m.handRecv() {
				next |= received
			}
		}
		if did&received != 0 && w&sendSleep != 0 && m.handSend() {
			next |= delivered
		}
		if w&watchSleep != 0 {
			m.wakeWatchers()
		}
		did = next
	}
}

// handOff gives v straight to the longest-sleeping Recv, as a channel
// hands a value to a blocked receiver, if the mailbox is open and empty:
// v never touches a slot, and no word changes. It reports false, having
// done nothing, if no Recv sleeps or the mailbox is not open and empty
// with room for v.
//
// The send and that receipt take effect together at the instant of the
// snapshot, which is taken under mu with the Recv still listed: its call
// was in progress, the mailbox open and empty, so a send there followed at
// once by its receipt leaves every word as it was, and anything that
// happens after the snapshot (a Pause, a close, other sends and receipts)
// comes after the pair. The Send call is in progress too: it began before
// the snapshot and ends after the hand-over.
func (m *Mailbox[T]) handOff(v *T) bool {
	m.mu.Lock()
	w := m.lists[recvKind].head
	if w == nil {
		m.mu.Unlock()
		return false
	}
	if s := m.snapshot(); s.flags() != 0 || s.count() != 0 || capOf(s.t) == 0 {
		m.mu.Unlock()
		return false
	}
	m.unlist(w)
	m.mu.Unlock()
	w.result, w.item = Received, unsafe.Pointer(v)
	w.p.Unpark()
	return true
}

// handSend takes the longest-sleeping Send off its list, tries its send
// for it, and wakes it with the outcome (Delivered or Unwritable) or to
// try again. The send takes effect, if it does, while the Send call is in
// progress. It reports whether an item was delivered.
func (m *Mailbox[T]) handSend() bool {
	w := m.takeOne(sendKind)
	if w == nil {
		return false
	}
	r := m.trySend((*T)(w.item), false)
	if r == Delivered || r == Unwritable {
		w.result = r
	}
	w.counted = true
	m.woken.Add(1)
	w.p.Unpark()
	return r == Delivered
}

// handRecv is handSend's twin for the longest-sleeping Recv. It reports
// whether an item was received.
func (m *Mailbox[T]) handRecv() bool {
	w := m.takeOne(recvKind)
	if w == nil {
		return false
	}
	v, r := m.tryRecv(false)
	if r == Received || r == Unreadable {
		w.result, w.item = r, unsafe.Pointer(v)
	}
	w.p.Unpark()
	return r == Received
}

// recvSpins is how many times a Recv that finds the mailbox empty yields
// the processor and looks again before it sleeps: a bounded wait that
// spares a park and a wake-up when an item is about to come.
const recvSpins = 4

// Send sends v, sleeping while the mailbox is full or paused. It returns
// nil once v is delivered, ErrUnwritable if the mailbox is (or becomes)
// closed, ErrNil for nil, or ErrInterrupted if Interrupt woke it.
func (m *Mailbox[T]) Send(v *T) error { return m.send(context.Background(), v) }

// SendContext is Send, returning ctx's error if ctx ends while it sleeps.
// ctx must not be nil (use context.Background(), or Send): SendContext
// panics if it is, as context.WithCancel does with a nil parent.
func (m *Mailbox[T]) SendContext(ctx context.Context, v *T) error {
	if ctx == nil {
		panic("mailbox: SendContext with a nil context.Context: use context.Background(), or Send")
	}
	return m.send(ctx, v)
}

// send is Send with ctx, which is not nil.
func (m *Mailbox[T]) send(ctx context.Context, v *T) error {
	if v != nil && m.wait.Load()&recvSleep != 0 && m.handOff(v) {
		return nil
	}
	for {
		switch m.trySend(v, yieldOnContention) {
		case Delivered:
			m.settle(delivered)
			return nil
		case Unwritable:
			return ErrUnwritable
		case Nil:
			return ErrNil
		}
		r, _, err := m.sleep(ctx, sendKind, snap.sendBlocked, unsafe.Pointer(v))
		switch {
		case err != nil:
			return err
		case r == Delivered:
			return nil
		case r == Unwritable:
			return ErrUnwritable
		}
	}
}

// Recv receives the first item, sleeping while the mailbox is empty or
// paused. It returns ErrUnreadable once nothing more can come (closed for
// reading, or closed for writing and drained), or ErrInterrupted if
// Interrupt woke it.
func (m *Mailbox[T]) Recv() (*T, error) { return m.recv(context.Background()) }

// RecvContext is Recv, returning ctx's error if ctx ends while it sleeps.
// ctx must not be nil (use context.Background(), or Recv): RecvContext
// panics if it is, as context.WithCancel does with a nil parent.
func (m *Mailbox[T]) RecvContext(ctx context.Context) (*T, error) {
	if ctx == nil {
		panic("mailbox: RecvContext with a nil context.Context: use context.Background(), or Recv")
	}
	return m.recv(ctx)
}

// recv is Recv with ctx, which is not nil.
func (m *Mailbox[T]) recv(ctx context.Context) (*T, error) {
	spins := 0
	for {
		switch v, r := m.tryRecv(yieldOnContention); r {
		case Received:
			m.settle(received)
			return v, nil
		case Unreadable:
			return nil, ErrUnreadable
		case Empty:
			// Spin only while no other receiver sleeps: where receivers
			// queue up, one more spinning only takes the processor from
			// the senders. And not while a Send that a receipt woke has
			// yet to run: the waker's processor is where Go runs it next,
			// so yielding would only hand it that processor to send one
			// item, where sleeping lets it hand this call an item and
			// send another before it sleeps in turn (at capacity 1, fewer
			// switches of goroutine than one per item).
			if spins < recvSpins && m.wait.Load()&recvSleep == 0 && m.woken.Load() == 0 {
				spins++
				seam.Yield()
				continue
			}
		}
		r, got, err := m.sleep(ctx, recvKind, snap.recvBlocked, nil)
		switch {
		case err != nil:
			return nil, err
		case r == Received:
			return (*T)(got), nil
		case r == Unreadable:
			return nil, ErrUnreadable
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
