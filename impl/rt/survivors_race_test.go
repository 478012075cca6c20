package rt_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// Tests for mutants of the runtime that only the race detector can tell
// from the original, or that need two goroutines to meet: each makes the
// two accesses that the mutant leaves unordered happen in goroutines with
// nothing else between them.

// The rule (rt.Spawn): Spawn is safe for concurrent use; every runtime
// gets its own place in the order of spawns (Link's lock order).
//
// The bug it catches: rt.go:Spawn:atomic-plain:1, the count of spawns
// made plain: two goroutines spawning at once race on it (the race
// detector reports it), and two runtimes can get the same place, so that
// two Links could take their locks in opposite orders. The runtime's own
// tests spawn from one goroutine at a time.
func TestSpawnFromManyGoroutines(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for range 50 {
				r, err := rt.Spawn(finite(1))
				if err == nil {
					err = r.Join()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// spawnBlocked spawns a runtime with opts whose continuation's first step
// waits for release, ignoring its context, and whose second step finishes
// it; it returns once that first step has begun.
func spawnBlocked(t *testing.T, opts ...rt.Option) (r *rt.Runtime, release chan struct{}) {
	t.Helper()
	started, release := make(chan struct{}), make(chan struct{})
	first := true
	r, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if !first {
			return nil
		}
		first = false
		close(started)
		<-release
		return c.Next()
	}), opts...)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	return r, release
}

// The rule (spec.Runtime, "Errors and failure"): a runtime linked to one
// that fails is halted by that one's teardown and reports
// ErrLinkedFailure; the teardown reads the linked runtime's flags under
// its lock, while any goroutine may change them (Freeze, Thaw) without
// it.
//
// The bug it catches: teardown.go:Runtime.haltLinked:atomic-plain:1, that
// read made plain: it races with a Freeze by another goroutine, which
// the race detector reports. In the package's other tests the linked
// runtime's flags change only by its own loop, which takes its lock to
// park and so orders its writes before the read; here its step is
// blocked, and a goroutine of the test's freezes it just before its peer
// panics. (The links step's campaign under -race sees the race too, in
// 21 s; this test does in the package's first step, every run.)
func TestLinkedFailureBesideControls(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, release := spawnBlocked(t)
	boom := make(chan struct{})
	peer, err := r.SpawnLink(cont.New(func(context.Context, *cont.C) cont.Step {
		<-boom
		panic("boom")
	}))
	if err != nil {
		t.Fatal(err)
	}
	froze := make(chan struct{})
	go func() {
		r.Freeze() // its last access to the flags is the CAS, a write
		close(froze)
	}()
	// The Freeze has surely happened by the time the peer panics, and
	// nothing orders it before the peer's teardown: no channel, no lock
	// (a sleep orders nothing), and the runtime's loop, blocked in its
	// step, touches neither its flags nor its lock.
	time.Sleep(10 * time.Millisecond)
	close(boom)
	err = joinWithin(t, peer, func() string { return "the panicking runtime did not end" })
	<-froze
	if !errors.Is(err, spec.ErrPanicked) {
		t.Fatalf("the peer's Join: %v, want ErrPanicked", err)
	}
	close(release)
	if err := joinWithin(t, r, func() string { return "the linked runtime was not halted" }); !errors.Is(err, spec.ErrLinkedFailure) {
		t.Fatalf("the linked runtime's Join: %v, want ErrLinkedFailure", err)
	}
}

// The rule (Runtime.Eject): an Eject waiting for the hand-over fails with
// ErrTornDown if the runtime is halted first; it never waits for ever.
// The teardown wakes the Ejects waiting (they wait on the runtime's cond).
//
// The bugs it catches: teardown.go:Runtime.teardown:wake-drop:1, that
// wake-up dropped: the Eject sleeps on after the runtime is Dead; and
// control.go:Runtime.Eject:read-unlocked:1, the flags read once before
// Eject's loop: woken, the Eject sees the runtime as it was, not halted,
// asks for a hand-over again and sleeps for ever. The Eject asks for the
// hand-over (the step's context ends), the step, which ignores its
// context, goes on until released after a Halt, and the runtime, halted,
// tears down without handing anything over. (The links step's campaign
// kills both too, by a hang of TestGroupLinearizable in 33 to 36 s; this
// test does in the package's first step.)
func TestEjectWaitingWhenHalted(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	asked, release := make(chan struct{}), make(chan struct{})
	first := true
	r, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if first {
			first = false
			<-ctx.Done() // the Eject asks for a hand-over
			close(asked)
			<-release
		}
		return c.Next()
	}))
	if err != nil {
		t.Fatal(err)
	}
	ejected := make(chan error, 1)
	go func() {
		_, err := r.Eject()
		ejected <- err
	}()
	<-asked
	r.Halt()
	close(release)
	select {
	case err := <-ejected:
		if !errors.Is(err, spec.ErrTornDown) {
			t.Fatalf("Eject, the runtime halted before its hand-over: %v, want ErrTornDown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("an Eject waiting for the hand-over of a runtime halted meanwhile never returned (flags %v)", r.Flags())
	}
	if err := joinWithin(t, r, func() string { return "the runtime did not end" }); err != nil {
		t.Fatal(err)
	}
}

// The rule (the step's context): Err is nil until the context ends and
// then why; a step may poll it while a control operation ends it from
// another goroutine.
//
// The bug it catches: ctx.go:stepCtx.Err:atomic-plain:1, Err's read made
// plain: it races with end's compare-and-swap, which the race detector
// reports. Other steps wait on Done, whose close orders the write before
// their read.
func TestStepPollsErrWhileInterrupted(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	polling := make(chan struct{})
	var got error
	r, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		close(polling)
		for ctx.Err() == nil {
			runtime.Gosched()
		}
		got = ctx.Err()
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	<-polling
	r.Interrupt()
	if err := joinWithin(t, r, func() string { return "the step polling Err never saw the interrupt" }); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("Err after the interrupt: nil")
	}
}
