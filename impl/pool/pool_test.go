package pool_test

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/spec"
	"go.uber.org/goleak"

	"github.com/insideout-go/insideout/internal/rapidcheck"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// mustReturn runs f (a Join or a Close) and returns its error, failing
// the test at once if f has not returned within settleWithin (see
// within): a dispatcher that loses a continuation, or a worker that never
// ends, shows as a failure naming what hung, not as the package's timeout.
func mustReturn(t *testing.T, what string, f func() error) error {
	t.Helper()
	var err error
	if !rapidcheck.Within(func() { err = f() }) {
		t.Fatalf("%s has not returned after %v", what, settleWithin)
	}
	return err
}

// job returns a continuation of k steps that counts its completion in
// done.
func job(k int, done *atomic.Int64) *cont.C {
	i := 0
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		i++
		if i == k {
			done.Add(1)
			return nil
		}
		return c.Next()
	})
}

// A waiter pool runs every continuation sent to it, and Close drains the
// mailbox, ends the workers and joins them.
func TestWaiterRunsEverything(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(pool.Waiter, box, runtime.GOMAXPROCS(0))
	if err != nil {
		t.Fatal(err)
	}
	var done atomic.Int64
	const n = 2000
	for range n {
		if err := box.Send(job(3, &done)); err != nil {
			t.Fatal(err)
		}
	}
	if err := mustReturn(t, "Close", p.Close); err != nil {
		t.Fatal(err)
	}
	if done.Load() != n || box.Len() != 0 || len(p.Leftovers()) != 0 {
		t.Fatalf("%d of %d ran, %d queued, %d left over", done.Load(), n, box.Len(), len(p.Leftovers()))
	}
}

// A runner runs exactly one continuation, then its runtime ends.
func TestRunnerRunsOne(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](4)
	var done atomic.Int64
	box.Send(job(2, &done))
	box.Send(job(2, &done))
	p, err := pool.New(pool.Runner, box, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := mustReturn(t, "Join", p.Join); err != nil {
		t.Fatal(err)
	}
	if done.Load() != 1 || box.Len() != 1 {
		t.Fatalf("a runner ran %d, left %d queued; want 1 and 1", done.Load(), box.Len())
	}
}

// Conservation: halting a pool mid-way loses nothing. Every continuation
// sent ran to completion, or is still in the mailbox, or is among the
// leftovers of the halted workers.
func TestHaltConservesWork(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(pool.Waiter, box, 3)
	if err != nil {
		t.Fatal(err)
	}
	var done atomic.Int64
	const n = 500
	for range n {
		box.Send(job(100000, &done)) // long: every worker is caught mid-way
	}
	for done.Load() == 0 && box.Len() > n-4 {
		time.Sleep(100 * time.Microsecond) // until the workers have started
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	queued := len(box.Drain())
	left := len(p.Leftovers())
	if got := int(done.Load()) + queued + left; got != n {
		t.Fatalf("%d ran + %d queued + %d left over = %d, want %d", done.Load(), queued, left, got, n)
	}
	if queued == 0 || left == 0 {
		t.Fatalf("%d queued and %d left over: the test did not catch the pool mid-way", queued, left)
	}
	t.Logf("%d ran, %d queued, %d left over", done.Load(), queued, left)
}

func TestMembership(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](1)
	p, err := pool.New(pool.Waiter, box, 3)
	if err != nil {
		t.Fatal(err)
	}
	if p.Count() != 3 {
		t.Fatalf("Count = %d", p.Count())
	}
	n := 0
	for range p.Items() {
		n++
	}
	r := p.Drain()
	if n != 3 || r == nil || p.Count() != 2 {
		t.Fatal("Items or Drain is wrong")
	}
	if _, err := p.Add(); err != nil || p.Count() != 3 {
		t.Fatal("Add did not add")
	}
	p.Clear()
	if p.Count() != 0 || p.Drain() != nil {
		t.Fatal("Clear did not empty the pool")
	}
	box.CloseRead() // every worker, drained or cleared, ends
	r.Join()
	if _, err := pool.New(pool.Waiter, box, -1); err == nil {
		t.Fatal("a negative count was accepted")
	}
}

// Interrupt wakes idle workers, which go back to waiting: the pool still
// runs what comes next.
func TestInterruptKeepsWorking(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, _ := pool.New(pool.Waiter, box, 2)
	p.Interrupt()
	var done atomic.Int64
	box.Send(job(1, &done))
	if err := mustReturn(t, "Close", p.Close); err != nil || done.Load() != 1 {
		t.Fatalf("after Interrupt the pool ran %d (%v)", done.Load(), err)
	}
}

// Cancel ends every worker with ErrCanceled; Shutdown gives up when its
// context ends.
func TestCancelAndShutdownDeadline(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, _ := pool.New(pool.Waiter, box, 2)
	p.Cancel()
	if err := mustReturn(t, "Join", p.Join); !errors.Is(err, spec.ErrCanceled) {
		t.Fatalf("Join after Cancel: %v", err)
	}

	block := make(chan struct{})
	box2 := mailbox.New[cont.C](1)
	stuck := cont.New(func(context.Context, *cont.C) cont.Step { <-block; return nil }) // ignores its context
	box2.Send(stuck)
	p2, _ := pool.New(pool.Waiter, box2, 1)
	time.Sleep(5 * time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := p2.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown of a pool stuck in a step: %v, want the deadline", err)
	}
	close(block)
	p2.Join()
}

