package pool_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/rapidcheck"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"go.uber.org/goleak"
)

// forgetWithin collects garbage in a loop until every runtime of rs is
// Dead, and fails after d with the flags of those still running: how a
// test waits for a forgotten pool's cleanup, which runs only after a
// collection finds the handle unreachable.
func forgetWithin(d time.Duration, rs []*rt.Runtime) error {
	deadline := time.Now().Add(d)
	for {
		alive := 0
		for _, r := range rs {
			if r.Flags()&rt.FlagDead == 0 {
				alive++
			}
		}
		if alive == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d runtimes still running %v after their pool was forgotten", alive, len(rs), d)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// stuck is a continuation whose steps wait for their context to end and
// never finish it: a worker halted in the middle of it leaves it over.
func stuck(started chan<- struct{}) *cont.C {
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		select {
		case started <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return c.Next()
	})
}

// A pool that is no longer referenced halts and joins its runtimes, and
// leaks no goroutine: workers spawned by New and by Spawn over a second
// mailbox, and a runtime added by Go. What a worker was in the middle of
// goes back to its mailbox. The bug: a pool whose cleanup is missing, or
// whose runtimes keep the handle reachable (the control below), leaves
// them running for ever.
func TestForgottenPoolHaltsAndJoins(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	a, b := mailbox.New[cont.C](mailbox.Unbounded), mailbox.New[cont.C](mailbox.Unbounded)
	started := make(chan struct{}, 1)
	rs := func() []*rt.Runtime {
		p, err := pool.New(pool.Waiter, a, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Spawn(pool.Runner, b, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Go(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
			<-ctx.Done()
			return c.Next()
		})); err != nil {
			t.Fatal(err)
		}
		if err := a.Send(stuck(started)); err != nil {
			t.Fatal(err)
		}
		<-started
		return slices.Collect(p.Items())
	}()
	if err := forgetWithin(10*time.Second, rs); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// The continuation in the middle is back in its mailbox, once the
	// cleanup has given it back (after the joins).
	if !rapidcheck.WaitFor(func() bool { return a.Len() == 1 }) {
		t.Fatalf("mailbox a holds %d continuations, want the one its worker was in the middle of", a.Len())
	}
	if b.Len() != 0 {
		t.Fatalf("mailbox b holds %d", b.Len())
	}
}

// The control of forgetWithin: a pool kept reachable by one of its own
// runtimes (a continuation that holds the handle) is never forgotten,
// and the check says so. Its runtimes are then halted by hand.
func TestForgetWithinCatchesAPoolKeptAlive(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, err := func() (*rt.Runtime, error) {
		p := pool.Empty()
		return p.Go(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
			<-ctx.Done()
			_ = p.Count() // the bug: the runtime holds the handle
			return c.Next()
		}))
	}()
	if err != nil {
		t.Fatal(err)
	}
	err = forgetWithin(200*time.Millisecond, []*rt.Runtime{r})
	r.Halt()
	if jerr := r.Join(); jerr != nil {
		t.Fatal(jerr)
	}
	if err == nil {
		t.Fatal("a pool kept reachable by its runtime passed as forgotten")
	}
	t.Logf("caught: %v", err)
}

// OnForget's function gets the joined errors and what the workers were in
// the middle of, and taking them keeps them out of the mailbox. The bug: a
// cleanup that loses them, or gives them back twice.
func TestOnForgetGetsTheLeftovers(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	started := make(chan struct{}, 1)
	type forgotten struct {
		err  error
		left []*cont.C
	}
	got := make(chan forgotten, 1)
	job := stuck(started)
	rs := func() []*rt.Runtime {
		p, err := pool.New(pool.Waiter, box, 1)
		if err != nil {
			t.Fatal(err)
		}
		p.OnForget(func(err error, left []*cont.C) bool {
			got <- forgotten{err, left}
			return true
		})
		if err := box.Send(job); err != nil {
			t.Fatal(err)
		}
		<-started
		return slices.Collect(p.Items())
	}()
	if err := forgetWithin(10*time.Second, rs); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-got:
		if f.err != nil || len(f.left) != 1 || f.left[0] != job {
			t.Fatalf("OnForget got %v and %d leftovers, want no error and the job", f.err, len(f.left))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnForget's function was not called")
	}
	if box.Len() != 0 {
		t.Fatalf("the mailbox holds %d: a leftover taken by OnForget went back too", box.Len())
	}
}
