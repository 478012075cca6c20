//go:build !sched

package seam

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
)

// Enabled reports whether this build was made with -tags sched, in which
// every call of this package is a switch point of the controlled
// scheduler (see Run).
const Enabled = false

// Mutex is a mutual exclusion lock: sync.Mutex.
type Mutex = sync.Mutex

// Cond is a condition variable on a Mutex, like sync.Cond. Call Init
// before its first use.
type Cond struct{ c sync.Cond }

// Init makes l the Mutex of c, which Wait unlocks while it waits.
func (c *Cond) Init(l *Mutex) { c.c.L = l }

// Wait unlocks c's Mutex, waits for a Signal or Broadcast, and locks it
// again before it returns.
func (c *Cond) Wait() { c.c.Wait() }

// Signal wakes one goroutine waiting on c, if there is any.
func (c *Cond) Signal() { c.c.Signal() }

// Broadcast wakes every goroutine waiting on c.
func (c *Cond) Broadcast() { c.c.Broadcast() }

// Parker lets one goroutine sleep until another wakes it. It holds at
// most one permit: Unpark leaves one if nobody is parked (a second Unpark
// before the Park adds nothing), and Park takes it, or waits for it. Make
// one with MakeParker; its zero value is not usable.
type Parker struct{ ch chan struct{} }

// MakeParker returns a Parker with no permit.
func MakeParker() Parker { return Parker{ch: make(chan struct{}, 1)} }

// Park waits until p has a permit and takes it.
func (p *Parker) Park() { <-p.ch }

// ParkOr waits until p has a permit, and takes it and returns true, or
// until done is closed, and returns false. A nil done never closes.
func (p *Parker) ParkOr(done <-chan struct{}) bool {
	if done == nil { // context.Background's: a receive costs less than a select
		<-p.ch
		return true
	}
	select {
	case <-p.ch:
		return true
	case <-done:
		return false
	}
}

// Unpark leaves a permit in p, waking its parked goroutine if there is
// one. It never blocks.
func (p *Parker) Unpark() {
	select {
	case p.ch <- struct{}{}:
	default:
	}
}

// Await waits until done is closed.
func Await(done <-chan struct{}) { <-done }

// Await2 waits until a or b is closed, and returns 0 for a and 1 for b.
// If both are, it may return either.
func Await2(a, b <-chan struct{}) int {
	select {
	case <-a:
		return 0
	case <-b:
		return 1
	}
}

// Close closes done, a channel that Await and Await2 watch.
func Close(done chan struct{}) { close(done) }

// Go runs f in a new goroutine. Under the controlled scheduler the
// goroutine takes part in the run; a goroutine started with a plain go
// statement does not.
func Go(f func()) { go f() }

// Yield gives the processor to another goroutine, like runtime.Gosched.
// A loop that waits for another goroutine to move must call it (or pass
// another switch point) on every turn.
func Yield() { runtime.Gosched() }

// Point marks a place where another goroutine's step matters, with no
// memory access of its own. Without tags it does nothing; with -tags
// chaos it is impl/chaos's perturbation point; with -tags sched it is a
// switch point.
func Point() { chaos.Point() }

// Run runs main under the controlled scheduler. Without -tags sched there
// is none: it returns ErrDisabled and does not call main.
func Run(c Chooser, main func(), o Options) (Result, error) { return Result{}, ErrDisabled }

// AwaitIdle, in a goroutine of a controlled run, waits until every other
// goroutine of the run is blocked or has exited. Outside a run, and
// without -tags sched, it returns at once.
func AwaitIdle() {}

// Sleep pauses the calling goroutine for at least d, like time.Sleep.
// Under the controlled scheduler time is virtual: the sleeper wakes once
// every other goroutine of the run is blocked, as if the clock jumped.
func Sleep(d time.Duration) { time.Sleep(d) }

// Pause lets other goroutines run for about d in the middle of the
// caller's work: time.Sleep(d) in a free run. Under the controlled
// scheduler it is a Yield, a switch point at which the others go first,
// and no real time passes. A test's stand-in for work that takes a while
// uses it (a step of a continuation, say).
func Pause(d time.Duration) { time.Sleep(d) }

// WithTimeout is context.WithTimeout. Under the controlled scheduler the
// deadline is virtual: the context is cancelled at a switch point once
// every goroutine of the run is blocked (unless cancel came first), so
// that when it fires is the scheduler's choice, and a replay repeats it.
func WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}

// Until waits until cond reports true, and then returns true, or until
// limit has passed, and then returns false. It polls: use it where the
// code under test gives no wake-up to wait for (a known-bad variant's
// settling, say). Under the controlled scheduler limit is virtual: it
// passes once every other goroutine of the run is blocked, or waits in
// Until too for a condition that nothing has changed since it was false.
func Until(cond func() bool, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); !cond(); {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(10 * time.Microsecond)
	}
	return true
}

// AwaitIdleFor, in a goroutine of a controlled run, waits until every
// other goroutine of the run is blocked or has exited, and then returns
// true, or until the run has passed steps more switch points, and then
// returns false. Outside a run, and without -tags sched, it returns true
// at once.
func AwaitIdleFor(steps int) bool { return true }

// An Owner names the goroutine on whose behalf a coroutine runs (see
// Adopt). In an ordinary build it is empty.
type Owner struct{}

// Current returns the calling goroutine as an Owner, for a coroutine it is
// about to resume (iter.Pull's next).
func Current() Owner { return Owner{} }

// Adopt, called by a coroutine's goroutine each time it is resumed, makes
// its seam calls count as o's: under the controlled scheduler o is blocked
// in the resume while the coroutine runs in its place, so the two are one
// goroutine of the run. Drop undoes it before the coroutine yields or
// ends. In an ordinary build both do nothing.
func Adopt(o Owner) {}

// Drop ends what Adopt began.
func Drop() {}

// ID returns the calling goroutine's id in the controlled run it belongs
// to (the run's main function is 0, the others count up in the order they
// started), or -1 outside a run, and always in an ordinary build.
func ID() int { return -1 }
