package rt

import "github.com/insideout-go/insideout/spec"

// The errors of runtimes, the same values as spec's. Spawn, Link, Eject
// and EventQueue return them, and Join returns a runtime's error, which
// is nil or matches one of them: test with errors.Is.
var (
	// ErrNilContinuation: Spawn was given nil.
	ErrNilContinuation = spec.ErrNilContinuation
	// ErrCanceled: the runtime was canceled; its continuation was dropped.
	ErrCanceled = spec.ErrCanceled
	// ErrPanicked: a step panicked; the error is a *PanicError, with the
	// value and the stack.
	ErrPanicked = spec.ErrPanicked
	// ErrLinkedFailure: a linked runtime failed, which halted this one;
	// the error is a *LinkedError, which wraps the linked runtime's error.
	ErrLinkedFailure = spec.ErrLinkedFailure
	// ErrSelfLink: a runtime cannot be linked to itself.
	ErrSelfLink = spec.ErrSelfLink
	// ErrTornDown: the operation needs a runtime that has not torn down.
	ErrTornDown = spec.ErrTornDown
	// ErrNoContinuation: Eject found no continuation (ejected already, or
	// the runtime is idle).
	ErrNoContinuation = spec.ErrNoContinuation
	// ErrNoQueue: the runtime has no event queue (SkipPolling, or it has
	// torn down); the same value as eventq.ErrNoQueue.
	ErrNoQueue = spec.ErrNoQueue
)

// Flags is the state of a runtime at one instant, as Flags reports it
// (see spec.Runtime for the lifecycle they follow).
type Flags = spec.RuntimeFlags

// The flags.
const (
	// FlagRunning: the runtime is running its continuation's steps; off
	// while it is frozen (once the step in progress has returned), and
	// after teardown.
	FlagRunning = spec.RtRunning
	// FlagBoot: the runtime is starting; Spawn returns once it is off.
	FlagBoot = spec.RtBoot
	// FlagFrozen: Freeze was called and Thaw has not been since.
	FlagFrozen = spec.RtFrozen
	// FlagLinked: the runtime is linked to at least one other.
	FlagLinked = spec.RtLinked
	// FlagHalted: the runtime has been told to stop (Halt, Cancel, a
	// failure, the teardown of a linked runtime); it stays on after
	// teardown.
	FlagHalted = spec.RtHalted
	// FlagTeardown: the runtime has left its loop; its error is final.
	FlagTeardown = spec.RtTeardown
	// FlagDead: teardown is complete: Join returns.
	FlagDead = spec.RtDead
	// FlagPolling: the runtime has a local event queue and polls it
	// between steps (off with SkipPolling).
	FlagPolling = spec.RtPolling
	// FlagCancels: Cancel is allowed (off with DenyCancels).
	FlagCancels = spec.RtCancels
)
