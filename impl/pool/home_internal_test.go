package pool

import (
	"context"
	"testing"

	"github.com/insideout-go/insideout/internal/testdeadline"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/internal/homekey"
	"github.com/insideout-go/insideout/impl/mailbox"
)

// stepAllocs returns the allocations of one step of the worker that d
// makes, stepped with one context throughout, while it holds a
// continuation that never finishes and looks up homekey.Key{} at every
// step.
func stepAllocs(t *testing.T, d Dispatcher) float64 {
	box := mailbox.New[cont.C](mailbox.Unbounded)
	found := true
	if err := box.Send(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		found = found && ctx.Value(homekey.Key{}) == box
		return c.Next()
	})); err != nil {
		t.Fatal(err)
	}
	w, _ := d(box)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.Step(ctx) // the first step takes the continuation, and makes the context
	allocs := testing.AllocsPerRun(200, func() { w.Step(ctx) })
	if !found {
		t.Errorf("a step did not find its mailbox under homekey.Key")
	}
	return allocs
}

// The dispatchers give each step a context that holds the mailbox
// without allocating per step: one context per worker's step context,
// made when that changes. The bug: a context.WithValue per step (an
// allocation each), the control below, which must fail.
func TestHomeContextCostsNoAllocation(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for name, d := range map[string]Dispatcher{"waiter": Waiter, "runner": Runner} {
		if got := stepAllocs(t, d); got != 0 {
			t.Errorf("%s: %v allocations per step, want 0", name, got)
		}
	}
	perStep := func(box *Box) (*cont.C, func() []*cont.C) {
		var cur *cont.C
		return cont.New(func(ctx context.Context, self *cont.C) cont.Step {
			if cur == nil {
				cur, _ = box.TryRecv()
			}
			if cur != nil {
				cur.Step(context.WithValue(ctx, homekey.Key{}, box)) // the bug
			}
			return self.Next()
		}), func() []*cont.C { return nil }
	}
	if got := stepAllocs(t, perStep); got == 0 {
		t.Errorf("a context.WithValue per step shows no allocation: the check cannot fail")
	}
}
