package rt_test

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Tests for mutants of the runtime's event-queue paths that survived the
// mutation runner (docs/mutation.md): errors of the queue's Wait and Poll
// that the runtime must not ignore. A queue lets one goroutine Wait at a
// time; a second Wait, or Poll, fails with eventq.ErrBusy. So a test that
// Waits on the runtime's queue itself, before the runtime does, makes the
// runtime's next Wait or Poll fail, with no need to make a system call
// fail.

// waitingOn starts a Wait on q that lasts until q is closed (the
// runtime's teardown closes it), and returns once it is in progress: a
// Poll then fails with ErrBusy. The Wait's error comes on the returned
// channel.
func waitingOn(t *testing.T, q *eventq.Queue) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := q.Wait(nil, -1)
		done <- err
	}()
	for {
		if _, err := q.Poll(nil); errors.Is(err, eventq.ErrBusy) {
			return done
		}
		runtime.Gosched()
	}
}

// The rule (spec.Runtime, "The local event queue", and rt.EventQueue):
// a runtime that cannot wait in its event queue fails, with the queue's
// error, rather than going on as if woken with nothing: nothing is lost
// silently, and a runtime never spins on a queue that keeps failing.
//
// The bugs it catches: poll.go:Runtime.idle:err-ignored:1 and
// Runtime.take:err-ignored:1, the idle runtime's failed Wait not checked:
// the runtime loops, calling Wait again at once, a busy spin for as long
// as the other Wait lasts (here: for ever), and never ends.
func TestIdleWaitFailureEndsTheRuntime(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rd, _ := pipe(t)
	var got atomic.Int64
	r, err := rt.Spawn(reader(rd, &got), rt.StartFrozen())
	if err != nil {
		t.Fatal(err)
	}
	q, err := r.EventQueue()
	if err != nil {
		t.Fatal(err)
	}
	other := waitingOn(t, q)
	r.Thaw() // the reader finds the pipe empty and waits in the queue: the runtime is idle
	err = joinWithin(t, r, func() string {
		r.Halt()
		return "a runtime whose event queue's Wait failed did not end"
	})
	if !errors.Is(err, eventq.ErrBusy) {
		t.Fatalf("Join: %v, want the queue's error (eventq.ErrBusy)", err)
	}
	if err := <-other; !errors.Is(err, eventq.ErrClosed) {
		t.Fatalf("the other Wait: %v, want ErrClosed (the teardown closes the queue)", err)
	}
}

// The rule (as above): a runtime whose continuation goes on polls its
// queue every 64 steps, and fails with the queue's error if a poll
// fails.
//
// The bugs it catches: poll.go:Runtime.settle:err-ignored:1 and
// loop.go:Runtime.loop:err-ignored:2, the poll's error not checked (in
// settle, or where the loop gets it from settle): the runtime goes on
// stepping, and what its queue holds is never handed out.
func TestPollFailureEndsTheRuntime(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rd, _ := pipe(t)
	var n, got atomic.Int64
	r, err := rt.Spawn(counter(&n), rt.StartFrozen())
	if err != nil {
		t.Fatal(err)
	}
	q, err := r.EventQueue()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Register(rd, eventq.Read|eventq.OneShot, reader(rd, &got)); err != nil {
		t.Fatal(err)
	}
	other := waitingOn(t, q)
	r.Thaw()
	err = joinWithin(t, r, func() string {
		r.Halt()
		return "a runtime whose event queue's Poll failed did not end"
	})
	if !errors.Is(err, eventq.ErrBusy) {
		t.Fatalf("Join: %v after %d steps, want the queue's error (eventq.ErrBusy)", err, n.Load())
	}
	if err := <-other; !errors.Is(err, eventq.ErrClosed) {
		t.Fatalf("the other Wait: %v, want ErrClosed (the teardown closes the queue)", err)
	}
	if left := r.Leftovers(); len(left) != 2 {
		t.Fatalf("%d leftovers, want 2 (the counter and the registered reader)", len(left))
	}
}

