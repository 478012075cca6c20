package eventq_test

import (
	"context"
	"fmt"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
)

// Sleep works on a pool's worker, which has no event queue: the sleeper
// leaves the worker free (here, for a second job) and comes back through
// the pool's mailbox when its time is up.
func ExampleSleep() {
	box := mailbox.New[cont.C](mailbox.Unbounded)
	done := make(chan string, 2)
	box.Send(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return eventq.Sleep(ctx, c, 20*time.Millisecond, func(ctx context.Context, c *cont.C) cont.Step {
			done <- "sleeper"
			return nil
		})
	}))
	box.Send(cont.New(func(context.Context, *cont.C) cont.Step {
		done <- "second job"
		return nil
	}))
	p, _ := pool.New(pool.Waiter, box, 1) // one worker, which takes the sleeper first
	fmt.Println(<-done)
	fmt.Println(<-done)
	fmt.Println(p.Close())
	// Output:
	// second job
	// sleeper
	// <nil>
}