// slowJob returns a continuation that takes a step every millisecond until
// release is closed, then counts its completion in done.
func slowJob(release <-chan struct{}, done *atomic.Int64) *cont.C {
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		select {
		case <-release:
			done.Add(1)
			return nil
		case <-time.After(time.Millisecond):
			return c.Next()
		}
	})
}

// A waiter takes many continuations at once, and gives back those it has
// not started when the one in hand needs more than one step. The bug this
// catches: a worker sitting on 63 quick continuations behind a slow one,
// while the other worker has nothing to do.
func TestWaiterGivesBackWhatItTookAhead(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	release := make(chan struct{})
	var done, slowDone atomic.Int64
	const quick = 100
	batch := []*cont.C{slowJob(release, &slowDone)}
	for range quick {
		batch = append(batch, job(1, &done))
	}
	if n, r := box.TrySendMany(batch); n != len(batch) {
		t.Fatalf("TrySendMany sent %d of %d: %v", n, len(batch), r)
	}
	p, err := pool.New(pool.Waiter, box, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !rapidcheck.Within(func() {
		for done.Load() < quick {
			time.Sleep(100 * time.Microsecond)
		}
	}) {
		t.Errorf("%d of %d quick continuations ran while a slow one held its worker", done.Load(), quick)
	}
	close(release)
	if err := mustReturn(t, "Close", p.Close); err != nil {
		t.Fatal(err)
	}
	if done.Load() != quick || slowDone.Load() != 1 || len(p.Leftovers()) != 0 {
		t.Fatalf("%d quick and %d slow ran, %d left over", done.Load(), slowDone.Load(), len(p.Leftovers()))
	}
}

// What a waiter has taken ahead and could not give back (the mailbox is
// closed for writing) is among the leftovers when it stops. The bug this
// catches: continuations taken in a batch and lost with their worker.
func TestLeftoversIncludeWhatWasTakenAhead(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	release := make(chan struct{})
	defer close(release)
	var done atomic.Int64
	const quick = 10
	batch := []*cont.C{slowJob(release, &done)}
	for range quick {
		batch = append(batch, job(1, &done))
	}
	box.TrySendMany(batch)
	box.CloseWrite()
	p, err := pool.New(pool.Waiter, box, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !rapidcheck.Within(func() {
		for box.Len() != 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}) {
		t.Fatal("the worker did not take the batch")
	}
	time.Sleep(5 * time.Millisecond) // the slow one takes a few steps
	p.Halt()
	if err := mustReturn(t, "Join", p.Join); err != nil {
		t.Fatal(err)
	}
	left := p.Leftovers()
	if int(done.Load())+len(left) != quick+1 || len(left) != quick+1 {
		t.Fatalf("%d ran and %d left over, want 0 and %d", done.Load(), len(left), quick+1)
	}
	if left[0] != batch[0] {
		t.Fatal("the continuation in hand is not the first leftover")
	}
}

// Pool workers do not poll: a continuation that would wait for I/O in a
// worker's event queue learns so at once and goes on. The bug this
// catches: a continuation parked in the queue of a worker that waits in
// its mailbox, where nothing would ever resume it.
func TestWorkersDoNotPoll(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(pool.Waiter, box, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	box.Send(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return eventq.Await(ctx, c, 0, spec.EvRead, func(ctx context.Context, c *cont.C) cont.Step {
			got <- cont.MoveErr(ctx)
			return nil
		})
	}))
	select {
	case err := <-got:
		if !errors.Is(err, eventq.ErrNoQueue) {
			t.Fatalf("Await in a pool: %v, want ErrNoQueue", err)
		}
	case <-time.After(settleWithin):
		t.Fatal("the continuation that tried to wait for I/O in a pool never resumed")
	}
	if err := mustReturn(t, "Close", p.Close); err != nil {
		t.Fatal(err)
	}
}

// A continuation that sleeps on a pool's worker leaves the worker free
// meanwhile and comes back through the pool's mailbox when due (what the
// worker's home context lets eventq.Sleep do): the one worker runs another
// job during the sleep, and the sleeper resumes, on that worker, no
// sooner than asked. The bug: a dispatcher whose steps lack the mailbox
// (the sleep holds the worker, and the other job waits behind it).
func TestSleepLeavesTheWorkerFree(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(pool.Waiter, box, 1)
	if err != nil {
		t.Fatal(err)
	}
	const nap = 50 * time.Millisecond
	var order []string
	woke, other := make(chan error, 1), make(chan struct{})
	start := time.Now()
	box.Send(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return eventq.Sleep(ctx, c, nap, func(ctx context.Context, c *cont.C) cont.Step {
			order = append(order, "sleeper")
			woke <- cont.MoveErr(ctx)
			return nil
		})
	}))
	box.Send(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		order = append(order, "other")
		close(other)
		return nil
	}))
	select {
	case <-other:
	case <-time.After(settleWithin):
		t.Fatal("the other job never ran")
	}
	select {
	case err := <-woke:
		if err != nil || time.Since(start) < nap {
			t.Fatalf("the sleeper resumed after %v with %v, want %v at least and no error", time.Since(start), err, nap)
		}
	case <-time.After(settleWithin):
		t.Fatal("the sleeper never came back to the pool")
	}
	if err := mustReturn(t, "Close", p.Close); err != nil {
		t.Fatal(err)
	}
	if len(order) != 2 || order[0] != "other" {
		t.Fatalf("ran %v, want the other job, then the sleeper", order)
	}
}
