package linearize_test

// A runtime built the obvious way: a goroutine that runs counting steps,
// and a mutex and a condition variable around its state, with switches for
// known bugs. Without bugs it is the control: it must pass, which also
// shows that the runtime model accepts an implementation other than
// impl/rt. Each bug must be caught.

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/spec"
)

type runtimeBugs struct {
	// flagsLie: Flags reports Running off as soon as Frozen is on, though
	// the step in progress has yet to return: a freeze that lets one more
	// step run after the runtime claimed to be asleep.
	flagsLie bool
	// ejectEarly: Eject takes the continuation without waiting for the
	// step in progress, which then counts once more after Eject returned.
	ejectEarly bool
	// haltFrozenLost: Halt of a frozen runtime sets the flag but does not
	// wake it, so it never tears down and Join sleeps for ever.
	haltFrozenLost bool
	// freezeAfterEject: Freeze is accepted after an Eject took the
	// continuation and a Thaw let the runtime go to tear down.
	freezeAfterEject bool
}

// lockedRuntime runs a counting continuation. A step counts at its end,
// and Running stays on from its start to its end.
type lockedRuntime struct {
	mu   sync.Mutex
	cond sync.Cond
	bugs runtimeBugs

	frozen, halted, canceled, ejected, torn bool
	running                                 bool // a step is in progress
	ejects                                  int  // Ejects waiting for a hand-over
	handed                                  int  // hand-overs not yet taken
	steps                                   atomic.Int64
	done                                    chan struct{}
}

func newLockedRuntime(bugs runtimeBugs) *lockedRuntime {
	r := &lockedRuntime{bugs: bugs, done: make(chan struct{})}
	r.cond.L = &r.mu
	go r.loop()
	return r
}

func (r *lockedRuntime) loop() {
	r.mu.Lock()
	for {
		switch {
		case r.halted || r.ejected && !r.frozen:
		case r.ejects > r.handed && !r.ejected:
			// Hand the continuation over to the Ejects waiting: stopped,
			// frozen and ejected at one instant.
			r.frozen, r.ejected = true, true
			r.handed++
			r.cond.Broadcast()
			continue
		case r.frozen:
			r.running = false
			r.cond.Broadcast()
			r.cond.Wait()
			continue
		default:
			r.running = true
			r.mu.Unlock()
			time.Sleep(20 * time.Microsecond) // the step in progress
			r.mu.Lock()
			r.steps.Add(1) // the step's effect, at its end
			continue
		}
		break
	}
	r.torn, r.frozen, r.running = true, false, false
	r.cond.Broadcast()
	r.mu.Unlock()
	close(r.done)
}

func (r *lockedRuntime) Halt() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.halted || r.torn {
		return false
	}
	r.halted = true
	if !(r.bugs.haltFrozenLost && r.frozen) {
		r.cond.Broadcast()
	}
	return true
}

func (r *lockedRuntime) Freeze() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frozen || r.halted || r.torn || r.ejected && !r.bugs.freezeAfterEject {
		return false
	}
	r.frozen = true
	return true
}

func (r *lockedRuntime) Thaw() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.frozen {
		return false
	}
	r.frozen = false
	r.cond.Broadcast()
	return true
}

func (r *lockedRuntime) Interrupt() {}

func (r *lockedRuntime) Cancel() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.canceled || r.torn {
		return false
	}
	r.canceled, r.halted = true, true
	r.cond.Broadcast()
	return true
}

func (r *lockedRuntime) Eject() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.halted || r.torn:
		return spec.ErrTornDown
	case r.ejected:
		return spec.ErrNoContinuation
	case r.frozen && (!r.running || r.bugs.ejectEarly):
		r.ejected = true // asleep: take it now
		return nil
	}
	r.ejects++
	r.cond.Broadcast()
	for r.handed == 0 && !r.ejected && !r.halted && !r.torn {
		r.cond.Wait()
	}
	r.ejects--
	switch {
	case r.handed > 0:
		r.handed--
		return nil
	case r.halted || r.torn:
		return spec.ErrTornDown
	}
	return spec.ErrNoContinuation
}

func (r *lockedRuntime) Flags() spec.RuntimeFlags {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := spec.RtCancels
	if r.torn {
		f |= spec.RtTeardown | spec.RtDead
	} else {
		f |= spec.RtPolling
	}
	if r.halted {
		f |= spec.RtHalted
	}
	if r.frozen {
		f |= spec.RtFrozen
	}
	if r.running && !(r.bugs.flagsLie && r.frozen) {
		f |= spec.RtRunning
	}
	return f
}

func (r *lockedRuntime) Join() error {
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.canceled {
		return spec.ErrCanceled
	}
	return nil
}

func (r *lockedRuntime) Steps() int64 { return r.steps.Load() }

// unblock ends a runtime a bug left hanging, so that no goroutine leaks.
func (r *lockedRuntime) unblock() {
	r.mu.Lock()
	r.halted = true
	r.cond.Broadcast()
	r.mu.Unlock()
}

// mustCatchRuntime runs the runtime scenario on a locked runtime with the
// given bugs and requires a failure that want accepts.
func mustCatchRuntime(t *testing.T, name string, bugs runtimeBugs, want func(*linearize.Failure) bool) {
	t.Helper()
	sc := rttest.Scenario(name, func() rttest.Counted { return newLockedRuntime(bugs) })
	sc.RoundTimeout = time.Second
	sc.Unblock = func(c rttest.Counted) { c.(*lockedRuntime).unblock() }
	mustFail(t, sc, want)
}

func illegal(f *linearize.Failure) bool { return f.Verdict == spec.Illegal && !f.Hung }

// The control: the locked runtime without bugs passes.
func TestHarnessPassesLockedRuntime(t *testing.T) {
	sc := rttest.Scenario("locked", func() rttest.Counted { return newLockedRuntime(runtimeBugs{}) })
	sc.Rounds = 300
	sc.Test(t)
}

// The bug: Flags shows the runtime asleep while a step is still in
// progress; the counter then moves under a frozen runtime.
func TestHarnessCatchesFreezeThatLetsAStepRun(t *testing.T) {
	mustCatchRuntime(t, "flags-lie", runtimeBugs{flagsLie: true}, illegal)
}

// The bug: Eject returns before the step in progress ends, which then
// counts after the continuation was handed out.
func TestHarnessCatchesEjectBeforeTheStepEnds(t *testing.T) {
	mustCatchRuntime(t, "eject-early", runtimeBugs{ejectEarly: true}, illegal)
}

// The bug: a Halt that does not wake a frozen runtime. The final Join
// never returns: the harness must report the hang.
func TestHarnessCatchesHaltThatDoesNotWake(t *testing.T) {
	mustCatchRuntime(t, "halt-frozen-lost", runtimeBugs{haltFrozenLost: true}, func(f *linearize.Failure) bool {
		return f.Hung || f.Stuck != "" || strings.Contains(f.Error(), "join")
	})
}

// The bug: Freeze accepted after the continuation was ejected and the
// runtime thawed, on its way to tear down.
func TestHarnessCatchesFreezeAfterEject(t *testing.T) {
	mustCatchRuntime(t, "freeze-after-eject", runtimeBugs{freezeAfterEject: true}, func(f *linearize.Failure) bool {
		return f.Verdict == spec.Illegal || f.Hung
	})
}
