package rt_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// The rule: a runtime is safe for concurrent use from the moment another
// runtime can reach it, and a linked peer reaches it from the Link that
// Spawn makes (LinkTo) before the runtime boots: the peer's teardown
// halts it, and Halt wakes a runtime asleep in its event queue when it
// has Signals (signalWake reads r.sigs).
//
// The bug it catches: r.sigs written by the runtime's own goroutine while
// it boots (listen), after the Link: a peer that tears down in that window
// reads it in Halt's signalWake, unordered with the write, a data race
// that the race detector reports. A peer that finishes after a short,
// varying nap meets a runtime booting with Signals linked to it.
func TestPeerHaltsARuntimeBootingWithSignals(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for round := range 300 {
		nap := time.Duration(rand.IntN(200)) * time.Microsecond
		peer, err := rt.Spawn(cont.New(func(context.Context, *cont.C) cont.Step {
			time.Sleep(nap)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		r, err := rt.Spawn(finite(1_000_000), rt.LinkTo(peer), rt.Signals(syscall.SIGUSR2))
		switch {
		case errors.Is(err, spec.ErrTornDown):
		case err != nil:
			t.Fatalf("round %d: Spawn: %v", round, err)
		default:
			if err := joinWithin(t, r, func() string { return "the linked runtime was not halted by its peer's teardown" }); err != nil {
				t.Fatalf("round %d: Join: %v", round, err)
			}
		}
		peer.Join()
	}
}

// The rule (Runtime.Leftovers): before the runtime is Dead, Leftovers
// returns nil, and like every method of a Runtime it is safe for
// concurrent use: here beside a Freeze, which changes the flags it
// reads.
//
// The bug it catches: teardown.go:Runtime.Leftovers:atomic-plain:1, the
// flags read plainly: every other test calls Leftovers after Join, which
// orders it after the last write of the flags, so only a call beside a
// change of the flags by another goroutine, with nothing between to order
// them, shows the race, which the detector reports.
func TestLeftoversBesideControls(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, release := spawnBlocked(t)
	froze := make(chan struct{})
	go func() {
		r.Freeze() // its last access to the flags is the CAS, a write
		close(froze)
	}()
	// The Freeze has surely happened by now, and nothing orders it before
	// the Leftovers: a sleep orders nothing, and the runtime's loop,
	// blocked in its step, touches neither its flags nor its lock.
	time.Sleep(10 * time.Millisecond)
	if left := r.Leftovers(); left != nil {
		t.Fatalf("Leftovers of a runtime not Dead: %v, want nil", left)
	}
	<-froze
	close(release)
	r.Halt()
	if err := joinWithin(t, r, func() string { return "the runtime did not end after Halt" }); err != nil {
		t.Fatal(err)
	}
	if left := r.Leftovers(); len(left) != 1 {
		t.Fatalf("Leftovers of the halted runtime: %d, want its continuation", len(left))
	}
}

// The rule (stepCtx.Done): the context of a step ends once, and after
// that every Done returns a closed channel, the first call and every
// later one.
//
// The bug it catches: ctx.go:stepCtx.Done:store-early:1, the channel made
// before the check that the context has ended: the first Done after the
// end answers the closed channel, but leaves behind one that nobody will
// close, which every later Done answers, so a step that selects on
// ctx.Done() a second time waits for ever. The step interrupts its own
// runtime, then asks for Done twice.
func TestDoneAfterTheEndStaysClosed(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	open := make(chan int, 1)
	r, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		rt.FromContext(ctx).Interrupt()
		for i := range 3 {
			select {
			case <-ctx.Done():
			default:
				open <- i
				return nil
			}
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := joinWithin(t, r, func() string { return "the runtime did not finish" }); err != nil {
		t.Fatal(err)
	}
	select {
	case i := <-open:
		t.Fatalf("Done call %d after the step's context ended returned a channel that is not closed", i+1)
	default:
	}
}

// The rule (spec.Runtime, "Errors and failure"): a step that panicked
// makes the runtime's error ErrPanicked, with the value and the stack;
// a Cancel that came before the panic, in the same step, does not hide it
// (the first failure is the one reported, as for a linked failure).
//
// The bug it catches: teardown.go:Runtime.teardown:err-ignored:1, a
// canceled runtime's error made ErrCanceled whatever the loop returned:
// the panic, with its stack, is lost.
func TestPanicAfterCancelIsReported(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if !rt.FromContext(ctx).Cancel() {
			panic("Cancel refused")
		}
		panic("after the cancel")
	}))
	if err != nil {
		t.Fatal(err)
	}
	err = joinWithin(t, r, func() string { return "the runtime did not end" })
	var pe *rt.PanicError
	if !errors.Is(err, spec.ErrPanicked) || !errors.As(err, &pe) || pe.Value != "after the cancel" {
		t.Fatalf("Join after a Cancel, then a panic, in one step: %v, want the panic", err)
	}
}

// The rule (Runtime.SpawnNovel): it fails with Spawn's error, and then
// gives no join function.
//
// The bug it catches: rt.go:Runtime.SpawnNovel:err-ignored:1, Spawn's
// error not checked: SpawnNovel answers a join of a runtime that does
// not exist, and no error.
func TestSpawnNovelFailure(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, err := rt.Spawn(finite(1), rt.StartFrozen())
	if err != nil {
		t.Fatal(err)
	}
	join, err := r.SpawnNovel(nil)
	if join != nil || !errors.Is(err, spec.ErrNilContinuation) {
		t.Fatalf("SpawnNovel(nil) = %v, %v; want no join and ErrNilContinuation", join != nil, err)
	}
	r.Halt()
	if err := joinWithin(t, r, func() string { return "the runtime did not end" }); err != nil {
		t.Fatal(err)
	}
}

// The rule (rt.PinCPU): Spawn fails if the affinity cannot be set, and
// starts nothing.
//
// The bugs it catches: rt.go:Runtime.run:err-ignored:1 and
// Runtime.setupThread:err-ignored:1 (the affinity's error not checked: a
// runtime pinned to no CPU it may use boots), and Runtime.run:wake-drop:1
// (a boot that fails never closes done, and Spawn, which waits for it,
// never returns). CPU 1023 is the last a CPUSet holds, and no machine
// this runs on has it.
func TestPinToNoCPUFails(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var ok atomic.Bool
	r, err := rt.Spawn(cont.New(func(context.Context, *cont.C) cont.Step {
		ok.Store(true)
		return nil
	}), rt.PinCPU(1023))
	if r != nil || err == nil {
		if r != nil {
			r.Join()
		}
		t.Fatalf("Spawn pinned to CPU 1023 = %v, %v; want an error", r, err)
	}
	if ok.Load() {
		t.Fatal("a runtime whose Spawn failed ran a step")
	}
}

// The rule (rt.Signals): Spawn fails if the runtime's signals cannot be
// registered (here a nil signal, which the event queue refuses with
// eventq.ErrNoSignal), and starts nothing.
//
// The bug it catches: poll.go:Runtime.listen:err-ignored:2, the
// registration's error not checked: the runtime boots deaf to its
// signals, and Spawn reports success.
func TestSignalsRefusedFailsSpawn(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, err := rt.Spawn(finite(1), rt.Signals(nil))
	if r != nil || !errors.Is(err, eventq.ErrNoSignal) {
		if r != nil {
			r.Join()
		}
		t.Fatalf("Spawn with a nil signal = %v, %v; want eventq.ErrNoSignal", r, err)
	}
}

// The rule (Runtime.EventQueue): the queue is made once, on first use,
// and every caller gets that one, whichever goroutines call at once:
// here the runtime's step (through eventq.FromContext) and the test.
//
// The bug it catches: poll.go:Runtime.EventQueue:atomic-plain:1, the
// first, lock-free read of the queue made plain: a caller that reads it
// while another stores it races with the store, which the detector
// reports. Every other test makes the queue from one goroutine, the
// runtime's own.
func TestEventQueueMadeOnceBesideTheStep(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for round := range 50 {
		start := make(chan struct{})
		got := make(chan *eventq.Queue, 1)
		r, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
			<-start
			q, err := eventq.FromContext(ctx)
			if err != nil {
				t.Error(err)
			}
			got <- q
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		close(start)
		q, err := r.EventQueue()
		if err != nil {
			t.Fatalf("round %d: EventQueue: %v", round, err)
		}
		if err := joinWithin(t, r, func() string { return "the runtime did not finish" }); err != nil {
			t.Fatal(err)
		}
		if step := <-got; step != q {
			t.Fatalf("round %d: the step and the test got two queues", round)
		}
	}
}

// The rule (Runtime.EventQueue): it fails with the system's error if
// the queue cannot be made, and makes it at the next call once it can.
// Here the process may open no more files (RLIMIT_NOFILE lowered to the
// lowest free descriptor for the call, then restored): epoll_create1
// fails with EMFILE.
//
// The bug it catches: poll.go:Runtime.EventQueue:err-ignored:1, eventq.New's
// error not checked: EventQueue stores and returns no queue, and no error.
func TestEventQueueFailureIsReported(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, err := rt.Spawn(finite(1), rt.StartFrozen())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { r.Halt(); r.Join() }()
	var q *eventq.Queue
	var qerr error
	withNoFileToSpare(t, func() { q, qerr = r.EventQueue() })
	if q != nil || !errors.Is(qerr, syscall.EMFILE) {
		t.Fatalf("EventQueue with no file to spare = %v, %v; want no queue and EMFILE", q != nil, qerr)
	}
	if q, err := r.EventQueue(); q == nil || err != nil {
		t.Fatalf("EventQueue once files are free again = %v, %v; want the queue", q != nil, err)
	}
}

// withNoFileToSpare runs f while the process may open no more files:
// RLIMIT_NOFILE lowered to the lowest free descriptor, then restored.
func withNoFileToSpare(t *testing.T, f func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lowest, err := syscall.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(lowest)
	low := old
	low.Cur = uint64(lowest)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Fatal(err)
		}
	}()
	f()
}

// The rule (rt.Name): on an OS thread, the runtime names its thread, and
// Spawn fails with the system's error if it cannot, starting nothing.
// Here the process may open no more files, so the thread's comm file in
// /proc cannot be opened (EMFILE).
//
// The bug it catches: rt.go:Runtime.setupThread:err-ignored:2, the
// naming's error not checked: the runtime boots on an unnamed thread and
// Spawn reports success.
func TestNamingTheThreadFails(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var r *rt.Runtime
	var err error
	withNoFileToSpare(t, func() {
		r, err = rt.Spawn(finite(1), rt.OSThread(), rt.Name("unnamed"), rt.SkipPolling())
	})
	if r != nil || !errors.Is(err, syscall.EMFILE) {
		if r != nil {
			r.Join()
		}
		t.Fatalf("Spawn on a thread it cannot name = %v, %v; want EMFILE", r, err)
	}
}
