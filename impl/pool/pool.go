// Package pool runs continuations on a set of runtimes that share one
// mailbox: send a *cont.C to the mailbox, and a worker of the pool runs it.
//
//	box := mailbox.New[cont.C](mailbox.Unbounded)
//	p, err := pool.New(pool.Waiter, box, runtime.GOMAXPROCS(0))
//	box.Send(c)                 // some worker runs c
//	err = p.Close()             // no more work: drain the mailbox, then join
//
// Each worker is a runtime (package impl/rt) running a dispatcher, itself a
// continuation: Waiter runs continuation after continuation until the
// mailbox can never yield again; Runner runs exactly one, then ends.
// Halting or freezing a worker takes effect between two steps of the work,
// as in the Nim original: a dispatcher returns to its runtime after every
// step of a continuation that is not finished, and after every continuation
// once its runtime wants the step back (every control operation ends the
// step's context); continuations that finish in one step it runs back to
// back, up to 64 per step of its own, which spares the runtime's turn per
// task.
//
// Nothing sent to a pool is lost: each continuation runs to completion, or
// is still in the mailbox (Drain it), or was in the middle of running when
// its worker stopped (Leftovers, after Join).
package pool

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"slices"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
)

// Box is the mailbox a pool takes continuations from.
type Box = mailbox.Mailbox[cont.C]

// A Dispatcher makes the continuation that a worker runs: one that takes
// continuations from box and runs them. inFlight reports, once the worker
// has torn down, the continuations it had taken from box and not finished:
// the one it was in the middle of, if any, and any it had taken ahead and
// not started. It must not be called before.
type Dispatcher func(box *Box) (worker *cont.C, inFlight func() []*cont.C)

// Waiter is the dispatcher that runs continuation after continuation from
// its mailbox until the mailbox can never yield again (unreadable: closed
// for reading, or closed for writing and drained). When the mailbox holds
// many, it takes up to 64 at a time (mailbox.TryRecvMany: one atomic step
// for all of them, instead of one per continuation, which is most of what
// two workers draining one mailbox otherwise fight over), and gives back
// those it has not started as soon as one of them needs more than one step
// or its runtime wants the step back, so that no continuation waits
// behind a long one while another worker could run it. Given back, they go
// to the end of the mailbox: a pool keeps no order among continuations.
func Waiter(box *Box) (*cont.C, func() []*cont.C) { return dispatch(box, false) }

// Runner is the dispatcher that runs exactly one continuation from its
// mailbox, then ends; it ends at once if the mailbox can never yield one.
func Runner(box *Box) (*cont.C, func() []*cont.C) { return dispatch(box, true) }

// batch is how many continuations a waiter runs to completion in one step
// of its own, at most, when each finishes in one step: it saves the
// runtime's turn (its flag reads and panic guard) per continuation, while
// keeping the time between two of the worker's cooperative points short.
// It is also the most a waiter takes from its mailbox at once.
const batch = 64

func dispatch(box *Box, once bool) (*cont.C, func() []*cont.C) {
	// cur is the continuation in hand between two steps of the worker, or
	// while a step of it panics; within a step the one in hand is c, kept
	// in a local so that a continuation that finishes in one step costs no
	// pointer stores to the heap. ahead[next:n] are the continuations taken
	// from box and not started.
	var (
		cur     *cont.C
		ahead   [batch]*cont.C
		next, n int
	)
	// giveBack returns the continuations taken ahead to box, if it takes
	// them (it may not: closed, paused or full); those it does not stay.
	giveBack := func() {
		if next == n {
			return
		}
		if k, _ := box.TrySendMany(ahead[next:n]); k > 0 {
			clear(ahead[next : next+k])
			next += k
		}
	}
	w := cont.New(func(ctx context.Context, self *cont.C) cont.Step {
		c := cur
		defer func() {
			if c != nil { // a step of c panicked, or c yields: keep it in hand
				cur = c
			}
		}()
		cur = nil
		for range batch {
			if c == nil && next == n && !once {
				next = 0
				n, _ = box.TryRecvMany(ahead[:])
			}
			if c == nil && next < n {
				c, ahead[next] = ahead[next], nil
				next++
			}
			if c == nil {
				got, err := box.RecvContext(ctx)
				switch {
				case err == nil:
					c = got
				case errors.Is(err, mailbox.ErrUnreadable):
					return nil // nothing can ever come
				default:
					return self.Next() // the worker's step context ended, or an interrupt: yield
				}
			}
			// One step of the work, then the worker's cooperative point,
			// unless the work finished and the runtime does not want its
			// step back: every control operation (Halt, Freeze, Interrupt,
			// Cancel, Eject) ends ctx after setting its flag, so one that
			// comes before this check ends the step here, and one that
			// comes after it is seen by the runtime when this step returns,
			// as between any two steps. A continuation that needs more than
			// one step always gets the cooperative point after each.
			if !c.Step(ctx) {
				giveBack()
				return self.Next()
			}
			c = nil
			if once {
				return nil
			}
			if ctx.Err() != nil {
				giveBack()
				break
			}
		}
		return self.Next()
	})
	return w, func() []*cont.C {
		left := slices.Clone(ahead[next:n])
		if cur != nil {
			left = append([]*cont.C{cur}, left...)
		}
		return left
	}
}

// Pool is a set of runtimes running one dispatcher over one mailbox. Its
// methods are safe for concurrent use.
type Pool struct {
	box  *Box
	d    Dispatcher
	opts []rt.Option

	mu      seam.Mutex
	workers []worker // in the pool now
	gone    []worker // removed by Drain or Clear, for Leftovers
}

