package spec

import (
	"errors"
	"strings"
)

// RuntimeFlags is the observable state of a runtime, as reported by its
// Flags method. The names and meanings follow the Nim original.
type RuntimeFlags uint16

const (
	// RtRunning: the runtime is running its continuation's steps; it is off
	// while the runtime is frozen (once the step in progress has returned),
	// and after teardown. A frozen runtime whose Running is off runs no step
	// until it is thawed.
	RtRunning RuntimeFlags = 1 << iota
	// RtBoot: the runtime is starting; Spawn returns once it is off.
	RtBoot
	// RtFrozen: Freeze was called and Thaw has not been since. The runtime
	// stops at its next cooperative point (between two steps) and sleeps.
	RtFrozen
	// RtLinked: the runtime is linked to at least one other.
	RtLinked
	// RtHalted: the runtime has been told to stop (Halt, Cancel, a failure,
	// the teardown of a linked runtime). It never runs another step once its
	// step in progress returns. Halted stays on after teardown.
	RtHalted
	// RtTeardown: the runtime has left its loop; its error is final, and
	// linked runtimes are being halted.
	RtTeardown
	// RtDead: teardown is complete: Join returns.
	RtDead
	// RtPolling: the runtime has a local event queue (made on first use)
	// and polls it between steps (every 64 steps of a continuation that
	// goes on); off with SkipPolling, and for the workers of a pool.
	RtPolling
	// RtCancels: Cancel is allowed (off with DenyCancels).
	RtCancels
)

var rtFlagNames = [...]string{"Running", "Boot", "Frozen", "Linked", "Halted", "Teardown", "Dead", "Polling", "Cancels"}

