package pool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
)

// each applies f to every runtime of the pool, as it is when each starts.
func (c *core) each(f func(*rt.Runtime)) {
	for _, w := range c.snapshot() {
		f(w.r)
		// Between two runtimes: one added now is not reached, one drained
		// now is.
		seam.Point()
	}
}

// Halt halts every runtime of the pool (see rt.Runtime.Halt).
func (p *Pool) Halt() {
	defer runtime.KeepAlive(p)
	p.c.each(func(r *rt.Runtime) { r.Halt() })
}

// Interrupt interrupts every runtime: a worker asleep waiting for work
// wakes, looks at its flags, and waits again.
func (p *Pool) Interrupt() {
	defer runtime.KeepAlive(p)
	p.c.each(func(r *rt.Runtime) { r.Interrupt() })
}

// Cancel cancels every runtime (see rt.Runtime.Cancel).
func (p *Pool) Cancel() {
	defer runtime.KeepAlive(p)
	p.c.each(func(r *rt.Runtime) { r.Cancel() })
}

// Signal applies sig to every runtime (see rt.Runtime.Signal).
func (p *Pool) Signal(sig os.Signal) {
	defer runtime.KeepAlive(p)
	p.c.each(func(r *rt.Runtime) { r.Signal(sig) })
}

// Join waits until every runtime of the pool is Dead and returns their
// errors, joined.
func (p *Pool) Join() error {
	defer runtime.KeepAlive(p)
	err := p.c.join()
	p.disarm()
	return err
}

func (c *core) join() error {
	var errs []error
	for _, w := range c.snapshot() {
		if err := w.r.Join(); err != nil {
			errs = append(errs, fmt.Errorf("worker %s: %w", w.r, err))
		}
	}
	return errors.Join(errs...)
}

// Shutdown halts every runtime, then joins them, giving up when ctx ends
// (returning its error).
func (p *Pool) Shutdown(ctx context.Context) error {
	defer runtime.KeepAlive(p)
	p.Halt()
	var errs []error
	for _, w := range p.c.snapshot() {
		if err := w.r.JoinContext(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, fmt.Errorf("worker %s: %w", w.r, err))
		}
	}
	p.disarm()
	return errors.Join(errs...)
}

// Close ends the pool gracefully: it closes for writing the pool's own
// mailbox and every mailbox its workers were spawned over, lets the
// workers run what is queued and end, and joins every runtime of the
// pool. A runtime added by Go or AddRuntime must end by itself.
func (p *Pool) Close() error {
	defer runtime.KeepAlive(p)
	c := p.c
	for _, b := range c.mailboxes() {
		b.CloseWrite()
	}
	err := c.join()
	p.disarm()
	return err
}

// mailboxes returns the mailboxes the pool's workers were spawned over.
func (c *core) mailboxes() []*Box {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.boxes)
}

// Leftovers returns the continuations that the pool's runtimes were in the
// middle of when they stopped (halted, canceled or ejected mid-way),
// including runtimes removed by Drain or Clear: for a worker, those its
// dispatcher had in hand; for a runtime added by Go or AddRuntime, its
// rt.Runtime.Leftovers. Call it only once those runtimes are Dead (after
// Join, or their own Join): it panics otherwise.
func (p *Pool) Leftovers() []*cont.C {
	defer runtime.KeepAlive(p)
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	var left []*cont.C
	for _, w := range append(slices.Clone(c.workers), c.gone...) {
		if w.r.Flags()&rt.FlagDead == 0 { // Dead is set just before Done is closed
			panic("pool: Leftovers called while a worker is still running")
		}
		left = append(left, w.leftovers()...)
	}
	return left
}

// OnForget sets what a forgotten pool does once it has halted and joined
// its runtimes: f gets their errors, joined, and what they were in the
// middle of, and reports whether it took care of those continuations.
// Without f, or when f reports false, each is given back to the mailbox
// its worker took it from, if that mailbox takes it (mailbox.TrySend);
// those of a runtime added by Go or AddRuntime, which has no mailbox, and
// those a mailbox refuses, are dropped. f runs on a goroutine of its own;
// it must not keep the continuations' pool reachable (it would never be
// forgotten).
func (p *Pool) OnForget(f func(err error, left []*cont.C) (taken bool)) {
	defer runtime.KeepAlive(p)
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onForget = f
}

// forget is the cleanup of a pool whose handle was collected: on a
// goroutine of its own (cleanups share one goroutine, which must not
// wait), it halts the runtimes still in the pool, joins them, and hands
// what they were in the middle of to OnForget's function, or back to
// their mailboxes. Runtimes removed by Drain or Clear are the caller's,
// and left alone.
func (c *core) forget() {
	seam.Go(func() {
		ws := c.snapshot()
		for _, w := range ws {
			w.r.Halt()
		}
		var (
			errs []error
			left []*cont.C
			home []*Box // the mailbox of each of left, nil if none
		)
		for _, w := range ws {
			if err := w.r.Join(); err != nil {
				errs = append(errs, fmt.Errorf("worker %s: %w", w.r, err))
			}
			for _, l := range w.leftovers() {
				left, home = append(left, l), append(home, w.box)
			}
		}
		c.mu.Lock()
		f := c.onForget
		c.mu.Unlock()
		if f != nil && f(errors.Join(errs...), left) {
			return
		}
		for i, l := range left {
			if home[i] != nil {
				home[i].TrySend(l)
			}
		}
	})
}
