package pool_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/rapidcheck"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// A pool is a set of runtimes of any kind: workers of two dispatchers
// over two mailboxes, a continuation's runtime (Go) and a runtime spawned
// elsewhere (AddRuntime), in the order added; its controls reach them
// all, and Close closes both mailboxes and joins everything. The bugs: a
// Spawn that ignores its mailbox (b's work never runs), a Close that
// closes only the pool's own mailbox (b's workers never end: Close
// hangs), a Halt or Join that misses a runtime not spawned by the pool.
func TestSetOfRuntimes(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	a, b := mailbox.New[cont.C](mailbox.Unbounded), mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(pool.Waiter, a, 1)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := p.Spawn(pool.Waiter, b, 2)
	if err != nil || len(rs) != 2 {
		t.Fatalf("Spawn(Waiter, b, 2) = %v, %v", rs, err)
	}
	halted := make(chan struct{})
	untilHalted := func(ctx context.Context, c *cont.C) cont.Step {
		<-ctx.Done()
		if rt.FromContext(ctx).Flags()&rt.FlagHalted != 0 {
			close(halted)
			return nil
		}
		return c.Next()
	}
	g, err := p.Go(cont.New(untilHalted))
	if err != nil {
		t.Fatal(err)
	}
	other, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		<-ctx.Done()
		return c.Next()
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AddRuntime(other); err != nil {
		t.Fatal(err)
	}
	if err := p.AddRuntime(other); err == nil {
		t.Fatal("a runtime added twice was accepted")
	}
	if err := p.AddRuntime(nil); err == nil {
		t.Fatal("a nil runtime was accepted")
	}
	items := slices.Collect(p.Items())
	if len(items) != 5 || items[1] != rs[0] || items[2] != rs[1] || items[3] != g || items[4] != other || p.Count() != 5 {
		t.Fatalf("Items = %v, Count = %d; want the five runtimes in the order added", items, p.Count())
	}
	var done atomic.Int64
	for range 50 {
		if err := a.Send(job(2, &done)); err != nil {
			t.Fatal(err)
		}
		if err := b.Send(job(3, &done)); err != nil {
			t.Fatal(err)
		}
	}
	if !rapidcheck.WaitFor(func() bool { return done.Load() == 100 }) {
		t.Fatalf("%d of 100 jobs ran", done.Load())
	}
	g.Halt()
	<-halted
	other.Halt()
	if err := mustReturn(t, "Close", p.Close); err != nil {
		t.Fatal(err)
	}
	if a.CloseWrite() || b.CloseWrite() {
		t.Fatal("Close did not close both mailboxes for writing")
	}
	if left := p.Leftovers(); len(left) != 1 {
		t.Fatalf("Leftovers = %d, want the one continuation of the halted runtime added by AddRuntime", len(left))
	}
}

// A pool made by Empty has no dispatcher of its own: Add says so, and
// Mailbox is nil; Spawn refuses a negative count and a nil dispatcher or
// mailbox, and a failed Spawn adds nothing.
func TestEmptyPool(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	p := pool.Empty()
	if r, err := p.Add(); !errors.Is(err, pool.ErrNoDispatcher) || r != nil {
		t.Fatalf("Add on an empty pool = %v, %v; want ErrNoDispatcher", r, err)
	}
	if p.Mailbox() != nil || p.Count() != 0 {
		t.Fatal("an empty pool has a mailbox or runtimes")
	}
	box := mailbox.New[cont.C](1)
	for _, bad := range []struct {
		d   pool.Dispatcher
		box *pool.Box
		n   int
	}{{pool.Waiter, box, -1}, {nil, box, 1}, {pool.Waiter, nil, 1}} {
		if rs, err := p.Spawn(bad.d, bad.box, bad.n); err == nil || rs != nil {
			t.Fatalf("Spawn(%v, %v, %d) was accepted", bad.d != nil, bad.box != nil, bad.n)
		}
	}
	dead := deadRuntime(t)
	if rs, err := p.Spawn(pool.Waiter, box, 3, rt.LinkTo(dead)); err == nil || rs != nil || p.Count() != 0 {
		t.Fatalf("a Spawn that failed: %v, %v, and the pool holds %d", rs, err, p.Count())
	}
	if err := mustReturn(t, "Close", p.Close); err != nil {
		t.Fatal(err)
	}
}

// closedBox returns a mailbox closed for writing and empty: a runner
// over it ends at once.
func closedBox() *pool.Box {
	box := mailbox.New[cont.C](1)
	box.CloseWrite()
	return box
}
