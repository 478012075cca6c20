package pool_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/internal/homekey"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/pool/pooltest"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// homeSeen runs, on a pool of d's workers spread over two mailboxes, a
// continuation of three steps on each mailbox, the second step after an
// Interrupt of every worker (which gives the worker a new step context),
// and reports the first step that did not find its own mailbox under
// homekey.Key{}, or the rt.FromContext runtime missing.
func homeSeen(d pool.Dispatcher) error {
	a, b := mailbox.New[cont.C](mailbox.Unbounded), mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(d, a, 1)
	if err != nil {
		return err
	}
	if _, err := p.Spawn(d, b, 1); err != nil {
		return err
	}
	type seen struct {
		box *cont.Box
		r   *rt.Runtime
	}
	probe := func(got chan<- seen, next <-chan struct{}) *cont.C {
		k := 0
		return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
			box, _ := ctx.Value(homekey.Key{}).(*cont.Box)
			got <- seen{box, rt.FromContext(ctx)}
			if k++; k == 3 {
				return nil
			}
			<-next
			return c.Next()
		})
	}
	var failure error
	for i, box := range []*pool.Box{a, b} {
		got, next := make(chan seen), make(chan struct{})
		if err := box.Send(probe(got, next)); err != nil {
			return err
		}
		for step := range 3 {
			s := <-got
			if s.box != box && failure == nil {
				failure = fmt.Errorf("mailbox %d, step %d: the context holds %p under homekey.Key, want the mailbox %p", i, step, s.box, box)
			}
			if s.r == nil && failure == nil {
				failure = fmt.Errorf("mailbox %d, step %d: rt.FromContext found no runtime through the step's context", i, step)
			}
			if step == 0 {
				p.Interrupt()
			}
			if step < 2 {
				next <- struct{}{}
			}
		}
	}
	if err := p.Close(); err != nil {
		return err
	}
	return failure
}

// A step run by a pool's worker finds its worker's mailbox in its
// context under homekey.Key{} (what eventq.Sleep sends it back to), for
// Waiter and Runner, on a pool over two mailboxes, also after a control
// operation renewed the worker's context; and the runtime's own values
// still answer through it. The bug: a dispatcher that steps its work with
// the runtime's bare context, which the plain waiter of pooltest does (the
// control, which must fail).
func TestStepSeesItsMailbox(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for name, d := range map[string]pool.Dispatcher{"waiter": pool.Waiter, "runner": pool.Runner} {
		if err := homeSeen(d); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	err := homeSeen(pooltest.BadDispatcher(pooltest.Correct))
	if err == nil {
		t.Fatal("the plain waiter, whose steps get the bare context, passed the check")
	}
	t.Logf("caught on the plain waiter: %v", err)
}
