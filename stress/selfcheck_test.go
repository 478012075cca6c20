package stress

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/spec"
)

// The conservation and storm checks must be able to fail. These tests run
// them, small, on known-bad queues (queuetest.BadQueue: mutex-guarded, so
// that only their semantics are wrong and the race detector stays quiet)
// and require each break to be reported as what it is.

// brokenQueues are the known-bad queues of queuetest that the
// conservation and storm checks must catch, each with a phrase the
// problems must contain.
var brokenQueues = []struct {
	name string
	make func() spec.Queue[item]
	want string
}{
	{"lose", func() spec.Queue[item] { return queuetest.BadQueue[item](queuetest.Drops, 997) }, "missing"},
	{"double", func() spec.Queue[item] { return queuetest.BadQueue[item](queuetest.Doubles, 997) }, "more than once"},
	{"lifo", func() spec.Queue[item] { return queuetest.BadQueue[item](queuetest.LIFO, 1) }, "per-producer FIFO order broken"},
	{"copy", func() spec.Queue[item] { return queuetest.BadQueue[item](queuetest.Copies, 997) }, "not an item that was pushed"},
	{"len", func() spec.Queue[item] { return queuetest.BadQueue[item](queuetest.LenOff, 1) }, "Len = 1"},
}

func requireCaught(t *testing.T, res result, want string) {
	t.Helper()
	if res.hang != "" {
		t.Fatalf("the run hung instead of reporting the bug:\n%s", res.hang)
	}
	all := strings.Join(res.problems, "\n")
	if !strings.Contains(all, want) {
		t.Fatalf("problems do not mention %q:\n%s", want, all)
	}
	t.Logf("caught:\n%s", all)
}

func TestConservationCatchesBrokenQueues(t *testing.T) {
	for _, c := range brokenQueues {
		t.Run(c.name, func(t *testing.T) {
			res := conserve(c.make(), conserveConfig{
				producers: 4, consumers: 4, perProducer: 2000,
				stall: 200 * time.Millisecond, finish: time.Minute,
			})
			requireCaught(t, res, c.want)
		})
	}
}

func TestStormCatchesBrokenQueues(t *testing.T) {
	for _, c := range brokenQueues {
		t.Run(c.name, func(t *testing.T) {
			res := storm(c.make(), stormConfig{workers: 8, perWorker: 2000, seed: 1, finish: time.Minute})
			want := c.want
			if c.name == "len" {
				want = "quiescent Len" // the storm checks Len before its drain too
			}
			requireCaught(t, res, want)
		})
	}
}

// brokenMailbox wraps the real mailbox of impl/mailbox and breaks one
// promise, every every-th time its chance comes; the wrapper's own state
// is guarded by a mutex, so that the race detector stays quiet and only
// the semantics are wrong.
type brokenMailbox struct {
	*mailbox.Mailbox[item]
	every   int64
	lose    bool // a send reports delivered but sends nothing
	phantom bool // a send delivers but reports that it did not
	double  bool // a receipt hands its item out a second time later
	reorder bool // a send is held back and sent after its sender's next one
	stall   bool // once, a receipt keeps its item and sleeps until CloseRead, then drops it

	n          atomic.Int64
	mu         sync.Mutex
	again      []*item       // double: items to hand out once more
	held       map[int]*item // reorder: per sender, the item held back
	stalled    atomic.Bool
	readClosed chan struct{} // stall: closed by CloseRead
	closeOnce  sync.Once
}

func (b *brokenMailbox) strike() bool { return b.n.Add(1)%b.every == 0 }

// before runs ahead of a send of v: it reports true if the send is to be
// swallowed (reported delivered, not made).
func (b *brokenMailbox) before(v *item) bool {
	if v == nil {
		return false
	}
	if b.lose && b.strike() {
		return true
	}
	if b.reorder && b.strike() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.held == nil {
			b.held = map[int]*item{}
		}
		if b.held[v.producer] == nil {
			b.held[v.producer] = v
			return true
		}
	}
	return false
}

// after runs once a send of v has delivered it: it sends the item held
// back from v's sender, if any, now behind v.
func (b *brokenMailbox) after(v *item) {
	if !b.reorder || v == nil {
		return
	}
	b.mu.Lock()
	h := b.held[v.producer]
	delete(b.held, v.producer)
	b.mu.Unlock()
	for h != nil {
		switch b.Mailbox.TrySend(h) {
		case spec.Full, spec.Paused:
			runtime.Gosched()
		default:
			return
		}
	}
}

func (b *brokenMailbox) TrySend(v *item) spec.Result {
	if b.before(v) {
		return spec.Delivered
	}
	r := b.Mailbox.TrySend(v)
	if r == spec.Delivered {
		b.after(v)
		if b.phantom && b.strike() {
			return spec.Full
		}
	}
	return r
}

func (b *brokenMailbox) Send(v *item) error { return b.SendContext(context.Background(), v) }

func (b *brokenMailbox) SendContext(ctx context.Context, v *item) error {
	if b.before(v) {
		return nil
	}
	err := b.Mailbox.SendContext(ctx, v)
	if err == nil {
		b.after(v)
		if b.phantom && b.strike() {
			return spec.ErrInterrupted
		}
	}
	return err
}

