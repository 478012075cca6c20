package seq

import "github.com/insideout-go/insideout/spec"

// The errors of sequential continuations, the same values as spec's (and
// cont's, and eventq's): test them with errors.Is.
var (
	// ErrNotRunning: a K's method was called from outside its own body,
	// or after the body finished.
	ErrNotRunning = spec.ErrNotRunning
	// ErrResumedTwice: the value a continuation panics with when it is
	// stepped while another goroutine is stepping it; a runtime reports
	// the panic as its error.
	ErrResumedTwice = spec.ErrResumedTwice
	// ErrMove: Goto could not send the continuation, or Away's give
	// refused it; the error is a *cont.MoveError, and the continuation
	// stayed where it was.
	ErrMove = spec.ErrMove
	// ErrRemotePanicked: the body run by ComeFrom or NovelThread
	// panicked.
	ErrRemotePanicked = spec.ErrRemotePanicked
	// ErrNoRuntime: NovelThread was called from a continuation that no
	// runtime runs.
	ErrNoRuntime = spec.ErrNoRuntime
	// ErrNoQueue: Sleep or Await was called from a continuation whose
	// runner has no event queue (a pool's worker, say).
	ErrNoQueue = spec.ErrNoQueue
)
