package pool_test

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
)

// A pool of four workers runs continuations sent to its mailbox; Close
// lets them finish what is queued, then joins them.
func Example() {
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(pool.Waiter, box, 4)
	if err != nil {
		panic(err)
	}
	var sum atomic.Int64
	for i := range 100 {
		box.Send(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
			sum.Add(int64(i)) // one step, then done
			return nil
		}))
	}
	if err := p.Close(); err != nil {
		panic(err)
	}
	fmt.Println(sum.Load(), len(p.Leftovers()))
	// Output: 4950 0
}

// A pool is a set of runtimes: workers of two dispatchers over two
// mailboxes, and a continuation's own runtime. Close closes both
// mailboxes for writing and joins them all.
func ExamplePool_Spawn() {
	fast, slow := mailbox.New[cont.C](mailbox.Unbounded), mailbox.New[cont.C](mailbox.Unbounded)
	p := pool.Empty()
	if _, err := p.Spawn(pool.Waiter, fast, 2); err != nil {
		panic(err)
	}
	if _, err := p.Spawn(pool.Runner, slow, 1); err != nil {
		panic(err)
	}
	var ran atomic.Int64
	if _, err := p.Go(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		ran.Add(100) // a runtime of its own: one step, then done
		return nil
	})); err != nil {
		panic(err)
	}
	for range 3 {
		fast.Send(cont.New(func(ctx context.Context, c *cont.C) cont.Step { ran.Add(1); return nil }))
	}
	slow.Send(cont.New(func(ctx context.Context, c *cont.C) cont.Step { ran.Add(10); return nil }))
	fmt.Println(p.Count())
	if err := p.Close(); err != nil {
		panic(err)
	}
	fmt.Println(ran.Load())
	// Output:
	// 4
	// 113
}
