//go:build sched

package seam

import (
	"context"
	"runtime"
	"time"
)

// Virtual time, idleness, coroutines and ids under the controlled
// scheduler.

// Sleep pauses the calling goroutine for at least d, like time.Sleep.
// Under the controlled scheduler time is virtual: the sleeper wakes once
// every other goroutine of the run is blocked, as if the clock jumped.
func Sleep(d time.Duration) {
	if r, g := current(); g != nil && !r.isEnded() {
		awaitIdle(nil, 1)
		return
	}
	time.Sleep(d)
}

// Pause lets other goroutines run for about d in the middle of the
// caller's work: time.Sleep(d) in a free run. Under the controlled
// scheduler it is a Yield, a switch point at which the others go first,
// and no real time passes. A test's stand-in for work that takes a while
// uses it (a step of a continuation, say).
func Pause(d time.Duration) {
	if !stepIn(opYield) {
		time.Sleep(d)
	}
}

// WithTimeout is context.WithTimeout. Under the controlled scheduler the
// deadline is virtual: the context is cancelled at a switch point once
// every goroutine of the run is blocked (unless cancel came first), so
// that when it fires is the scheduler's choice, and a replay repeats it.
func WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	r, g := current()
	if g == nil || r.isEnded() {
		return context.WithTimeout(parent, d)
	}
	ctx, cancel := context.WithCancelCause(parent)
	Go(func() {
		if awaitIdle(ctx.Done(), 1) {
			cancel(context.DeadlineExceeded)
		}
	})
	return &virtualDeadline{ctx}, func() { cancel(context.Canceled) }
}

// virtualDeadline reports context.DeadlineExceeded, as a context whose
// deadline passed does, when its timer goroutine cancelled it.
type virtualDeadline struct{ context.Context }

func (v *virtualDeadline) Err() error {
	if err := v.Context.Err(); err != nil {
		if cause := context.Cause(v.Context); cause == context.DeadlineExceeded {
			return cause
		}
		return err
	}
	return nil
}

// Until waits until cond reports true, and then returns true, or until
// limit has passed, and then returns false. It polls: use it where the
// code under test gives no wake-up to wait for (a known-bad variant's
// settling, say). Under the controlled scheduler limit is virtual: it
// passes once every other goroutine of the run is blocked, or waits in
// Until too for a condition that nothing has changed since it was false.
func Until(cond func() bool, limit time.Duration) bool {
	r, g := current()
	if g == nil || r.isEnded() {
		for deadline := time.Now().Add(limit); !cond(); {
			if !time.Now().Before(deadline) {
				return false
			}
			time.Sleep(10 * time.Microsecond)
		}
		return true
	}
	defer func() {
		r.mu.Lock()
		g.polling = false
		r.mu.Unlock()
	}()
	for {
		r.mu.Lock()
		seen := r.writes
		r.mu.Unlock()
		if cond() {
			return true
		}
		r.mu.Lock()
		g.polling, g.pollWrites = true, seen
		idle := r.ended || r.othersBlocked(g)
		r.mu.Unlock()
		if idle {
			return false
		}
		stepAt(opYield, 1)
	}
}

// awaitIdle blocks the caller, a goroutine of a run, until every other
// goroutine of the run is blocked (it returns true) or done is closed
// (false). skip counts the frames above the code to name.
func awaitIdle(done <-chan struct{}, skip int) bool {
	return awaitIdleSteps(done, 0, skip+1) == 0
}

// awaitIdleSteps is awaitIdle that also ends once the run has passed
// steps more switch points (if steps > 0): it returns 0 for idle, 1 for
// done, 2 for the steps.
func awaitIdleSteps(done <-chan struct{}, steps, skip int) int {
	r, g := current()
	at := where(skip + 1)
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		if closed(done) {
			return 1
		}
		return 0
	}
	r.block(g, opIdle, waitIdle, at, func() {
		g.chans[0] = done
		if steps > 0 {
			g.until = r.res.Steps + steps
		}
	})
	why := g.result
	r.mu.Unlock()
	return why
}

// AwaitIdleFor, in a goroutine of a controlled run, waits until every
// other goroutine of the run is blocked or has exited, and then returns
// true, or until the run has passed steps more switch points, and then
// returns false: a goroutine that never blocks (a runtime stepping a
// continuation for ever) ends the wait after steps. Outside a run it
// returns true at once.
func AwaitIdleFor(steps int) bool {
	if _, g := current(); g != nil {
		return awaitIdleSteps(nil, steps, 1) == 0
	}
	return true
}

// An Owner names the goroutine on whose behalf a coroutine runs (see
// Adopt).
type Owner struct{ g *gor }

// Current returns the calling goroutine as an Owner, for a coroutine it is
// about to resume (iter.Pull's next).
func Current() Owner {
	_, g := current()
	return Owner{g}
}

// Adopt, called by a coroutine's goroutine each time it is resumed, makes
// its seam calls count as o's: under the controlled scheduler o is blocked
// in the resume while the coroutine runs in its place, so the two are one
// goroutine of the run. Drop undoes it before the coroutine yields or
// ends.
func Adopt(o Owner) {
	if o.g != nil {
		registry.Store(self(), o.g)
		live.Add(1)
	}
}

// Drop ends what Adopt began.
func Drop() {
	if _, ok := registry.LoadAndDelete(self()); ok {
		live.Add(-1)
	}
}

// In a build for the controlled scheduler the main goroutine keeps the
// process's main thread for good, so that no goroutine of a controlled run
// lands on it: code that takes another path on the main thread (impl/rt's
// OS-thread runtimes) would take steps that depend on which thread ran it,
// and its schedules would not replay. Only this build pays for it (a
// thread hand-off when the main goroutine blocks).
func init() { runtime.LockOSThread() }

// ID returns the calling goroutine's id in the controlled run it belongs
// to (the run's main function is 0, the others count up in the order they
// started), or -1 outside a run.
func ID() int {
	if _, g := current(); g != nil {
		return g.id
	}
	return -1
}