// The rule (Runtime.EventQueue, as above): made once, whichever
// goroutine asks first, here the test just as the runtime's continuation
// finishes and the runtime looks whether its queue holds anything
// (pending) before it tears down.
//
// The bug it catches: poll.go:Runtime.pending:atomic-plain:1, that look
// made plain: it races with a store of the queue by another goroutine
// that the runtime's last poll check (settle's atomic load) did not see.
// The window is the few instructions between the two; 8000 rounds make
// the test's EventQueue land there now and then, and the race detector
// reports it (in 2000 rounds, 2 runs of 3 did).
func TestEventQueueMadeAsTheRuntimeFinishes(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for round := range 8000 {
		last := make(chan struct{})
		r, err := rt.Spawn(cont.New(func(context.Context, *cont.C) cont.Step {
			close(last)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		<-last
		if _, err := r.EventQueue(); err != nil && !errors.Is(err, eventq.ErrNoQueue) {
			t.Fatalf("round %d: EventQueue: %v", round, err)
		}
		if err := joinWithin(t, r, func() string { return "the runtime did not finish" }); err != nil {
			t.Fatal(err)
		}
	}
}

// The rule (rt.Signals, Runtime.Thaw): a frozen runtime with Signals
// sleeps in its event queue, so that SIGCONT can thaw it, and Thaw from
// any goroutine wakes it there too: it runs again.
//
// The bug it catches: control.go:Runtime.signalWake:wake-drop:2, the
// queue's Wake dropped: Thaw clears Frozen and leaves a permit for a
// sleeper beside the queue, but the runtime sleeps in it, and sleeps on.
// The other tests thaw such a runtime only by SIGCONT, which the runtime
// applies itself, or halt it, which ends the step's context and wakes the
// queue (endStep).
func TestThawWakesARuntimeAsleepInItsQueue(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var n atomic.Int64
	r, err := rt.Spawn(counter(&n), rt.StartFrozen(), rt.Signals(syscall.SIGUSR2))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // asleep in its queue
	if !r.Thaw() {
		t.Fatal("Thaw of a runtime started frozen refused")
	}
	eventually(t, "the thawed runtime to run", func() bool { return n.Load() > 0 })
	r.Halt()
	if err := joinWithin(t, r, func() string { return "the runtime did not end after Halt" }); err != nil {
		t.Fatal(err)
	}
}

// The rule (rt.Signals, and the project's rule that a blocked waiter uses
// no CPU): a frozen runtime with Signals sleeps in its event queue; if it
// cannot wait there (the queue's Wait fails), it sleeps beside it, as a
// runtime without Signals does, and still uses no CPU.
//
// The bug it catches: loop.go:Runtime.parkInQueue:err-ignored:1, the
// failed Wait not checked: park takes it for a wake-up and calls Wait
// again at once, a busy spin for as long as the queue keeps failing. The
// runtime is frozen while its step is blocked, so that it parks only once
// a Wait of the test's own is in progress, and the process's CPU time is
// measured over a second (a correct runtime: under 1 ms; the mutant spun
// for 79 ms in half a second on a loaded two-core machine).
func TestFrozenRuntimeWhoseQueueFailsSleeps(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, release := spawnBlocked(t, rt.Signals(syscall.SIGUSR2))
	q, err := r.EventQueue()
	if err != nil {
		t.Fatal(err)
	}
	r.Freeze()
	if _, err := q.Poll(nil); err != nil { // takes the wake-up that Freeze left
		t.Fatal(err)
	}
	other := waitingOn(t, q)
	close(release)
	eventually(t, "the frozen runtime to park", func() bool { return r.Flags()&rt.FlagRunning == 0 })
	before := cpuTime(t)
	time.Sleep(time.Second)
	used := cpuTime(t) - before
	r.Thaw()
	if err := joinWithin(t, r, func() string { return "the thawed runtime did not finish" }); err != nil {
		t.Fatal(err)
	}
	if err := <-other; err != nil && !errors.Is(err, eventq.ErrClosed) {
		t.Fatalf("the other Wait: %v, want nil (Thaw wakes the queue) or ErrClosed (the teardown closes it)", err)
	}
	t.Logf("CPU used in a second by a frozen runtime whose queue fails: %v", used)
	if used > 20*time.Millisecond {
		t.Fatalf("a frozen runtime whose queue's Wait fails used %v of CPU in a second", used)
	}
}