type worker struct {
	r        *rt.Runtime
	inFlight func() []*cont.C
}

// New returns a pool of n workers, each a runtime spawned with opts and
// running d over box. Workers do not poll an event queue (rt.SkipPolling):
// a worker waits in its mailbox between continuations, where nothing would
// run what became ready meanwhile, so a continuation that waits for I/O or
// a timer (eventq.Await, eventq.Sleep) gets eventq.ErrNoQueue in a pool,
// and should wait on a polling runtime instead. It fails if n is negative, or if a runtime cannot be
// spawned (the workers already spawned are halted and joined).
func New(d Dispatcher, box *Box, n int, opts ...rt.Option) (*Pool, error) {
	if n < 0 {
		return nil, fmt.Errorf("pool: New with %d workers: the count must not be negative", n)
	}
	if d == nil || box == nil {
		return nil, errors.New("pool: New needs a dispatcher and a mailbox")
	}
	p := &Pool{box: box, d: d, opts: opts}
	for range n {
		if _, err := p.Add(); err != nil {
			p.Halt()
			p.Join()
			return nil, err
		}
	}
	return p, nil
}

// Mailbox returns the mailbox the pool takes continuations from.
func (p *Pool) Mailbox() *Box { return p.box }

// Add spawns one more worker and returns its runtime.
func (p *Pool) Add() (*rt.Runtime, error) {
	c, inFlight := p.d(p.box)
	// Workers do not poll: see New.
	r, err := rt.Spawn(c, append([]rt.Option{rt.SkipPolling()}, p.opts...)...)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.workers = append(p.workers, worker{r, inFlight})
	p.mu.Unlock()
	return r, nil
}

// Count returns the number of workers in the pool, Dead ones included
// (a Runner's worker stays in the pool after its one continuation): the
// pool holds workers until Drain or Clear takes them out.
func (p *Pool) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.workers)
}

// Items returns an iterator over the pool's runtimes, as they are when it
// starts.
func (p *Pool) Items() iter.Seq[*rt.Runtime] {
	return func(yield func(*rt.Runtime) bool) {
		for _, w := range p.snapshot() {
			if !yield(w.r) {
				return
			}
		}
	}
}

func (p *Pool) snapshot() []worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.workers)
}

// Drain removes one worker from the pool, without stopping it, and
// returns its runtime (now the caller's), or nil if the pool is empty.
func (p *Pool) Drain() *rt.Runtime {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.workers) == 0 {
		return nil
	}
	w := p.workers[len(p.workers)-1]
	p.workers = p.workers[:len(p.workers)-1]
	p.gone = append(p.gone, w)
	return w.r
}

// Clear removes every worker from the pool, without stopping them.
func (p *Pool) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gone = append(p.gone, p.workers...)
	p.workers = nil
}

// each applies f to every worker's runtime.
func (p *Pool) each(f func(*rt.Runtime)) {
	for _, w := range p.snapshot() {
		f(w.r)
	}
}

// Halt halts every worker (see rt.Runtime.Halt).
func (p *Pool) Halt() { p.each(func(r *rt.Runtime) { r.Halt() }) }

// Interrupt interrupts every worker: one asleep waiting for work wakes,
// looks at its flags, and waits again.
func (p *Pool) Interrupt() { p.each(func(r *rt.Runtime) { r.Interrupt() }) }

// Cancel cancels every worker (see rt.Runtime.Cancel).
func (p *Pool) Cancel() { p.each(func(r *rt.Runtime) { r.Cancel() }) }

// Signal applies sig to every worker (see rt.Runtime.Signal).
func (p *Pool) Signal(sig os.Signal) { p.each(func(r *rt.Runtime) { r.Signal(sig) }) }

// Join waits until every worker is Dead and returns their errors, joined.
func (p *Pool) Join() error {
	var errs []error
	for _, w := range p.snapshot() {
		if err := w.r.Join(); err != nil {
			errs = append(errs, fmt.Errorf("worker %s: %w", w.r, err))
		}
	}
	return errors.Join(errs...)
}

// Shutdown halts every worker, then joins them, giving up when ctx ends
// (returning its error).
func (p *Pool) Shutdown(ctx context.Context) error {
	p.Halt()
	var errs []error
	for _, w := range p.snapshot() {
		if err := w.r.JoinContext(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, fmt.Errorf("worker %s: %w", w.r, err))
		}
	}
	return errors.Join(errs...)
}

// Close ends the pool gracefully: it closes the mailbox for writing, lets
// the workers run what is queued and end, and joins them.
func (p *Pool) Close() error {
	p.box.CloseWrite()
	return p.Join()
}

// Leftovers returns the continuations that workers were in the middle of
// when they stopped (halted, canceled or ejected mid-way), including
// workers removed by Drain or Clear. Call it only once those workers are
// Dead (after Join, or their own Join).
func (p *Pool) Leftovers() []*cont.C {
	p.mu.Lock()
	defer p.mu.Unlock()
	var left []*cont.C
	for _, w := range append(slices.Clone(p.workers), p.gone...) {
		if w.r.Flags()&rt.FlagDead == 0 { // Dead is set just before Done is closed
			panic("pool: Leftovers called while a worker is still running")
		}
		for _, c := range w.inFlight() {
			if c != nil && !c.Done() {
				left = append(left, c)
			}
		}
	}
	return left
}
