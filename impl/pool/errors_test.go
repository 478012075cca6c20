package pool_test

import (
	"context"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// deadRuntime returns a runtime that has ended: linking to it fails, so a
// worker spawned with rt.LinkTo(it) cannot be.
func deadRuntime(t *testing.T) *rt.Runtime {
	t.Helper()
	r, err := rt.Spawn(cont.New(func(context.Context, *cont.C) cont.Step { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Join()
	return r
}

// New and Add report a worker that cannot be spawned. The bugs this
// catches: New or Add dropping rt.Spawn's error (the mutation runner's
// survivors New:err-ignored:1 and Pool.Add:err-ignored:1), which hands
// back a pool short of the workers asked for, or a nil runtime, as if
// all were well.
func TestSpawnFailureIsReported(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	dead := deadRuntime(t)
	box := mailbox.New[cont.C](4)
	if p, err := pool.New(pool.Waiter, box, 2, rt.LinkTo(dead)); err == nil || p != nil {
		t.Fatalf("New with workers that cannot be spawned: pool %v, error %v; want no pool and the error", p, err)
	}
	p, err := pool.New(pool.Waiter, box, 0, rt.LinkTo(dead))
	if err != nil {
		t.Fatalf("New with no workers: %v", err)
	}
	if r, err := p.Add(); err == nil || r != nil {
		t.Fatalf("Add of a worker that cannot be spawned: runtime %v, error %v; want none and the error", r, err)
	}
	if n := p.Count(); n != 0 {
		t.Fatalf("Count = %d after a failed Add, want 0", n)
	}
}

// Shutdown gives up when its context ends, and returns the context's own
// error, as its doc says (not a worker's error that wraps it). The bugs
// this catches: Shutdown dropping JoinContext's error, which returns nil
// as if every worker had ended while one still runs
// (Pool.Shutdown:err-ignored:1), and Shutdown going on to the next worker
// once its context has ended, wrapping the error as a worker's
// (Pool.Shutdown:err-ignored:2).
func TestShutdownReturnsContextError(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](4)
	p, err := pool.New(pool.Waiter, box, 1)
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	if err := box.Send(cont.New(func(context.Context, *cont.C) cont.Step {
		close(started)
		<-release // a step that ignores its context: the halt waits for it
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.Shutdown(ctx)
	close(release)
	if err != context.Canceled {
		t.Fatalf("Shutdown with its context ended while a worker runs: %v, want context.Canceled itself", err)
	}
	if err := p.Join(); err != nil {
		t.Fatalf("Join after the step ended: %v", err)
	}
}
