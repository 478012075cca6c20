package rttest

import (
	"fmt"
	"time"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// A Bug is one deliberate fault of a known-bad runtime (BadRuntime).
// Every check of a runtime must be shown to catch the bugs it claims to
// catch: the linearizability scenario (Scenario, run by package
// linearize's harness tests) and the fuzz target's sequential replay
// against model.RuntimeRef (package fuzz) take their known-bad runtimes
// from here. Each runtime uses its atomics and mutexes correctly, so the
// race detector has nothing to say: the bugs are in the logic, which is
// what the checks must catch.
//
// The bugs from Correct to ControlsRace are those of a runtime built
// the obvious way (a goroutine running counting steps, a mutex and a
// condition variable around its state), which also shows that the model
// accepts a runtime other than impl/rt; the bugs from FreezeLies on wrap
// an impl/rt runtime running Counting and break one of its promises.
type Bug uint8

const (
	// Correct is no bug: the runtime built the obvious way, the control
	// that shows a check passes what it should.
	Correct Bug = iota
	// FlagsLie makes Flags report Running off as soon as Frozen is on,
	// though the step in progress has yet to return: the counter then
	// moves under a runtime that claims to be asleep. The scenario's
	// history is Illegal.
	FlagsLie
	// EjectsEarly makes Eject of a frozen runtime take the continuation
	// without waiting for the step in progress, which then counts once
	// more after Eject returned. The scenario's history is Illegal.
	EjectsEarly
	// HaltLosesFrozen makes Halt of a frozen runtime set its flag without
	// waking it, so that it never tears down and Join sleeps for ever. The
	// scenario reports the hang, or Join stuck (Unblock ends it).
	HaltLosesFrozen
	// FreezesAfterEject accepts Freeze after an Eject took the
	// continuation and a Thaw let the runtime go to tear down. The
	// scenario's history is Illegal, or the round hangs.
	FreezesAfterEject
	// ControlsRace is the window of two control calls racing: Halt,
	// Freeze, Thaw and Cancel each change the runtime's control state
	// (frozen, halted, canceled, one word) by a read-modify-write made of
	// a load and a later store, under two holds of the lock, instead of
	// one atomic step (impl/rt's CAS). Two of them that load the same
	// word each store their own change over it, so the first one's effect
	// is lost: after Freeze ‖ Halt, or Thaw ‖ Halt of a frozen runtime,
	// the runtime is not halted though Halt reported true, and a later
	// Halt reports true again. The scenario's history is Illegal. The
	// window is a release and a re-acquisition of the lock, with nothing
	// to widen it.
	ControlsRace
	// FreezeLies makes Freeze report true and freeze nothing. Both the
	// sequential replay and the scenario catch it.
	FreezeLies
	// StepsWhileFrozen moves the step counter on every read, frozen or
	// not. Both the sequential replay and the scenario catch it.
	StepsWhileFrozen
	// InterruptRunsAStep makes Interrupt of a frozen runtime thaw it for
	// one step before it freezes it again. The model allows the step in
	// progress, so no history shows it; the sequential replay sees the
	// counter move across an Interrupt of a runtime asleep.
	InterruptRunsAStep
	// CancelForgotten makes Join report no error after a successful
	// Cancel. Both the sequential replay and the scenario catch it.
	CancelForgotten
	bugs
)

var bugNames = [bugs]string{"correct", "flags-lie", "eject-early", "halt-frozen-lost", "freeze-after-eject",
	"controls-race", "freeze-lies", "steps-while-frozen", "interrupt-runs-a-step", "cancel-no-error"}

func (b Bug) String() string {
	if b < bugs {
		return bugNames[b]
	}
	return fmt.Sprintf("Bug(%d)", b)
}

// Bad is a known-bad runtime: Counted, and Done, a channel closed once
// the runtime is Dead (as impl/rt's), which a check can wait on instead of
// a Join that could sleep for good.
type Bad interface {
	Counted
	Done() <-chan struct{}
}

// BadRuntime returns a fresh runtime with bug, running a counting
// continuation and not frozen.
func BadRuntime(bug Bug) Bad {
	switch bug {
	case Correct, FlagsLie, EjectsEarly, HaltLosesFrozen, FreezesAfterEject, ControlsRace:
		return newLocked(bug)
	case FreezeLies, StepsWhileFrozen, InterruptRunsAStep, CancelForgotten:
		return &wrapped{countedRuntime: NewCounted().(countedRuntime), bug: bug}
	}
	panic(fmt.Sprintf("rttest: BadRuntime(%v): no such bug", bug))
}

// Unblock ends a runtime of BadRuntime that a bug left hanging (for
// Scenario.Unblock, once the hang is reported), so that no goroutine
// leaks: it halts it for good. For any other runtime it does nothing.
func Unblock(r Counted) {
	if l, ok := r.(*locked); ok {
		l.mu.Lock()
		l.halted = true
		l.cond.Broadcast()
		l.mu.Unlock()
	}
}

// locked is the runtime built the obvious way. A step counts at its end,
// and Running stays on from its start to its end.
type locked struct {
	mu   seam.Mutex
	cond seam.Cond
	bug  Bug

	frozen, halted, canceled, ejected, torn bool
	running                                 bool // a step is in progress
	ejects                                  int  // Ejects waiting for a hand-over
	handed                                  int  // hand-overs not yet taken
	steps                                   seam.Int64
	done                                    chan struct{} // closed by seam.Close
}

func newLocked(bug Bug) *locked {
	r := &locked{bug: bug, done: make(chan struct{})}
	r.cond.Init(&r.mu)
	seam.Go(r.loop)
	return r
}

func (r *locked) loop() {
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
			stepPause() // the step in progress
			r.mu.Lock()
			r.steps.Add(1) // the step's effect, at its end
			continue
		}
		break
	}
	r.torn, r.frozen, r.running = true, false, false
	r.cond.Broadcast()
	r.mu.Unlock()
	seam.Close(r.done)
}

