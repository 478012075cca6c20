package mailboxtest

// Broken: the real mailbox of impl/mailbox, wrapped so that it breaks one
// promise now and then.

import (
	"context"
	"iter"
	"slices"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// A BrokenMailbox is what Broken returns: a spec.Mailbox[T] that also has
// the range form of impl/mailbox's Mailbox, All, so that it stands in
// wherever the real one does.
type BrokenMailbox[T any] interface {
	spec.Mailbox[T]
	// All receives until the mailbox is unreadable or interrupted,
	// through the broken Recv.
	All() iter.Seq[*T]
}

// Broken wraps m, a real mailbox, and breaks the promise that bug names
// (one of the bugs of Broken: Loses to HidesInterrupt, and the batch bugs
// BatchLoses to BatchCopies), every every-th time its chance comes (1 or
// less: every time); the operations bug does not name are m's own. sender
// says which sender sent an item: Reorders holds an item back until its
// sender's next send (nil: all items are one sender's). The wrapper's own
// state is guarded by a mutex and atomics, so that the race detector stays
// quiet and only the semantics are wrong; they are impl/seam's, as the
// mailbox's own are, so that a controlled scheduler can interleave them.
// Broken panics if handed a bug of another constructor.
func Broken[T any](m *mailbox.Mailbox[T], bug Bug, every int, sender func(*T) int) BrokenMailbox[T] {
	bug.mustBe("Broken", firstBroken, firstVoid)
	b := &broken[T]{Mailbox: m, bug: bug, every: int64(max(every, 1)), sender: sender}
	if bug == Stalls {
		b.readClosed = make(chan struct{})
	}
	return b
}

// broken is the mailbox Broken returns.
type broken[T any] struct {
	*mailbox.Mailbox[T]
	bug    Bug
	every  int64
	sender func(*T) int

	n          seam.Int64
	mu         seam.Mutex
	again      []*T       // Doubles: items to hand out once more
	held       map[int]*T // Reorders: per sender, the item held back
	stalled    seam.Bool
	readClosed chan struct{} // Stalls: closed (seam.Close) by the first CloseRead
	// readDone, under mu, says readClosed is closed: a sync.Once would
	// block a second CloseRead outside the seam while the first closes.
	readDone bool
}

// strike counts a chance of the bug and reports whether this one is the
// every-th.
func (b *broken[T]) strike() bool { return b.n.Add(1)%b.every == 0 }

// from is v's sender.
func (b *broken[T]) from(v *T) int {
	if b.sender == nil {
		return 0
	}
	return b.sender(v)
}

// before runs ahead of a send of v: it reports true if the send is to be
// swallowed (reported delivered, not made).
func (b *broken[T]) before(v *T) bool {
	if v == nil {
		return false
	}
	if b.bug == Loses && b.strike() {
		return true
	}
	if b.bug == Reorders && b.strike() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.held == nil {
			b.held = map[int]*T{}
		}
		if s := b.from(v); b.held[s] == nil {
			b.held[s] = v
			return true
		}
	}
	return false
}

// after runs once a send of v has delivered it: it sends the item held
// back from v's sender, if any, now behind v.
func (b *broken[T]) after(v *T) {
	if b.bug != Reorders || v == nil {
		return
	}
	s := b.from(v)
	b.mu.Lock()
	h := b.held[s]
	delete(b.held, s)
	b.mu.Unlock()
	for h != nil {
		switch b.Mailbox.TrySend(h) {
		case spec.Full, spec.Paused:
			seam.Yield()
		default:
			return
		}
	}
}

func (b *broken[T]) TrySend(v *T) spec.Result {
	if b.before(v) {
		return spec.Delivered
	}
	r := b.Mailbox.TrySend(v)
	switch {
	case r == spec.Delivered:
		b.after(v)
		if b.bug == Phantom && b.strike() {
			return spec.Full
		}
	case b.bug == PausedFull && r == spec.Paused && b.Len() >= b.Cap() && b.strike():
		return spec.Full
	}
	return r
}

func (b *broken[T]) Send(v *T) error { return b.SendContext(context.Background(), v) }

func (b *broken[T]) SendContext(ctx context.Context, v *T) error {
	if b.before(v) {
		return nil
	}
	err := b.Mailbox.SendContext(ctx, v)
	if err == nil {
		b.after(v)
		if b.bug == Phantom && b.strike() {
			return spec.ErrInterrupted
		}
	}
	return err
}

// takeAgain returns an item to hand out once more, if any.
func (b *broken[T]) takeAgain() *T {
	if b.bug != Doubles {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.again) == 0 {
		return nil
	}
	x := b.again[0]
	b.again = b.again[1:]
	return x
}

// received runs after a receipt of x.
func (b *broken[T]) received(x *T) {
	if b.bug == Doubles && x != nil && b.strike() {
		b.mu.Lock()
		b.again = append(b.again, x)
		b.mu.Unlock()
	}
}

// hang makes the first receipt after every receipts sleep until
// CloseRead, as if it had missed its wake-up with the item in hand; it
// reports whether it did, and the receipt then drops the item.
func (b *broken[T]) hang(x *T) bool {
	if b.bug != Stalls || x == nil || !b.strike() || !b.stalled.CompareAndSwap(false, true) {
		return false
	}
	seam.Await(b.readClosed)
	return true
}

func (b *broken[T]) CloseRead() bool {
	if b.readClosed != nil {
		b.mu.Lock()
		if !b.readDone {
			b.readDone = true
			seam.Close(b.readClosed)
		}
		b.mu.Unlock()
	}
	return b.Mailbox.CloseRead()
}

