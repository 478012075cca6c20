package rt_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
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
	fmt.Println(errors.Is(errA, rt.ErrLinkedFailure), errors.Is(errA, rt.ErrPanicked))
	// Output:
	// runtime printer: a step panicked: out of paper
	// runtime: linked runtime printer failed: runtime printer: a step panicked: out of paper
	// true true
}

// Flags shows a runtime's state in rt's own names; Eject hands back its
// continuation, and fails with rt.ErrNoContinuation once it has none.
// (Without those names, this example would need package spec: it catches
// their removal.)
func ExampleRuntime_Flags() {
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step { return c.Next() })
	r, _ := rt.Spawn(c, rt.StartFrozen(), rt.SkipPolling())
	fmt.Println(r.Flags()&rt.FlagFrozen != 0, r.Flags()&rt.FlagPolling != 0)
	got, err := r.Eject()
	fmt.Println(got == c, err)
	_, err = r.Eject()
	fmt.Println(errors.Is(err, rt.ErrNoContinuation))
	r.Thaw()
	fmt.Println(r.Join(), r.Flags()&rt.FlagDead != 0)
	// Output:
	// true false
	// true <nil>
	// true
	// <nil> true
}