// The bits of the control word of ControlsRace: the locked runtime's
// frozen, halted and canceled.
const (
	ctlFrozen uint8 = 1 << iota
	ctlHalted
	ctlCanceled
)

// word packs frozen, halted and canceled into one word; r.mu must be held.
func (r *locked) word() uint8 {
	var w uint8
	if r.frozen {
		w |= ctlFrozen
	}
	if r.halted {
		w |= ctlHalted
	}
	if r.canceled {
		w |= ctlCanceled
	}
	return w
}

// setWord sets frozen, halted and canceled from w; r.mu must be held.
func (r *locked) setWord(w uint8) {
	r.frozen, r.halted, r.canceled = w&ctlFrozen != 0, w&ctlHalted != 0, w&ctlCanceled != 0
}

// racyUpdate is a control call of ControlsRace: f computes the new control
// word from a load of the word (and may read the rest of the state), and
// reports whether the call takes effect; if it does, a later store writes
// f's word, whatever another call stored in between. It reports f's
// verdict.
func (r *locked) racyUpdate(f func(w uint8) (uint8, bool)) bool {
	r.mu.Lock()
	n, ok := f(r.word()) // the load...
	r.mu.Unlock()
	if !ok {
		return false
	}
	r.mu.Lock()  // the bug: another control call may store in between
	r.setWord(n) // ...and the store, over whatever is there now
	r.cond.Broadcast()
	r.mu.Unlock()
	return true
}

// stepPause is the locked runtime's step in progress: a pause (a Yield
// under the controlled scheduler, at which the other goroutines go first).
func stepPause() { seam.Pause(20 * time.Microsecond) }

