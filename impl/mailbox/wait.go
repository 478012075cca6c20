package mailbox

import (
	"context"
	"sync"
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/seam"
)

// A kind of sleeper, each with its own list and its own bit in the wait
// word.
type kind uint8

const (
	sendKind  kind = iota // Send: waits for room or resumption
	recvKind              // Recv: waits for an item or resumption
	watchKind             // the Wait calls: wait for a condition
	lagKind               // a receipt whose item is still being placed
	kinds
)

// The wait word: which kinds of sleeper may be asleep, and whether an
// interrupt is pending. It changes only under core.mu; operations that
// succeed read it, after their CAS, to learn whether anyone needs waking.
const (
	sendSleep = 1 << iota
	recvSleep
	watchSleep
	lagSleep
	pending
)

var kindBits = [kinds]uint64{sendSleep, recvSleep, watchSleep, lagSleep}

// A waiter is one sleeping call. It parks on a parker of its own (one
// permit; unparking never blocks the waker), which is unparked at most
// once per sleep, by whoever takes it off its list under core.mu: a
// waiter is listed once per sleep, and every Unpark follows its removal
// from the list. So the protocol never unparks a parker that holds a
// permit (the parker would merge the two, where the buffered channel of
// capacity 1 it replaces would have blocked the waker), and the permit
// of a sleep is always taken before the waiter goes back (putWaiter), so
// that every sleep starts with none.
type waiter struct {
	p           seam.Parker
	blocked     func(snap) bool // the condition that holds the call back
	kind        kind
	listed      bool
	interrupted bool
	counted     bool   // counted in core.woken until it runs
	seq         uint64 // arrival order, for Interrupt
	prev, next  *waiter
	// A sleeping Send or Recv may have its operation done for it by the
	// call that wakes it (see Mailbox.settle): item is the item to send,
	// or the item received, and result the outcome, or 0 to try again.
	item   unsafe.Pointer
	result Result
}

// waiters is outside the seam on purpose: it recycles waiters between
// calls and holds no state the protocol depends on.
var waiters = sync.Pool{New: func() any { return &waiter{p: seam.MakeParker()} }}

func (c *core) getWaiter(k kind, blocked func(snap) bool) *waiter {
	w := c.spare.Swap(nil)
	if w == nil {
		w = waiters.Get().(*waiter)
	}
	w.kind, w.blocked, w.interrupted, w.result = k, blocked, false, 0
	return w
}

// putWaiter recycles w, as its call returns; its parker must hold no
// permit and w be off every list.
func (c *core) putWaiter(w *waiter) {
	if w.counted { // its call runs again
		c.woken.Add(-1)
		w.counted = false
	}
	w.blocked, w.item = nil, nil
	if !c.spare.CompareAndSwap(nil, w) {
		waiters.Put(w)
	}
}

// A list of waiters, oldest first.
type list struct{ head, tail *waiter }

func (l *list) push(w *waiter) {
	w.prev, w.next, w.listed = l.tail, nil, true
	if l.tail == nil {
		l.head = w
	} else {
		l.tail.next = w
	}
	l.tail = w
}

