package rt

import (
	"runtime/debug"
	"slices"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/seam"
)

// loop runs steps until the runtime halts or its continuation finishes,
// and returns the error the runtime ends with.
func (r *Runtime) loop() error {
	for {
		// Replace an ended context first, then read the flags: a control
		// operation sets its flag before it ends the context, so if the
		// context this step gets is already ended, or is ended later, the
		// flag is seen here or at the next turn.
		ctx := r.ctx.Load()
		if ctx.ended() {
			ctx = &stepCtx{r: r}
			r.ctx.Store(ctx)
		}
		f := r.flags.Load()
		if f&uint32(FlagHalted) != 0 {
			return nil
		}
		if f&ejecting != 0 {
			r.handOver()
			continue
		}
		if f&uint32(FlagFrozen) != 0 {
			if !r.park() {
				return nil
			}
			continue
		}
		if f&emptied != 0 { // ejected, then thawed: nothing left to run
			return nil
		}
		seam.Point() // a Freeze and an Eject may come now, before Running
		if f&uint32(FlagRunning) == 0 && !r.update(func(f uint32) (uint32, bool) {
			// Running goes on only while nothing stops the runtime and an
			// Eject has not taken the continuation: an Eject of a runtime
			// asleep takes it by a CAS that needs Running off, so r.c
			// stays put while Running is on.
			return f | uint32(FlagRunning), f&(uint32(FlagFrozen|FlagHalted)|ejecting|emptied) == 0
		}) {
			continue // something to do first: look again
		}
		c := r.c
		if c == nil { // idle: its continuations wait in its event queue
			next, finished, err := r.idle(ctx)
			switch {
			case err != nil:
				r.setFlags(FlagHalted, 0)
				return err
			case finished:
				return nil
			case next == nil:
				continue // woken with nothing to run: look at the flags
			}
			r.c, c = next, next
		}
		done, err := step(ctx, c)
		if pe, ok := err.(*PanicError); ok {
			pe.Runtime = r.String()
		}
		if err != nil {
			r.setFlags(FlagHalted, 0)
			return err
		}
		if err := r.settle(c, done); err != nil {
			r.setFlags(FlagHalted, 0)
			return err
		}
		if r.c == nil && !r.pending() {
			return nil // finished, and nothing waits in the event queue
		}
	}
}

// step runs one step of c, turning a panic into an error.
func step(ctx *stepCtx, c *cont.C) (done bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return c.Step(ctx), nil
}

// handOver gives the continuation to the Eject waiting for it: Frozen on,
// Running off and the continuation gone, in one step under mu, so that an
// Eject takes effect at one instant. A runtime halted first hands nothing
// over: the Eject fails.
func (r *Runtime) handOver() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == nil { // idle: nothing to hand over
		r.setFlags(0, ejecting)
		if knownbad.EjectFreezesIdle.Load() {
			r.setFlags(FlagFrozen, 0)
		}
		r.idleEject = true
		r.cond.Broadcast()
		return
	}
	if r.update(func(f uint32) (uint32, bool) {
		return f&^(ejecting|uint32(FlagRunning)) | uint32(FlagFrozen) | emptied, f&(uint32(FlagHalted)|emptied) == 0
	}) {
		r.handed, r.c = r.c, nil
	} else {
		r.setFlags(0, ejecting)
	}
	r.cond.Broadcast()
}

// park sleeps while the runtime is frozen, with Running off, and reports
// false if it was halted meanwhile. It returns, true, as soon as an Eject
// asks for a hand-over, even while the runtime is frozen: the loop then
// hands the continuation over. An Eject asks when it finds the runtime
// neither asleep and frozen (it would take the continuation itself) nor
// idle, and then waits for the hand-over; if a Freeze comes next, the
// runtime is frozen and asleep without anyone waking the Eject to see it,
// so the sleeper must not sleep on. (The pool campaign caught it so:
// Thaw, then Eject, then Freeze, all before the thawed runtime woke.)
func (r *Runtime) park() bool {
	r.mu.Lock()
	r.setFlags(0, FlagRunning)
	r.cond.Broadcast() // an Eject may be waiting for Running to go off
	r.mu.Unlock()
	for {
		f := r.flags.Load()
		if f&uint32(FlagHalted) != 0 {
			return false
		}
		if f&uint32(FlagFrozen) == 0 || f&ejecting != 0 {
			return true
		}
		if r.sigs == nil || r.parkInQueue() != nil {
			r.wake.Park()
		}
	}
}

// parkInQueue sleeps, frozen, in the event queue, where the runtime's
// signals (Signals) arrive, so that SIGCONT can thaw it: it applies them
// at once, running no step. Whatever else becomes ready meanwhile waits
// for the thaw. Thaw and Halt wake the queue (signalWake).
func (r *Runtime) parkInQueue() error {
	q := r.evq.Load()
	// outside the seam: the event queue sleeps in epoll_wait, a system call (impl/eventq's to route)
	if err := r.take(q.Wait(r.ready[:0], -1)); err != nil {
		return err
	}
	if i := slices.Index(r.runq, r.sigs); i >= 0 {
		r.runq = slices.Delete(r.runq, i, i+1)
		for _, sig := range r.signals {
			r.Signal(sig)
		}
		r.signals = r.signals[:0]
		if id, ok := r.lent[r.sigs]; ok {
			delete(r.lent, r.sigs)
			q.Rearm(id)
		}
	}
	return nil
}
