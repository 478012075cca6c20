// Package testpool holds the helpers that the tests of several packages
// use to run continuations on pools: a pool that must leave nothing behind,
// a check of where a step runs, and a bounded wait. Only tests import it.
package testpool

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
)

// New starts a waiter pool of n workers over an unbounded mailbox; it is
// closed when the test ends, and must leave nothing behind (Close's error
// and any leftover fail the test).
func New(t *testing.T, n int, opts ...rt.Option) (*pool.Pool, *cont.Box) {
	t.Helper()
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(pool.Waiter, box, n, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("closing the pool: %v", err)
		}
		if l := p.Leftovers(); len(l) != 0 {
			t.Errorf("%d continuations left over", len(l))
		}
	})
	return p, box
}

// On reports whether the step whose context is ctx runs on one of p's
// runtimes.
func On(ctx context.Context, p *pool.Pool) bool {
	r := rt.FromContext(ctx)
	return r != nil && slices.Contains(slices.Collect(p.Items()), r)
}

// Wait waits for done, failing the test after 10 s rather than hanging.
func Wait(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the continuation did not finish within 10s")
	}
}
