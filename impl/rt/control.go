package rt

import (
	"context"
	"os"
	"syscall"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/seam"
)

// setFlags turns on and off flags atomically.
func (r *Runtime) setFlags(on, off Flags) {
	for {
		f := r.flags.Load()
		n := f&^uint32(off) | uint32(on)
		if n == f || r.flags.CompareAndSwap(f, n) {
			return
		}
	}
}

// update applies f to the flags by CAS until it reports no change
// (false) or the CAS succeeds (true).
func (r *Runtime) update(f func(uint32) (uint32, bool)) bool {
	for {
		old := r.flags.Load()
		n, ok := f(old)
		if !ok {
			return false
		}
		if r.flags.CompareAndSwap(old, n) {
			return true
		}
	}
}

// signalWake leaves a permit for a runtime asleep while frozen.
func (r *Runtime) signalWake() {
	r.wake.Unpark()
	if r.sigs != nil { // asleep frozen in its queue: see parkInQueue
		if q := r.evq.Load(); q != nil {
			q.Wake()
		}
	}
}

// Halt tells the runtime to stop at its next cooperative point, waking it
// if it is frozen or asleep in a context-aware wait, and reports whether it
// was not halted already. It does nothing once the runtime has torn down
// (it has stopped already).
func (r *Runtime) Halt() bool {
	ok := r.update(func(f uint32) (uint32, bool) {
		return f | uint32(FlagHalted), f&uint32(FlagHalted|FlagTeardown) == 0
	})
	if ok {
		r.endStep(errHalted)
		r.signalWake()
	}
	return ok
}

// Freeze tells the runtime to stop at its next cooperative point and sleep
// until thawed, and reports whether it was not frozen already. It refuses
// (false) once the runtime is halted or torn down, or Eject has taken its
// continuation (thawed, it tears down). It does not wait for
// the step in progress: Flags shows Running off once the runtime sleeps.
func (r *Runtime) Freeze() bool {
	ok := r.update(func(f uint32) (uint32, bool) {
		return f | uint32(FlagFrozen), f&(uint32(FlagFrozen|FlagHalted|FlagTeardown)|emptied) == 0
	})
	if ok {
		r.endStep(errFrozen)
	}
	return ok
}

// Thaw undoes Freeze and reports whether the runtime was frozen.
func (r *Runtime) Thaw() bool {
	ok := r.update(func(f uint32) (uint32, bool) {
		return f &^ uint32(FlagFrozen), f&uint32(FlagFrozen) != 0
	})
	if ok {
		r.signalWake()
	}
	return ok
}

// Interrupt ends the context of the step in progress, so that a step
// asleep in a context-aware wait returns. A step that is not waiting is not
// affected, and the next step gets a new context.
func (r *Runtime) Interrupt() { r.endStep(errInterrupted) }

// Cancel halts the runtime and drops its continuation, which will never
// run again; the runtime's error becomes ErrCanceled. Go cannot stop a
// goroutine, so a step in progress that ignores its context runs to its
// end first. It reports false, doing nothing, with DenyCancels, or once the
// runtime has torn down or was canceled already.
func (r *Runtime) Cancel() bool {
	ok := r.update(func(f uint32) (uint32, bool) {
		return f | canceled | uint32(FlagHalted),
			f&uint32(FlagCancels) != 0 && f&(canceled|uint32(FlagTeardown)) == 0
	})
	if ok {
		r.endStep(ErrCanceled)
		r.signalWake()
	}
	return ok
}

// endStep ends the context of the step in progress with err.
func (r *Runtime) endStep(err error) {
	r.ctx.Load().end(err)
	if q := r.evq.Load(); q != nil {
		q.Wake() // the loop may be asleep in the event queue
	}
}

// Eject takes the runtime's continuation and leaves the runtime frozen
// without one: thawed, it tears down. A runtime that is not already frozen
// and asleep hands the continuation over at its next cooperative point
// (the step in progress is interrupted, and returns first), turning Frozen
// on and Running off as it does, so that Eject takes effect at one
// instant. Eject fails with ErrTornDown if the runtime is halted or
// torn down first, and with ErrNoContinuation if it has none (taken
// already, or the runtime is idle: see EventQueue).
func (r *Runtime) Eject() (*cont.C, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	waited := false
	for {
		f := r.flags.Load()
		switch {
		case r.idleEject && waited:
			r.idleEject = false
			return nil, ErrNoContinuation
		case r.handed != nil && waited:
			// Handed over to the Ejects waiting then, this one among
			// them: the first to wake takes it. The Eject took effect at
			// the hand-over.
			c := r.handed
			r.handed = nil
			return c, nil
		case f&uint32(FlagHalted|FlagTeardown) != 0:
			return nil, ErrTornDown
		case r.handed != nil || f&emptied != 0:
			// Taken already, or handed over before this call to an Eject
			// that has yet to wake.
			return nil, ErrNoContinuation
		case f&uint32(FlagFrozen) != 0 && f&uint32(FlagRunning) == 0 && r.c == nil:
			return nil, ErrNoContinuation // idle: its continuations wait in its event queue
		case f&uint32(FlagFrozen) != 0 && f&uint32(FlagRunning) == 0:
			// Asleep: take it now. The runtime turns Running on only by
			// a CAS that fails once emptied is set, and this CAS fails
			// once Running is on, so the two exclude each other: the
			// runtime cannot be about to run a step of r.c.
			if !r.flags.CompareAndSwap(f, f&^ejecting|emptied) {
				continue // the flags moved: look again
			}
			c := r.c
			r.c = nil
			return c, nil
		case f&ejecting == 0:
			r.setFlags(ejecting, 0)
			r.endStep(errFrozen)
			r.signalWake()
		}
		r.cond.Wait()
		waited = true
	}
}

// Join waits until the runtime is Dead and returns its error.
func (r *Runtime) Join() error {
	seam.Await(r.done)
	return r.Err()
}

// JoinContext is Join, returning ctx's error if ctx ends first. ctx must
// not be nil (use context.Background(), or Join): JoinContext panics if it
// is, as context.WithCancel does with a nil parent.
func (r *Runtime) JoinContext(ctx context.Context) error {
	if ctx == nil {
		panic("rt: JoinContext with a nil context.Context: use context.Background(), or Join")
	}
	if seam.Await2(r.done, ctx.Done()) == 0 {
		return r.Err()
	}
	return ctx.Err()
}

// Done returns a channel closed once the runtime is Dead.
func (r *Runtime) Done() <-chan struct{} { return r.done }

// Err returns the runtime's error so far: nil while it runs normally.
func (r *Runtime) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Flags returns the runtime's flags at one instant.
func (r *Runtime) Flags() Flags {
	return Flags(r.flags.Load() & publicFlags)
}

// Signal applies sig's default action: SIGTERM and SIGQUIT halt the
// runtime, SIGCONT thaws it, and every other signal (SIGINT among them) is
// ignored.
func (r *Runtime) Signal(sig os.Signal) {
	switch sig {
	case syscall.SIGTERM, syscall.SIGQUIT:
		r.Halt()
	case syscall.SIGCONT:
		r.Thaw()
	}
}
