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