// takeAgain returns an item to hand out once more, if any.
func (b *brokenMailbox) takeAgain() *item {
	if !b.double {
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
func (b *brokenMailbox) received(x *item) {
	if b.double && x != nil && b.strike() {
		b.mu.Lock()
		b.again = append(b.again, x)
		b.mu.Unlock()
	}
}

// hang makes the first receipt after every receipts sleep until
// CloseRead, as if it had missed its wake-up with the item in hand; it
// reports whether it did, and the receipt then drops the item.
func (b *brokenMailbox) hang(x *item) bool {
	if !b.stall || x == nil || !b.strike() || !b.stalled.CompareAndSwap(false, true) {
		return false
	}
	<-b.readClosed
	return true
}

func (b *brokenMailbox) CloseRead() bool {
	if b.readClosed != nil {
		b.closeOnce.Do(func() { close(b.readClosed) })
	}
	return b.Mailbox.CloseRead()
}

func (b *brokenMailbox) TryRecv() (*item, spec.Result) {
	if x := b.takeAgain(); x != nil {
		return x, spec.Received
	}
	x, r := b.Mailbox.TryRecv()
	if b.hang(x) {
		return nil, spec.Unreadable
	}
	b.received(x)
	return x, r
}

func (b *brokenMailbox) Recv() (*item, error) { return b.RecvContext(context.Background()) }

func (b *brokenMailbox) RecvContext(ctx context.Context) (*item, error) {
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

func (b *brokenMailbox) All() iter.Seq[*item] {
	return func(yield func(*item) bool) {
		for {
			x, err := b.Recv()
			if err != nil || !yield(x) {
				return
			}
		}
	}
}

func (b *brokenMailbox) Drain() []*item {
	var xs []*item
	for x := b.takeAgain(); x != nil; x = b.takeAgain() {
		xs = append(xs, x)
	}
	return append(xs, b.Mailbox.Drain()...)
}

func TestConservationCatchesBrokenMailboxes(t *testing.T) {
	for _, c := range []struct {
		name string
		make func() *brokenMailbox
		want string // a phrase the problems must contain
	}{
		{"lose", func() *brokenMailbox { return &brokenMailbox{every: 97, lose: true} }, "items missing"},
		{"phantom", func() *brokenMailbox { return &brokenMailbox{every: 97, phantom: true} }, "reported not delivered, yet received"},
		{"double", func() *brokenMailbox { return &brokenMailbox{every: 97, double: true} }, "received more than once"},
		{"reorder", func() *brokenMailbox { return &brokenMailbox{every: 31, reorder: true} }, "FIFO order broken"},
	} {
		for _, cut := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s-cut%v", c.name, cut), func(t *testing.T) {
				b := c.make()
				b.Mailbox = mailbox.New[item](2)
				res := mbStorm(b, mbStormConfig{
					senders: 4, receivers: 4, perSender: 3000, capacity: 2, cut: cut, seed: 1,
					stall: 2 * time.Second, finish: time.Minute,
				})
				requireCaught(t, res, c.want)
			})
		}
	}
	// A receiver that never comes back stalls the run: the watchdog must
	// stop it, close the mailbox (which releases the receiver here) and
	// report the stall and the item the receiver dropped, not hang.
	t.Run("stall", func(t *testing.T) {
		b := &brokenMailbox{every: 2000, stall: true, readClosed: make(chan struct{})}
		b.Mailbox = mailbox.New[item](2)
		res := mbStorm(b, mbStormConfig{
			senders: 4, receivers: 4, perSender: 3000, capacity: 2, seed: 1,
			stall: 500 * time.Millisecond, finish: time.Minute,
		})
		requireCaught(t, res, "nothing sent or received for")
		requireCaught(t, res, "1 items missing")
	})
}

// brokenVoid wraps the real void mailbox and breaks one promise.
type brokenVoid struct {
	*mailbox.Void
	n          atomic.Int64
	earlyFalse bool // every 50th WaitPoppable reports the gate closed
	hidePause  bool // Flags does not show Paused
}

func (v *brokenVoid) WaitPoppable() bool {
	ok := v.Void.WaitPoppable()
	if v.earlyFalse && v.n.Add(1)%50 == 0 {
		return false
	}
	return ok
}

func (v *brokenVoid) Flags() spec.Flags {
	f := v.Void.Flags()
	if v.hidePause {
		f &^= spec.FlagPaused
	}
	return f
}

func TestVoidStormCatchesBrokenVoids(t *testing.T) {
	for _, c := range []struct {
		name string
		v    *brokenVoid
		want string
	}{
		{"early-false", &brokenVoid{earlyFalse: true}, "reported false before CloseWrite"},
		{"hide-pause", &brokenVoid{hidePause: true}, "while paused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.v.Void = mailbox.NewVoid()
			res := voidStorm(c.v, voidConfig{waiters: 8, toggles: 50, seed: 1, finish: time.Minute})
			requireCaught(t, res, c.want)
		})
	}
}
