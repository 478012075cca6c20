package pool

import "github.com/insideout-go/insideout/spec"

// The errors of workers, which Join and Shutdown return joined (each
// wrapped with the worker's name): the same values as rt's and spec's,
// to test with errors.Is.
var (
	// ErrCanceled: a worker was canceled (Cancel); the continuation it
	// was running was dropped.
	ErrCanceled = spec.ErrCanceled
	// ErrPanicked: a step panicked on a worker; the error is an
	// *rt.PanicError, with the value and the stack.
	ErrPanicked = spec.ErrPanicked
	// ErrLinkedFailure: a runtime linked to a worker (rt.LinkTo) failed,
	// which halted the worker.
	ErrLinkedFailure = spec.ErrLinkedFailure
)
