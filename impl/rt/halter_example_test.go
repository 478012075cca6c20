package rt_test

import (
	"context"
	"fmt"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
)

// A runtime that outlives its time is halted: HaltAfter is a deadline for
// a whole runtime. The halted runtime keeps its continuation (in its
// Leftovers) and reports no error; the halter reports the halt. A halter
// whose runtime finishes in time ends with it, and reports none.
func ExampleRuntime_HaltAfter() {
	forever := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		<-ctx.Done() // waits until the runtime wants its step back
		return c.Next()
	})
	r, _ := rt.Spawn(forever, rt.SkipPolling())
	h := r.HaltAfter(10 * time.Millisecond)
	fmt.Println(r.Join(), len(r.Leftovers()), h.Stop())

	quick := cont.New(func(context.Context, *cont.C) cont.Step { return nil })
	r, _ = rt.Spawn(quick, rt.SkipPolling())
	h = r.HaltAfter(time.Hour)
	fmt.Println(r.Join())
	<-h.Done() // ended with the runtime, an hour early
	fmt.Println(h.Halted())
	// Output:
	// <nil> 1 true
	// <nil>
	// false
}