func (b *broken[T]) TryRecv() (*T, spec.Result) {
	if x := b.takeAgain(); x != nil {
		return x, spec.Received
	}
	var (
		x *T
		r spec.Result
	)
	switch b.bug {
	case LIFO:
		x, r = b.newest()
	default:
		x, r = b.Mailbox.TryRecv()
	}
	if b.hang(x) {
		return nil, spec.Unreadable
	}
	b.received(x)
	if b.bug == Copies && x != nil && b.strike() {
		c := *x
		x = &c
	}
	return x, r
}

// newest is the LIFO bug's TryRecv: it takes every item out, keeps the
// newest, and sends the rest back in order (enough for an unpaused, open
// mailbox with no other client).
func (b *broken[T]) newest() (*T, spec.Result) {
	items := b.Mailbox.Drain()
	if len(items) == 0 || !b.strike() {
		for _, x := range items {
			b.Mailbox.TrySend(x)
		}
		return b.Mailbox.TryRecv()
	}
	for _, x := range items[:len(items)-1] {
		b.Mailbox.TrySend(x)
	}
	return items[len(items)-1], spec.Received
}

func (b *broken[T]) Recv() (*T, error) { return b.RecvContext(context.Background()) }

func (b *broken[T]) RecvContext(ctx context.Context) (*T, error) {
	if x := b.takeAgain(); x != nil {
		return x, nil
	}
	x, err := b.Mailbox.RecvContext(ctx)
	if b.hang(x) {
		return nil, spec.ErrUnreadable
	}
	b.received(x)
	return x, err
}

func (b *broken[T]) All() iter.Seq[*T] {
	return func(yield func(*T) bool) {
		for {
			x, err := b.Recv()
			if err != nil || !yield(x) {
				return
			}
		}
	}
}

func (b *broken[T]) Drain() []*T {
	var xs []*T
	for x := b.takeAgain(); x != nil; x = b.takeAgain() {
		xs = append(xs, x)
	}
	xs = append(xs, b.Mailbox.Drain()...)
	if b.bug == DrainReverses && b.strike() {
		slices.Reverse(xs)
	}
	return xs
}

func (b *broken[T]) CloseWrite() bool {
	closed := b.Mailbox.CloseWrite()
	if b.bug == ClosesTwice && b.strike() {
		return true // claims to have closed a mailbox that was closed already
	}
	return closed
}

func (b *broken[T]) Flags() spec.Flags {
	f := b.Mailbox.Flags()
	if b.bug == HidesInterrupt && b.strike() {
		f &^= spec.FlagInterrupt // a pending interrupt that Flags does not show
	}
	return f
}

func (b *broken[T]) TrySendMany(vs []*T) (int, spec.Result) {
	switch {
	case b.bug == BatchLoses && len(vs) >= 2 && b.strike():
		// Sends all but the last item, and reports the last sent too.
		if n, r := b.Mailbox.TrySendMany(vs[:len(vs)-1]); r != spec.Delivered || n < len(vs)-1 {
			return n, r
		}
		return len(vs), spec.Delivered
	case b.bug == BatchNilPrefix && slices.Contains(vs, nil) && b.strike():
		// Sends item by item and stops at the nil: the items before it go
		// through, though Nil means nothing was sent.
		for _, v := range vs {
			if v == nil {
				return 0, spec.Nil
			}
			b.Mailbox.TrySend(v)
		}
	case b.bug == BatchAllOrNothing && !slices.Contains(vs, nil):
		// Refuses a batch that does not fit whole, though its prefix does.
		if room := b.Cap() - b.Len(); room > 0 && room < len(vs) && b.strike() {
			return 0, spec.Full
		}
	}
	return b.Mailbox.TrySendMany(vs)
}

func (b *broken[T]) TryRecvMany(dst []*T) (int, spec.Result) {
	if b.bug == BatchRecvOne && len(dst) > 1 && b.strike() {
		// Takes one item however many dst has room for and are there.
		return b.Mailbox.TryRecvMany(dst[:1])
	}
	n, r := b.Mailbox.TryRecvMany(dst)
	switch {
	case b.bug == BatchDrops && n >= 2 && b.strike():
		return n - 1, r // takes n items and hands out n-1
	case b.bug == BatchReverses && n >= 2 && b.strike():
		slices.Reverse(dst[:n])
	case b.bug == BatchCopies && n > 0 && b.strike():
		// Hands back copies: the right values, the wrong pointers.
		for i, p := range dst[:n] {
			c := *p
			dst[i] = &c
		}
	}
	return n, r
}

// BrokenVoid wraps v, a real void mailbox, and breaks the promise that bug
// names (EarlyFalse or HidesPause), every every-th time its chance comes
// (1 or less: every time); the operations bug does not name are v's own.
// BrokenVoid panics if handed a bug of another constructor.
func BrokenVoid(v *mailbox.Void, bug Bug, every int) Void {
	bug.mustBe("BrokenVoid", firstVoid, bugs)
	return &brokenVoid{Void: v, bug: bug, every: int64(max(every, 1))}
}

// brokenVoid is the void mailbox BrokenVoid returns.
type brokenVoid struct {
	*mailbox.Void
	bug   Bug
	every int64
	n     seam.Int64
}

func (v *brokenVoid) strike() bool { return v.n.Add(1)%v.every == 0 }

func (v *brokenVoid) WaitPoppable() bool {
	ok := v.Void.WaitPoppable()
	if v.bug == EarlyFalse && v.strike() {
		return false
	}
	return ok
}

func (v *brokenVoid) Flags() spec.Flags {
	f := v.Void.Flags()
	if v.bug == HidesPause && v.strike() {
		f &^= spec.FlagPaused
	}
	return f
}
