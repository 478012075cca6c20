// Package pool holds sets of runtimes, as the Nim original's pools are:
// workers that run continuations sent to a mailbox, spawned n at a time
// from a dispatcher (the factory of a worker's continuation), over one
// mailbox or several, and any runtime or continuation added beside them.
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
// task. A step run by a dispatcher finds the mailbox it came from in its
// context, under impl/internal/homekey's key, so that it can send its
// continuation back there.
//
// Nothing sent to a pool is lost: each continuation runs to completion, or
// is still in the mailbox (Drain it), or was in the middle of running when
// its worker stopped (Leftovers, after Join). A pool that is no longer
// referenced halts its runtimes and joins them, and gives back to its
// mailbox what its workers were in the middle of (see OnForget), so that a
// forgotten pool leaks no goroutine.
//
// The contract is spec.Pool; model.PoolRef is the sequential reference.
package pool

import (
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// Box is the mailbox a pool takes continuations from.
type Box = mailbox.Mailbox[cont.C]

// ErrNoDispatcher is Add's error on a pool made by Empty, which has no
// dispatcher and mailbox of its own: use Spawn.
var ErrNoDispatcher = errors.New("pool: Add on a pool without a dispatcher of its own (made by Empty): use Spawn")

// Pool is a set of runtimes. Its methods are safe for concurrent use.
//
// A *Pool is a handle: the runtimes hold no reference to it, so once the
// program holds none either, the pool halts and joins its runtimes (see
// OnForget). Keep the handle while the pool is meant to run. A pool whose
// runtimes Join, Close or Shutdown saw all Dead has nothing left to clean
// up, and is collected as any value (until a runtime is added again).
type Pool struct {
	c *core
}

var _ spec.Pool[*rt.Runtime, *cont.C] = (*Pool)(nil)

// core is a pool's state, which its cleanup (forget) takes when the
// handle is collected: nothing in it refers to the handle.
//
// Invariants: every runtime in workers or gone was spawned or added by
// this pool and is in exactly one of the two; boxes holds every mailbox
// that a worker was spawned over, each once.
type core struct {
	box  *Box // the pool's own mailbox (New); nil for Empty. Never written after.
	d    Dispatcher
	opts []rt.Option

	mu       seam.Mutex
	workers  []worker                    // in the pool now, in the order added; under mu
	gone     []worker                    // removed by Drain or Clear, for Leftovers; under mu
	boxes    []*Box                      // under mu
	onForget func(error, []*cont.C) bool // under mu
	// cleanup is the handle's cleanup (forget) while armed, under mu:
	// armed while a member may be running. Join disarms it once every
	// member is Dead, so that a pool joined and dropped is freed by one
	// collection, not kept for its cleanup; an addition arms it again.
	cleanup runtime.Cleanup
	armed   bool
}

// worker is one runtime of a pool. box and inFlight are set for a worker
// spawned from a dispatcher; a runtime added by AddRuntime or Go has
// neither, and its Leftovers are the runtime's own.
type worker struct {
	r        *rt.Runtime
	box      *Box
	inFlight func() []*cont.C
}

// leftovers returns what w had in hand when it stopped, unfinished. w
// must be Dead.
func (w worker) leftovers() []*cont.C {
	var left []*cont.C
	in := w.r.Leftovers
	if w.inFlight != nil {
		in = w.inFlight
	}
	for _, c := range in() {
		if c != nil && !c.Done() {
			left = append(left, c)
		}
	}
	return left
}

// newPool returns the handle of c, whose collection halts and joins c's
// runtimes.
func newPool(c *core) *Pool {
	p := &Pool{c: c}
	c.mu.Lock()
	p.arm()
	c.mu.Unlock()
	return p
}

// arm makes sure that the collection of p halts and joins its runtimes.
// It must be called with p.c.mu held.
func (p *Pool) arm() {
	if c := p.c; !c.armed {
		c.cleanup, c.armed = runtime.AddCleanup(p, (*core).forget, c), true
	}
}

// disarm stops p's cleanup if every member is Dead: nothing is left for
// it to do (what they left over is the caller's, through Leftovers).
func (p *Pool) disarm() {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.workers {
		if w.r.Flags()&rt.FlagDead == 0 {
			return
		}
	}
	if c.armed {
		c.cleanup.Stop()
		c.armed = false
	}
}

// Empty returns a pool with no runtimes and no dispatcher or mailbox of
// its own: fill it with Spawn, Go and AddRuntime.
func Empty() *Pool { return newPool(&core{}) }

// New returns a pool of n workers, each a runtime spawned with opts and
// running d over box, which become the pool's own (Add, Mailbox). Workers
// do not poll an event queue (rt.SkipPolling): a worker waits in its
// mailbox between continuations, where nothing would run what became
// ready meanwhile; a continuation that waits for I/O gets
// eventq.ErrNoQueue in a pool, and should wait on a polling runtime
// instead (eventq.Sleep finds the worker's mailbox in its context, and
// sends the continuation back there when it is due). It fails if n is
// negative, or if a runtime cannot be spawned (the workers already
// spawned are halted and joined).
func New(d Dispatcher, box *Box, n int, opts ...rt.Option) (*Pool, error) {
	if n < 0 {
		return nil, fmt.Errorf("pool: New with %d workers: the count must not be negative", n)
	}
	if d == nil || box == nil {
		return nil, errors.New("pool: New needs a dispatcher and a mailbox")
	}
	p := newPool(&core{box: box, d: d, opts: opts, boxes: []*Box{box}})
	if _, err := p.Spawn(d, box, n, opts...); err != nil {
		return nil, err
	}
	return p, nil
}

// Mailbox returns the pool's own mailbox (New's), nil for a pool made by
// Empty.
func (p *Pool) Mailbox() *Box { return p.c.box }

// Add spawns one more worker of the pool's own dispatcher, over its own
// mailbox, with New's options, and returns its runtime. It fails with
// ErrNoDispatcher on a pool made by Empty.
func (p *Pool) Add() (*rt.Runtime, error) {
	defer runtime.KeepAlive(p)
	c := p.c
	if c.d == nil {
		return nil, ErrNoDispatcher
	}
	w, err := spawnWorker(c.d, c.box, c.opts)
	if err != nil {
		return nil, err
	}
	p.keep(w)
	return w.r, nil
}

// Spawn adds n workers, each a runtime spawned with opts and running d
// over box, and returns their runtimes. The mailbox may be any: a pool
// may take its work from several. Like New's, these workers do not poll.
// It fails if n is negative, d or box nil, or a runtime cannot be
// spawned; then it adds none (those already spawned are halted and
// joined).
func (p *Pool) Spawn(d Dispatcher, box *Box, n int, opts ...rt.Option) ([]*rt.Runtime, error) {
	defer runtime.KeepAlive(p)
	if n < 0 {
		return nil, fmt.Errorf("pool: Spawn of %d workers: the count must not be negative", n)
	}
	if d == nil || box == nil {
		return nil, errors.New("pool: Spawn needs a dispatcher and a mailbox")
	}
	ws := make([]worker, 0, n)
	for range n {
		w, err := spawnWorker(d, box, opts)
		if err != nil {
			for _, w := range ws {
				w.r.Halt()
			}
			for _, w := range ws {
				_ = w.r.Join() // halted before any work reached it, or its error is moot: Spawn failed
			}
			return nil, err
		}
		ws = append(ws, w)
	}
	p.keep(ws...)
	rs := make([]*rt.Runtime, len(ws))
	for i, w := range ws {
		rs[i] = w.r
	}
	return rs, nil
}

// spawnWorker spawns a runtime running d over box.
func spawnWorker(d Dispatcher, box *Box, opts []rt.Option) (worker, error) {
	c, inFlight := d(box)
	// Workers do not poll: see New.
	r, err := rt.Spawn(c, append([]rt.Option{rt.SkipPolling()}, opts...)...)
	if err != nil {
		return worker{}, err
	}
	return worker{r: r, box: box, inFlight: inFlight}, nil
}

// Go spawns a runtime running c, with opts, and adds it to the pool: the
// Nim original's pool of continuation runtimes. Its Leftovers are the
// runtime's own.
func (p *Pool) Go(c *cont.C, opts ...rt.Option) (*rt.Runtime, error) {
	defer runtime.KeepAlive(p)
	r, err := rt.Spawn(c, opts...)
	if err != nil {
		return nil, err
	}
	p.keep(worker{r: r})
	return r, nil
}

// AddRuntime adds r, a runtime spawned elsewhere and running anything, to
// the pool: the pool's controls reach it, Join joins it, and a forgotten
// pool halts it. It fails for a nil r, or one in the pool already.
func (p *Pool) AddRuntime(r *rt.Runtime) error {
	defer runtime.KeepAlive(p)
	if r == nil {
		return errors.New("pool: AddRuntime of a nil runtime")
	}
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.ContainsFunc(c.workers, func(w worker) bool { return w.r == r }) {
		return fmt.Errorf("pool: AddRuntime of runtime %s, which is in the pool already", r)
	}
	c.workers = append(c.workers, worker{r: r})
	p.arm()
	return nil
}

// keep puts ws in the pool, at the end.
func (p *Pool) keep(ws ...worker) {
	// A Halt of the pool now does not see these workers: they join the
	// pool at the lock below, which is where Add and Spawn take effect.
	seam.Point()
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.workers = append(c.workers, ws...)
	p.arm()
	for _, w := range ws {
		if w.box != nil && !slices.Contains(c.boxes, w.box) {
			c.boxes = append(c.boxes, w.box)
		}
	}
}

// Count returns the number of runtimes in the pool, Dead ones included
// (a Runner's worker stays in the pool after its one continuation): the
// pool holds them until Drain or Clear takes them out.
func (p *Pool) Count() int {
	defer runtime.KeepAlive(p)
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.workers)
}

// Items returns an iterator over the pool's runtimes, in the order they
// were added, as they are when it starts.
func (p *Pool) Items() iter.Seq[*rt.Runtime] {
	return func(yield func(*rt.Runtime) bool) {
		defer runtime.KeepAlive(p)
		for _, w := range p.c.snapshot() {
			if !yield(w.r) {
				return
			}
		}
	}
}

func (c *core) snapshot() []worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.workers)
}

// Drain removes the runtime added last from the pool, without stopping
// it, and returns it (now the caller's), or nil if the pool is empty.
func (p *Pool) Drain() *rt.Runtime {
	defer runtime.KeepAlive(p)
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.workers) == 0 {
		return nil
	}
	w := c.workers[len(c.workers)-1]
	c.workers = c.workers[:len(c.workers)-1]
	c.gone = append(c.gone, w)
	return w.r
}

// Clear removes every runtime from the pool, without stopping them.
func (p *Pool) Clear() {
	defer runtime.KeepAlive(p)
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gone = append(c.gone, c.workers...)
	c.workers = nil
}
