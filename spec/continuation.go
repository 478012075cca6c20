package spec

import "errors"

// Continuations (impl/cont, impl/seq) move between pools with four
// operations. Their rules:
//
//   - At most one goroutine runs a continuation at any moment, and a move
//     copies nothing: the continuation that arrives is the one that left.
//     Whoever runs a continuation calls its steps one after another; the
//     point between two steps is a cooperative point.
//   - Goto(box): the continuation is sent to box, after the step that asked
//     for it has returned; the runner that ran that step no longer holds it,
//     and whoever receives it from box runs its next step. A send that
//     waits (box full or paused) waits with the step's context: if that
//     ends, the move stays pending, and the runner retries it before running
//     anything else of the continuation. A move that cannot happen (box
//     closed for writing, or nil) fails with ErrMove: the continuation stays
//     where it is, and its next step runs there and sees the error.
//   - ComeFrom(box, remote): remote runs on box's pool as a continuation of
//     its own, to its end; meanwhile the caller waits, at its cooperative
//     points, on the runner it was on, and resumes there with remote's
//     result. A remote part that panics fails its own runtime as any step
//     does, and the caller resumes with ErrRemotePanicked.
//   - NovelThread(remote): ComeFrom on a runtime spawned for the purpose, of
//     the caller's runtime's kind (an OS thread if it is one), joined once
//     remote has finished. Only a continuation run by a runtime (directly,
//     or by a pool's dispatcher) can spawn one; elsewhere it fails with
//     ErrNoRuntime.
//   - Coop: a cooperative point, at which the runner may halt or freeze
//     before the continuation's next step.
//
// Misuse is an error, never a hang or a lost continuation: stepping a
// sequential continuation that another goroutine is stepping panics with
// ErrResumedTwice (a programmer error; a runtime reports it as its error),
// and a sequential continuation's operations called from outside its own
// body fail with ErrNotRunning. A step continuation is one word, its next
// step, and checking it on every step would cost every runner an atomic
// read-modify-write: stepping one from two goroutines at once is a data
// race, which the race detector reports (and the tests run under it).
var (
	// ErrMove: a Goto could not send the continuation; it wraps the
	// mailbox's error (ErrUnwritable, ErrNil).
	ErrMove = errors.New("continuation: move failed")
	// ErrRemotePanicked: the remote part of a ComeFrom or NovelThread
	// panicked; its runtime's error has the value and the stack.
	ErrRemotePanicked = errors.New("continuation: the remote part panicked")
	// ErrNoRuntime: NovelThread was asked of a continuation that no runtime
	// runs.
	ErrNoRuntime = errors.New("continuation: not run by a runtime: no runtime to spawn from")
	// ErrResumedTwice: a sequential continuation was stepped while another
	// goroutine was stepping it.
	ErrResumedTwice = errors.New("continuation: resumed twice: already running on another goroutine")
	// ErrNotRunning: a sequential continuation's operation was called from
	// outside its body, or after it finished.
	ErrNotRunning = errors.New("continuation: operation called outside the continuation's own body")
)
