package rt

import (
	"errors"
	"fmt"
)

// PanicError is the error of a runtime whose step panicked: the runtime,
// the value and the stack. It matches ErrPanicked with errors.Is.
type PanicError struct {
	Runtime string // the runtime's name (see Name), or its address
	Value   any
	Stack   []byte // the panicking goroutine's stack, as debug.Stack gives it
}

// Error names the runtime and the value; the stack is in the Stack field.
func (e *PanicError) Error() string {
	return fmt.Sprintf("runtime %s: a step panicked: %v", e.Runtime, e.Value)
}

// Is reports whether target is ErrPanicked.
func (e *PanicError) Is(target error) bool { return target == ErrPanicked }

// LinkedError is the error of a runtime halted because a linked runtime
// failed. It matches ErrLinkedFailure, and, through Unwrap, the
// linked runtime's own error.
type LinkedError struct {
	Peer string // the failed runtime
	Err  error  // its error
}

func (e *LinkedError) Error() string {
	return fmt.Sprintf("runtime: linked runtime %s failed: %v", e.Peer, e.Err)
}

// Is reports whether target is ErrLinkedFailure.
func (e *LinkedError) Is(target error) bool { return target == ErrLinkedFailure }

// Unwrap returns the linked runtime's error.
func (e *LinkedError) Unwrap() error { return e.Err }

// The reasons a step's context ends, other than ErrCanceled.
var (
	errHalted      = errors.New("runtime: halted")
	errFrozen      = errors.New("runtime: frozen")
	errInterrupted = errors.New("runtime: interrupted")
)
