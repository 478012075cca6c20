//go:build sched

package cont_test

import (
	"context"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/impl/seq"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Under -tags sched the points of impl/cont and impl/seq are switch
// points of the controlled scheduler: a Goto, an Away, a Call and a
// sequential step, run once each, pass every one (each named by its file
// and line in the run's trace), so that a strategy may let another
// goroutine go first there: a move's new holder before the runner returns
// from Step, a call's caller before the child has signalled, a second
// runner into a busy sequential continuation. The bug: a point dropped,
// or one that is not a seam call (an impl/chaos call made directly).
func TestPointsAreSwitchPoints(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	want := map[string]int{"cont/cont.go": 2, "cont/call.go": 2, "seq/seq.go": 1}
	for round := range 5 {
		var bad string
		res, err := seam.Run(schedule.Random{}.Explore(0x9017, round).Next(nil), func() {
			bad = movesOnce()
		}, seam.Options{Trace: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != seam.Finished || res.Outside != 0 || bad != "" {
			t.Fatalf("round %d: %v, %d seam calls outside the run, %q: %s", round, res.Outcome, res.Outside, bad, res.Failure)
		}
		seen := map[string]map[string]bool{}
		for _, e := range res.Trace {
			if e.Op != "point" {
				continue
			}
			for file := range want {
				if strings.Contains(e.At, file+":") {
					if seen[file] == nil {
						seen[file] = map[string]bool{}
					}
					seen[file][e.At] = true
				}
			}
		}
		for file, n := range want {
			if len(seen[file]) != n {
				t.Fatalf("round %d: the run passed %d points of %s (%v), want %d", round, len(seen[file]), file, seen[file], n)
			}
		}
	}
}

// movesOnce makes one Goto (into a mailbox, received by another goroutine
// of the run), one Away, one Call whose child runs on another goroutine,
// and one step of a sequential continuation; it returns what went wrong.
func movesOnce() string {
	ctx := context.Background()
	box := mailbox.New[cont.C](mailbox.Unbounded)
	var held seam.Pointer[cont.C]
	give := func(c *cont.C) error { held.Store(c); return nil }
	finish := func(ctx context.Context, c *cont.C) cont.Step { return nil }
	away := func(ctx context.Context, c *cont.C) cont.Step { return c.Away(give, finish) }
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step { return c.Goto(box, away) })
	received := make(chan struct{})
	seam.Go(func() {
		defer seam.Close(received)
		r, err := box.Recv()
		if err == nil && r.Step(ctx) {
			held.Load().Run(ctx)
		}
	})
	if !c.Step(ctx) {
		return "the Goto did not take the continuation"
	}
	seam.Await(received)
	if !c.Done() {
		return "the continuation did not finish where it went"
	}
	cl := cont.NewCall(func(result func(int)) *cont.C {
		return cont.New(func(ctx context.Context, c *cont.C) cont.Step { result(7); return nil })
	})
	send := func(ctx context.Context, child *cont.C) error {
		seam.Go(func() { child.Run(ctx) })
		return nil
	}
	if v, err, ok := cl.Wait(ctx, send); !ok || err != nil || v != 7 {
		return "the call did not return 7"
	}
	s := seq.New(func(k *seq.K) { k.Coop() })
	if !s.Run(ctx) {
		return "the sequential continuation did not finish"
	}
	return ""
}
