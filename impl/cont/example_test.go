package cont_test

import (
	"context"
	"fmt"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
)

// A step continuation moves to another pool with Goto, and asks a server
// pool with ComeFrom, staying where it is while the server works.
func Example_goto() {
	awayBox := mailbox.New[cont.C](mailbox.Unbounded)
	serverBox := mailbox.New[cont.C](mailbox.Unbounded)
	away, _ := pool.New(pool.Waiter, awayBox, 1)
	server, _ := pool.New(pool.Waiter, serverBox, 1)
	counter := 1 // the server's: only its runtime touches it

	done := make(chan struct{})
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		fmt.Println("here")
		return c.Goto(awayBox, func(ctx context.Context, c *cont.C) cont.Step {
			fmt.Println("away")
			return cont.ComeFrom(serverBox, func(ctx context.Context) int {
				counter *= 2
				return 1 + counter
			}, func(v int, err error) cont.Step {
				fmt.Println("the server says", v, err)
				close(done)
				return nil
			})
		})
	})
	c.Run(context.Background()) // runs the first step here, then c moves
	<-done
	away.Close()
	server.Close()
	// Output:
	// here
	// away
	// the server says 3 <nil>
}
