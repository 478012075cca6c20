package rt_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/spec"
)

// Two linked runtimes fail together: a panic in one halts the other, whose
// error says why.
func Example_link() {
	idle := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		<-ctx.Done() // wait for the runtime to want its step back
		return c.Next()
	})
	steps := 0
	failing := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if steps++; steps == 3 {
			panic("out of paper")
		}
		return c.Next()
	})
	a, _ := rt.Spawn(idle, rt.Name("printer-queue"))
	b, _ := a.SpawnLink(failing, rt.Name("printer"))

	fmt.Println(b.Join())
	errA := a.Join()
	fmt.Println(errA)
	fmt.Println(errors.Is(errA, spec.ErrLinkedFailure), errors.Is(errA, spec.ErrPanicked))
	// Output:
	// runtime printer: a step panicked: out of paper
	// runtime: linked runtime printer failed: runtime printer: a step panicked: out of paper
	// true true
}