func (r *locked) Halt() bool {
	if r.bug == ControlsRace {
		return r.racyUpdate(func(w uint8) (uint8, bool) {
			return w | ctlHalted, w&ctlHalted == 0 && !r.torn
		})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.halted || r.torn {
		return false
	}
	r.halted = true
	if !(r.bug == HaltLosesFrozen && r.frozen) {
		r.cond.Broadcast()
	}
	return true
}

func (r *locked) Freeze() bool {
	if r.bug == ControlsRace {
		return r.racyUpdate(func(w uint8) (uint8, bool) {
			return w | ctlFrozen, w&(ctlFrozen|ctlHalted) == 0 && !r.torn && !r.ejected
		})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frozen || r.halted || r.torn || r.ejected && r.bug != FreezesAfterEject {
		return false
	}
	r.frozen = true
	return true
}

func (r *locked) Thaw() bool {
	if r.bug == ControlsRace {
		return r.racyUpdate(func(w uint8) (uint8, bool) { return w &^ ctlFrozen, w&ctlFrozen != 0 })
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.frozen {
		return false
	}
	r.frozen = false
	r.cond.Broadcast()
	return true
}

func (r *locked) Interrupt() {}

func (r *locked) Cancel() bool {
	if r.bug == ControlsRace {
		return r.racyUpdate(func(w uint8) (uint8, bool) {
			return w | ctlCanceled | ctlHalted, w&ctlCanceled == 0 && !r.torn
		})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.canceled || r.torn {
		return false
	}
	r.canceled, r.halted = true, true
	r.cond.Broadcast()
	return true
}

func (r *locked) Eject() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.halted || r.torn:
		return spec.ErrTornDown
	case r.ejected:
		return spec.ErrNoContinuation
	case r.frozen && (!r.running || r.bug == EjectsEarly):
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

func (r *locked) Flags() spec.RuntimeFlags {
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
	if r.running && !(r.bug == FlagsLie && r.frozen) {
		f |= spec.RtRunning
	}
	return f
}

func (r *locked) Join() error {
	seam.Await(r.done)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.canceled {
		return spec.ErrCanceled
	}
	return nil
}

func (r *locked) Steps() int64 { return r.steps.Load() }

func (r *locked) Done() <-chan struct{} { return r.done }

// wrapped is an impl/rt runtime with one promise broken; it keeps its own
// state in atomics.
type wrapped struct {
	countedRuntime
	bug   Bug
	reads seam.Int64
	canc  seam.Bool
}

func (b *wrapped) Freeze() bool {
	if b.bug == FreezeLies {
		// Accepts, and freezes nothing.
		return b.countedRuntime.Flags()&(spec.RtFrozen|spec.RtHalted|spec.RtTeardown) == 0
	}
	return b.countedRuntime.Freeze()
}

func (b *wrapped) Steps() int64 {
	n := b.countedRuntime.Steps()
	if b.bug == StepsWhileFrozen {
		n += b.reads.Add(1) // the counter moves on every read
	}
	return n
}

// settleLimit bounds InterruptRunsAStep's waits for its extra step.
const settleLimit = 5 * time.Second

func (b *wrapped) Interrupt() {
	b.countedRuntime.Interrupt()
	if b.bug == InterruptRunsAStep && b.countedRuntime.Flags()&(spec.RtFrozen|spec.RtRunning|spec.RtHalted) == spec.RtFrozen {
		// Wake the frozen runtime to run a step before it goes back to
		// sleep.
		before := b.countedRuntime.Steps()
		if b.countedRuntime.Thaw() {
			waitFor(func() bool { return b.countedRuntime.Steps() > before })
			b.countedRuntime.Freeze()
			waitFor(func() bool { return b.countedRuntime.Flags()&spec.RtRunning == 0 })
		}
	}
}

func (b *wrapped) Cancel() bool {
	ok := b.countedRuntime.Cancel()
	if ok {
		b.canc.Store(true)
	}
	return ok
}

func (b *wrapped) Join() error {
	err := b.countedRuntime.Join()
	if b.bug == CancelForgotten && b.canc.Load() {
		return nil // the cancel's error forgotten
	}
	return err
}

// waitFor calls cond until it reports true or settleLimit has passed.
func waitFor(cond func() bool) {
	for deadline := time.Now().Add(settleLimit); !cond() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Microsecond)
	}
}