func (l *list) remove(w *waiter) {
	if w.prev == nil {
		l.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		l.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next, w.listed = nil, nil, false
}

// core is the part of a mailbox that holds its state: the two words, and
// the sleepers. Mailbox and Void are built on it.
//
// The two words are all that an operation that does not wait touches,
// apart from one load of the wait word. mu guards the lists of sleepers
// and the wait word, and only two kinds of caller take it: a call that
// must sleep, and a call that finds a bit set in the wait word and so has
// someone to wake.
type core struct {
	words
	wait  seam.Uint64
	mu    seam.Mutex
	lists [kinds]list
	seq   uint64
	// spare is a waiter kept for the next call that sleeps: a mailbox's
	// sleepers often come and go one at a time, and a swap costs less
	// than a trip through the sync.Pool.
	spare seam.Pointer[waiter]
	// woken counts the Send calls that a receipt has woken (handSend) and
	// that have not run since: see Mailbox.RecvContext's spin.
	woken seam.Int32
}

// setWait and clearWait change the wait word; c.mu must be held.
func (c *core) setWait(bits uint64)   { c.wait.Store(c.wait.Load() | bits) }
func (c *core) clearWait(bits uint64) { c.wait.Store(c.wait.Load() &^ bits) }

// sleep waits, for a call of kind k (not lagKind), until the state may
// have changed in a way that matters to it. It returns the outcome of the
// call's operation if the waker did it for the call (see Mailbox.settle;
// item is the item to send, and the item received comes back), 0 to have
// the call try again, or ErrInterrupted, or ctx's error (ctx is not nil:
// context.Background() for a call without one, whose Done is nil).
//
// blocked says whether a state still holds the call back. The sleeper sets
// its kind's bit in the wait word and only then takes a snapshot to check
// blocked; an operation that frees it changes a word by CAS and only then
// reads the wait word. All of these are sequentially consistent, so either
// the check sees the change (and the call does not sleep) or the operation
// sees the bit, and takes mu, after this call has listed itself, to wake
// it. No wake-up is lost.
func (c *core) sleep(ctx context.Context, k kind, blocked func(snap) bool, item unsafe.Pointer) (Result, unsafe.Pointer, error) {
	w := c.getWaiter(k, blocked)
	w.item = item
	c.mu.Lock()
	if !knownbad.MailboxSleepsUnannounced.Load() {
		c.setWait(kindBits[k])
	}
	if !blocked(c.snapshot()) {
		c.idle(k)
		c.mu.Unlock()
		c.putWaiter(w)
		return 0, nil, nil
	}
	if c.wait.Load()&pending != 0 { // it stops the first call that would sleep
		c.clearWait(pending)
		c.idle(k)
		c.mu.Unlock()
		c.putWaiter(w)
		return 0, nil, ErrInterrupted
	}
	w.seq = c.seq
	c.seq++
	c.lists[k].push(w)
	c.mu.Unlock()
	seam.Point()

	if done := ctx.Done(); done == nil {
		w.p.Park() // no context to watch: a plain park costs less than ParkOr's select
	} else if !w.p.ParkOr(done) {
		c.mu.Lock()
		if w.listed {
			c.unlist(w)
			c.mu.Unlock()
			c.putWaiter(w)
			return 0, nil, ctx.Err()
		}
		c.mu.Unlock()
		w.p.Park() // a waker took it off its list first: take what it meant
		if w.result == 0 && !w.interrupted || knownbad.MailboxCutShortDrops.Load() {
			c.putWaiter(w)
			return 0, nil, ctx.Err()
		}
	}
	result, got, interrupted := w.result, w.item, w.interrupted
	c.putWaiter(w)
	if interrupted {
		return 0, nil, ErrInterrupted
	}
	return result, got, nil
}

// idle clears kind k's bit if nobody of that kind sleeps. c.mu must be
// held.
func (c *core) idle(k kind) {
	if c.lists[k].head == nil {
		c.clearWait(kindBits[k])
	}
}

// unlist takes w off its list. c.mu must be held.
func (c *core) unlist(w *waiter) {
	c.lists[w.kind].remove(w)
	c.idle(w.kind)
}

// signal takes w off its list and wakes it. c.mu must be held.
func (c *core) signal(w *waiter, interrupted bool) {
	c.unlist(w)
	w.interrupted = interrupted
	w.p.Unpark()
}

// takeOne takes the longest sleeper of kind k off its list, to hand it
// its operation's outcome; nil if nobody of that kind sleeps.
func (c *core) takeOne(k kind) *waiter {
	c.mu.Lock()
	w := c.lists[k].head
	if w != nil {
		c.unlist(w)
	}
	c.mu.Unlock()
	return w
}

// wakeAll wakes every sleeper of the kinds whose bits are in bits.
func (c *core) wakeAll(bits uint64) {
	c.mu.Lock()
	for k := range kinds {
		if bits&kindBits[k] != 0 {
			for c.lists[k].head != nil {
				c.signal(c.lists[k].head, false)
			}
		}
	}
	c.mu.Unlock()
}

// wakeWatchers wakes every Wait call whose condition no longer holds it
// back.
func (c *core) wakeWatchers() {
	c.mu.Lock()
	s := c.snapshot()
	for w := c.lists[watchKind].head; w != nil; {
		next := w.next
		if !w.blocked(s) {
			c.signal(w, false)
		}
		w = next
	}
	c.mu.Unlock()
}

// interrupt wakes up to n sleepers, longest sleeping first, as
// interrupted, and makes an interrupt pending if it woke fewer than n. It
// returns how many it woke. Receipts waiting for an item in flight are not
// sleepers in this sense: they have already taken effect.
//
// Everything happens under mu, and the pending interrupt is set before any
// woken call is signalled: a woken call returns without taking mu, so it
// must not be able to look at the flags before the interrupt that woke it
// has finished taking effect. (The stress suite caught the other order: a
// woken WaitEmpty's caller read flags without the pending interrupt that
// Interrupt had reported by waking fewer than asked.)
func (c *core) interrupt(n int) int {
	if n <= 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var woken []*waiter
	for len(woken) < n {
		var oldest *waiter
		for k := sendKind; k <= watchKind; k++ {
			if w := c.lists[k].head; w != nil && (oldest == nil || w.seq < oldest.seq) {
				oldest = w
			}
		}
		if oldest == nil {
			break
		}
		c.unlist(oldest)
		woken = append(woken, oldest)
	}
	if len(woken) < n {
		c.setWait(pending)
	}
	for _, w := range woken {
		w.interrupted = true
		w.p.Unpark()
	}
	return len(woken)
}

// flags returns the flags at one instant: the pending interrupt is read
// before and after the snapshot, and the snapshot retaken if it changed.
//
// With an interrupt pending, flags reads both under mu. A call that would
// sleep takes its snapshot and the pending interrupt under mu, the two
// decided as one step at the snapshot; a close (which takes no lock) can
// land between them. Read without mu, the flags could then show the close
// and the interrupt still pending, after the instant at which the call
// took it: a history no order explains. (The controlled scheduler's PCT
// found it: Recv interrupted, CloseWrite, Flags showing both.)
func (c *core) flags() Flags {
	for {
		p := c.wait.Load() & pending
		if p != 0 && !knownbad.MailboxFlagsWithoutLock.Load() {
			c.mu.Lock()
			p = c.wait.Load() & pending
			if knownbad.MailboxFlagsSnapshotUnlocked.Load() {
				c.mu.Unlock()
				return flagsOf(c.snapshot(), p != 0)
			}
			s := c.snapshot()
			c.mu.Unlock()
			return flagsOf(s, p != 0)
		}
		s := c.snapshot()
		if c.wait.Load()&pending == p {
			return flagsOf(s, p != 0)
		}
	}
}

// change applies f to the tail word by CAS (f reports false to leave it
// as it is), copies the flags to the head word, and returns the tail word
// before and whether f changed it.
//
// It copies the flags even when f changes nothing: a call that finds a
// flag already set (a second Pause, a second close) must not return before
// the change that set it has taken effect, which it does when its copy is
// made. (The stress suite caught the other order: a Pause reported false,
// "already paused", while the first Pause had not yet copied its flag, and
// the same client's TryRecv then reported Empty where it had to say
// Paused.)
func (c *core) change(f func(t uint64) (uint64, bool)) (uint64, bool) {
	if !knownbad.MailboxStaleFlagCopy.Load() {
		c.flagMu.Lock()
		defer c.flagMu.Unlock()
	}
	for {
		t := c.tail.Load()
		n, ok := f(t)
		if !ok {
			c.reconcile()
			return t, false
		}
		if c.tail.CompareAndSwap(t, n) {
			c.reconcile()
			return t, true
		}
	}
}

// setFlag and clearFlag turn a flag on or off, reporting whether it
// changed.
func (c *core) setFlag(bit uint64) bool {
	_, ok := c.change(func(t uint64) (uint64, bool) { return t | bit, t&bit == 0 })
	return ok
}

func (c *core) clearFlag(bit uint64) bool {
	_, ok := c.change(func(t uint64) (uint64, bool) { return t &^ bit, t&bit != 0 })
	return ok
}

// pause, resume and close are the control operations shared by Mailbox
// and Void. Pausing frees no one, so it wakes no one; the others may free
// any sleeper, so they wake every one of them to look again.
func (c *core) pause() bool { return c.setFlag(paused) }

func (c *core) resume() bool {
	ok := c.clearFlag(paused)
	if ok && c.wait.Load()&(sendSleep|recvSleep|watchSleep) != 0 {
		c.wakeAll(sendSleep | recvSleep | watchSleep)
	}
	return ok
}

func (c *core) close(bit uint64) bool {
	ok := c.setFlag(bit)
	if ok && c.wait.Load()&(sendSleep|recvSleep|watchSleep) != 0 {
		c.wakeAll(sendSleep | recvSleep | watchSleep)
	}
	return ok
}

// waitFor sleeps as a Wait call until blocked no longer holds, and returns
// the state that ended the wait, or interrupted.
func (c *core) waitFor(blocked func(snap) bool) (s snap, interrupted bool) {
	for {
		s = c.snapshot()
		if !blocked(s) {
			return s, false
		}
		if _, _, err := c.sleep(context.Background(), watchKind, blocked, nil); err != nil {
			return s, true
		}
	}
}
