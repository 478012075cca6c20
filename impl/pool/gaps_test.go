package pool_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/rapidcheck"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// A Halt that comes while a waiter runs the first of a batch it took
// ahead stops the waiter after that one: the rest go back to the mailbox,
// none runs. The bugs (the mutation runner's survivors
// dispatch:cond-invert:6, dispatch:err-ignored:1 and
// dispatch:break-continue:1, the check of the worker's context after a
// continuation that finished): a waiter that runs its whole batch after
// its runtime wanted the step back, so that a halt takes effect up to 63
// continuations late.
func TestHaltStopsABatch(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	started, release := make(chan struct{}), make(chan struct{})
	var ran atomic.Int64
	batch := []*cont.C{cont.New(func(context.Context, *cont.C) cont.Step {
		close(started)
		<-release // ignores its context: the halt comes while it runs
		ran.Add(1)
		return nil
	})}
	for range 63 {
		batch = append(batch, cont.New(func(context.Context, *cont.C) cont.Step { ran.Add(1); return nil }))
	}
	if n, r := box.TrySendMany(batch); n != len(batch) {
		t.Fatalf("TrySendMany sent %d of %d: %v", n, len(batch), r)
	}
	p, err := pool.New(pool.Waiter, box, 1) // one worker: it takes all 64 at once
	if err != nil {
		t.Fatal(err)
	}
	<-started
	p.Halt()
	close(release)
	if err := mustReturn(t, "Join", p.Join); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 1 || box.Len() != 63 || len(p.Leftovers()) != 0 {
		t.Fatalf("after a Halt during the first of a batch of 64: %d ran, %d queued, %d left over; want 1, 63, 0",
			ran.Load(), box.Len(), len(p.Leftovers()))
	}
}

// Signal reaches every runtime of the pool: SIGTERM halts them all (Join
// returns), SIGCONT thaws a frozen one. The bug (the survivor
// Pool.Signal:wake-drop:1): a Signal that reaches none.
func TestSignalReachesEveryRuntime(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(pool.Waiter, box, 3)
	if err != nil {
		t.Fatal(err)
	}
	var frozen *rt.Runtime
	for r := range p.Items() {
		frozen = r
	}
	frozen.Freeze()
	p.Signal(syscall.SIGCONT)
	if !rapidcheck.WaitFor(func() bool { return frozen.Flags()&rt.FlagFrozen == 0 }) {
		t.Fatal("SIGCONT did not thaw a frozen worker")
	}
	p.Signal(syscall.SIGTERM)
	if err := mustReturn(t, "Join after SIGTERM", p.Join); err != nil {
		t.Fatal(err)
	}
}

// Go reports a runtime that cannot be spawned, and adds nothing. The bug
// (the survivor Pool.Go:err-ignored:1): Go dropping rt.Spawn's error.
func TestGoFailureIsReported(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	p := pool.Empty()
	r, err := p.Go(cont.New(func(context.Context, *cont.C) cont.Step { return nil }), rt.LinkTo(deadRuntime(t)))
	if err == nil || r != nil || p.Count() != 0 {
		t.Fatalf("Go of a runtime that cannot be spawned: %v, %v, and the pool holds %d", r, err, p.Count())
	}
}

// Close beside Spawns over new mailboxes, under -race: Close reads the
// pool's mailboxes under its lock, as Spawn adds them. The bug: Close
// reading them unlocked, a data race the detector reports when the read
// meets an append (a narrow window: the mutation runner's
// Pool.Close:read-unlocked mutants survived this test, before Close's
// read moved into a locked helper).
func TestCloseBesideSpawn(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	p := pool.Empty()
	var (
		mu    sync.Mutex
		boxes []*pool.Box
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for range 20 {
			box := mailbox.New[cont.C](mailbox.Unbounded)
			mu.Lock()
			boxes = append(boxes, box)
			mu.Unlock()
			if _, err := p.Spawn(pool.Waiter, box, 1); err != nil {
				t.Error(err)
				return
			}
		}
	})
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	wg.Wait()
	mu.Lock()
	for _, box := range boxes {
		box.CloseRead() // the workers Close did not see end
	}
	mu.Unlock()
	if err := mustReturn(t, "Close", func() error { return <-closed }); err != nil {
		t.Fatal(err)
	}
	if err := mustReturn(t, "Join", p.Join); err != nil {
		t.Fatal(err)
	}
}

// A forgotten pool tells OnForget what its runtimes failed with. The bug
// (the survivor core.forget:err-ignored:1): the errors dropped, so that a
// panic on a forgotten pool's worker passes unseen.
func TestOnForgetGetsTheErrors(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	got := make(chan error, 1)
	rs := func() []*rt.Runtime {
		p := pool.Empty()
		p.OnForget(func(err error, _ []*cont.C) bool { got <- err; return true })
		r, err := p.Go(cont.New(func(context.Context, *cont.C) cont.Step { panic("a step panics") }))
		if err != nil {
			t.Fatal(err)
		}
		return []*rt.Runtime{r}
	}()
	if err := forgetWithin(settleWithin, rs); err != nil {
		t.Fatal(err)
	}
	// The runtime ended by itself: the cleanup runs once a collection
	// finds the pool unreachable.
	for deadline := time.Now().Add(settleWithin); ; runtime.GC() {
		select {
		case err := <-got:
			if !errors.Is(err, pool.ErrPanicked) {
				t.Fatalf("OnForget got %v, want the worker's ErrPanicked", err)
			}
			return
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("OnForget's function was not called")
		}
	}
}
