package cont_test

import (
	"context"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
)

// The paths the seam's points sit on, without a second goroutine: a step
// that goes on, a move along a Route into a mailbox and out again, an Away
// to a give that takes it at once, and a Call's child finishing and its
// caller reading the result. In an ordinary build the points compile to
// nothing, so these are the same before and after them (see
// inline_test.go, and the report that landed them for the figures).
func BenchmarkStepPaths(b *testing.B) {
	ctx := context.Background()
	b.Run("step", func(b *testing.B) {
		c := cont.New(func(ctx context.Context, c *cont.C) cont.Step { return c.Next() })
		for b.Loop() {
			c.Step(ctx)
		}
	})
	b.Run("goto-route", func(b *testing.B) {
		box := mailbox.New[cont.C](mailbox.Unbounded)
		var r *cont.Route
		step := func(ctx context.Context, c *cont.C) cont.Step { return c.GotoRoute(r) }
		r = cont.NewRoute(box, step)
		c := cont.New(step)
		for b.Loop() {
			c.Step(ctx)
			c, _ = box.Recv()
		}
	})
	b.Run("away", func(b *testing.B) {
		var held *cont.C
		give := func(c *cont.C) error { held = c; return nil }
		var step cont.Step
		step = func(ctx context.Context, c *cont.C) cont.Step { return c.Away(give, step) }
		c := cont.New(step)
		for b.Loop() {
			c.Step(ctx)
			c = held
		}
	})
	b.Run("call", func(b *testing.B) {
		for b.Loop() {
			cl := cont.NewCall(func(result func(int)) *cont.C {
				return cont.New(func(ctx context.Context, c *cont.C) cont.Step { result(1); return nil })
			})
			_, _, _ = cl.Wait(ctx, func(ctx context.Context, child *cont.C) error { child.Run(ctx); return nil })
		}
	})
}