// String lists the flags that are on, such as "Running|Polling|Cancels".
func (f RuntimeFlags) String() string {
	var parts []string
	for i, name := range rtFlagNames {
		if f&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// The errors of runtimes. Implementations return these very values, or
// errors that wrap them (test with errors.Is).
var (
	// ErrNilContinuation: Spawn was given nil.
	ErrNilContinuation = errors.New("runtime: nil continuation")
	// ErrCanceled: the runtime was canceled; its continuation was dropped.
	ErrCanceled = errors.New("runtime: canceled")
	// ErrPanicked: a step panicked; the error carries the value and stack.
	ErrPanicked = errors.New("runtime: a step panicked")
	// ErrLinkedFailure: a linked runtime failed, which halted this one; the
	// error wraps the linked runtime's error, so a failure shows through a
	// whole chain of links.
	ErrLinkedFailure = errors.New("runtime: a linked runtime failed")
	// ErrSelfLink: a runtime cannot be linked to itself.
	ErrSelfLink = errors.New("runtime: cannot link a runtime to itself")
	// ErrTornDown: the operation needs a runtime that has not torn down.
	ErrTornDown = errors.New("runtime: torn down")
	// ErrNoContinuation: Eject found no continuation (already ejected, or
	// finished).
	ErrNoContinuation = errors.New("runtime: no continuation to eject")
)

// Runtime is the contract of a runtime: one continuation run step by step
// on a goroutine (or an OS thread) of its own, that can be halted, frozen,
// thawed, interrupted, canceled, ejected from, linked and signalled.
//
// # Lifecycle
//
// Spawn starts a runtime and returns once it has booted (Boot off). Until
// it tears down, the runtime loops: if Halted, it leaves; if Frozen, it
// turns Running off and sleeps until thawed or halted; otherwise it runs
// one step of its continuation (Running on). A step that returns no next
// step finishes the continuation, and the runtime leaves. Leaving is
// teardown: Running, Polling, Boot and Frozen go off, Halted and Linked
// stay for a post-mortem, Teardown goes on; then every linked runtime is
// halted, and Dead goes on and Join returns. Between two steps is the only
// cooperative point: control operations take effect there, never inside a
// step.
//
// # The local event queue
//
// A runtime with Polling has a local event queue (impl/eventq), made the
// first time a step asks for it. A continuation that waits for I/O or a
// timer leaves the runtime for its queue (the step hands it over as it
// returns), and what the queue hands out when ready is the runtime's to
// run: it runs those continuations a step at a time in turn with the one
// in hand, polling the queue between steps (at least every 64 steps of a
// continuation that goes on: a poll is a system call, and what became
// ready waits at most that long). With none in hand it is idle:
// it sleeps in the queue, using no CPU, and every control operation wakes
// it; idle is a cooperative point like any other (a Freeze, a Halt takes
// effect at once). It finishes once its continuation has finished and
// nothing is left in its queue. Teardown closes the queue; whatever the
// runtime had not finished (the continuation in hand unless canceled,
// those handed out and waiting for a turn, those still registered) is in
// its Leftovers.
//
// # Control operations
//
//   - Halt() sets Halted and reports whether it was off; it does nothing
//     (false) once Teardown is on. The runtime stops at its next
//     cooperative point; a frozen runtime wakes to stop.
//   - Freeze() sets Frozen and reports whether it was off; it refuses
//     (false) once Halted or Teardown is on, or once Eject has taken the
//     continuation (the runtime is then frozen until it tears down, and
//     thawing it lets it tear down). Thaw() clears it and reports
//     whether it was on. Freezing does not wait: Running goes off once the
//     step in progress returns.
//   - Eject() stops the runtime at its next cooperative point and takes
//     its continuation, which it returns, in one step: the runtime is then
//     frozen and asleep, without a continuation, until thawed (then it
//     tears down) or halted. If the runtime is halted or torn down first,
//     Eject fails with ErrTornDown and has changed nothing (it froze
//     nothing); if the continuation was taken already, or the runtime is
//     idle (its continuations all wait in its event queue, which Eject
//     does not take from), ErrNoContinuation, and it has changed nothing.
//   - Interrupt() ends the context of the step in progress, so that a step
//     asleep in a context-aware wait (a mailbox's RecvContext) returns and
//     the runtime reaches its cooperative point. Halt, Freeze and Cancel
//     interrupt too.
//   - Cancel() is the closest Go has to killing a thread, which it cannot
//     do: it halts the runtime, interrupts its step, and drops its
//     continuation, which never runs again (Eject afterwards finds none);
//     the runtime's error is ErrCanceled. It differs from Halt in that
//     Halt keeps the continuation and reports no error. A step that ignores
//     its context still runs to its end: nothing can preempt it. With
//     DenyCancels, Cancel refuses (false).
//   - Link(other) links two runtimes both ways (ErrSelfLink for itself);
//     Unlink undoes it. The teardown of either halts the other.
//   - Signal(sig) applies a signal's default action: SIGTERM and SIGQUIT
//     halt, SIGCONT thaws, SIGINT and others are ignored.
//
// With the Signals option, a runtime receives its default signals in its
// local event queue, as the Nim original's does, and applies each one's
// default action with Signal between two steps; a frozen runtime sleeps in
// its queue rather than beside it, so that SIGCONT thaws it, and applies
// its signals there without running a step. The signal registration is the
// runtime's own: it does not keep the runtime alive, and it is not among
// its leftovers. rt.RouteSignals does the same for runtimes without an
// event queue, through a goroutine that os/signal feeds.
//
// # Errors and failure
//
// Join returns the runtime's error once Dead: nil after a continuation
// that finished or a Halt, ErrPanicked (wrapping the value and stack) if a
// step panicked, ErrCanceled after Cancel, and ErrLinkedFailure (wrapping
// the failed peer's error) if a linked runtime's failure halted it. A
// failure is a teardown with an error: a panic, a Cancel, or a linked
// failure in turn. Every teardown halts the linked runtimes, a finished
// continuation's too (so a runtime that finishes its work while its peers
// still have theirs unlinks first); only a failure gives them an error.
// A panic never reaches the process.
//
// Where this differs from the Nim original: its teardown halts linked
// runtimes and nothing more; here a linked runtime halted by a failure
// reports it, so that the cause of a cascade through many links is known
// at every link. The Nim original's Cancel kills the thread
// (pthread_cancel); Go cannot, hence the cooperative meaning above.
type Runtime interface {
	Halt() bool
	Freeze() bool
	Thaw() bool
	Interrupt()
	Cancel() bool
	Join() error
	Err() error
	Flags() RuntimeFlags
}

// Halter is the contract of a halter: the Nim original's halter(runtime,
// timeout), which halts a runtime once a timeout has passed unless the
// runtime has finished first. A runtime's HaltAfter(d) makes one.
//
//   - It halts the runtime (Runtime.Halt) once d has passed, at once for a
//     d that is not positive, unless the runtime is Dead first or Stop
//     comes first. It never halts before d has passed.
//   - It ends at the first of the three: its halt, the runtime's death,
//     Stop. Once ended it holds nothing: no goroutine, no timer. A
//     runtime that finishes is therefore enough to release its halter;
//     nobody needs to call Stop.
//   - Stop() stops it if it has not ended, waits until it has, and
//     reports whether it halted the runtime. After Stop returns it never
//     halts. Every Stop reports the same.
//   - Halted() reports whether it halted the runtime: false until it has
//     ended (Done() is closed), then final.
//   - "It halted the runtime" is the answer of its Halt: true exactly when
//     its Halt turned the runtime's Halted flag on. A timeout that meets
//     the runtime's teardown finds Halt refusing (the runtime has torn
//     down) and reports false; a timeout that meets Stop either wins,
//     halting and making Stop report true, or loses, and never halts.
//     When nothing else halts the runtime, what Stop reports is the
//     runtime's Halted flag after Join.
type Halter interface {
	Stop() bool
	Done() <-chan struct{}
	Halted() bool
}
