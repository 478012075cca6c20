package rt_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// The rule (spec/runtime.go, Runtime, "Control operations", Eject): "if
// the continuation was taken already, or the runtime is idle (its
// continuations all wait in its event queue, which Eject does not take
// from), ErrNoContinuation, and it has changed nothing". A refused Eject
// owes its caller a runtime as it was: not frozen (a Freeze after it
// reports true, Flags shows no Frozen), and running what its queue hands
// out.
//
// The bug it catches: an idle runtime asked for a hand-over that freezes
// itself, as a hand-over does, though it hands nothing over
// (knownbad.EjectFreezesIdle): the Eject reports ErrNoContinuation, yet
// the runtime sleeps frozen while its continuation's data waits. The test
// requires that known-bad caught, then the runtime to pass.
func TestRefusedEjectChangesNothing(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	knownbad.EjectFreezesIdle.Store(true)
	err := refusedEject(t)
	knownbad.EjectFreezesIdle.Store(false)
	if err == nil {
		t.Fatal("knownbad.EjectFreezesIdle went uncaught")
	}
	t.Logf("the known-bad, caught: %v", err)
	if err := refusedEject(t); err != nil {
		t.Fatal(err)
	}
}

// refusedEject ejects from a runtime idle in its event queue and returns
// what the refusal changed, if anything.
func refusedEject(t *testing.T) error {
	r, w := pipe(t)
	var got atomic.Int64
	run, err := rt.Spawn(reader(r, &got))
	if err != nil {
		return err
	}
	defer func() {
		run.Cancel()
		joinWithin(t, run, func() string { return "the runtime did not end after Cancel" })
	}()
	time.Sleep(10 * time.Millisecond) // the reader finds the pipe empty and waits in the queue
	if _, err := run.Eject(); !errors.Is(err, spec.ErrNoContinuation) {
		return fmt.Errorf("Eject of an idle runtime: %v, want ErrNoContinuation", err)
	}
	if f := run.Flags(); f&spec.RtFrozen != 0 {
		return fmt.Errorf("a refused Eject left the runtime frozen: %v", f)
	}
	if _, err := unix.Write(w, []byte("x")); err != nil {
		return err
	}
	for start := time.Now(); got.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			return fmt.Errorf("after a refused Eject, the runtime did not run its continuation within 5s of data coming: %v", run.Flags())
		}
	}
	if !run.Freeze() {
		return fmt.Errorf("after a refused Eject, Freeze reports the runtime frozen already: %v", run.Flags())
	}
	return nil
}

// The rule (spec/runtime.go, Runtime, "The local event queue"): the
// runtime polls its queue between steps, "at least every 64 steps of a
// continuation that goes on: a poll is a system call, and what became
// ready waits at most that long". A continuation that never waits
// registers a second one for a pipe that is readable already, then goes
// on for 10,000 steps; the second must run before the first has taken 65
// more. The bug it catches: a runtime that polls only when idle (the
// continuation in hand starves what its queue holds until it finishes or
// waits), or one that polls less often than the spec says.
func TestPollsWhileAContinuationGoesOn(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, w := pipe(t)
	if _, err := unix.Write(w, []byte("x")); err != nil {
		t.Fatal(err)
	}
	const most = 10_000
	var busy, ranAt atomic.Int64
	ranAt.Store(-1)
	ready := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		ranAt.Store(busy.Load())
		return nil
	})
	registered := int64(-1)
	run, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if registered < 0 {
			q, err := eventq.FromContext(ctx)
			if err != nil {
				t.Error(err)
				return nil
			}
			if _, err := q.Register(r, eventq.Read|eventq.OneShot, ready); err != nil {
				t.Error(err)
				return nil
			}
			registered = busy.Load()
		}
		if busy.Add(1) >= most || ranAt.Load() >= 0 {
			return nil
		}
		return c.Next()
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := joinWithin(t, run, func() string { return "the runtime did not finish" }); err != nil {
		t.Fatal(err)
	}
	switch at := ranAt.Load(); {
	case at < 0:
		t.Fatalf("the continuation whose fd was ready never ran while another went on for %d steps", busy.Load())
	case at-registered > 65:
		t.Fatalf("the continuation whose fd was ready ran %d steps after its registration, want at most 64 (a poll every 64 steps)", at-registered)
	}
}
