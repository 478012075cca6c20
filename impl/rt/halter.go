package rt

import (
	"context"
	"errors"
	"time"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

var _ spec.Halter = (*Halter)(nil)

// A Halter halts a runtime once a timeout has passed, unless the runtime
// has finished first or the halter was stopped: the Nim original's
// halter(runtime, timeout), whose contract is spec.Halter. Make one with
// HaltAfter. Its methods are safe for concurrent use.
//
// It is one goroutine, asleep on a timer (seam.WithTimeout: a context
// whose deadline is the timeout) and on the runtime's Done channel, which
// ends at the first of three: the timeout (it calls Halt), the runtime
// finishing (Dead), Stop. Which of the timeout and Stop came first is the
// context's answer (its Err: DeadlineExceeded or Canceled, decided once),
// so the two cannot both win; whether the halt took effect is Halt's own
// answer, false once the runtime has torn down, so a runtime finishing at
// the same moment is never reported halted.
type Halter struct {
	stop context.CancelFunc
	// done is closed (seam.Close) by the halter's goroutine once it has
	// ended, after its last write of state.
	done chan struct{}
	// state is the halter's outcome, written once by its goroutine before
	// it closes done: halterWaiting until then.
	state seam.Uint32
}

// A Halter's outcomes.
const (
	halterWaiting uint32 = iota
	halterHalted         // its Halt took effect
	halterSpared         // it ended without halting the runtime
)

// HaltAfter returns a Halter that halts r once d has passed (at once if d
// is not positive), unless r has finished (is Dead) first or the Halter
// is stopped first. The Halter holds one goroutine and one timer until
// then, and neither after: once r has finished, it has stopped itself.
// The halt is Halt's: r stops at its next cooperative point, keeping its
// continuation, and its error is nil.
func (r *Runtime) HaltAfter(d time.Duration) *Halter {
	timer, stop := seam.WithTimeout(context.Background(), d)
	h := &Halter{stop: stop, done: make(chan struct{})}
	seam.Go(func() {
		defer seam.Close(h.done)
		defer stop() // the runtime finished first: free the timer
		outcome := halterSpared
		if seam.Await2(timer.Done(), r.done) == 0 && errors.Is(timer.Err(), context.DeadlineExceeded) && r.Halt() {
			outcome = halterHalted
		}
		h.state.Store(outcome)
	})
	return h
}

// Stop stops h, waits until it has ended, and reports whether it halted
// the runtime: false if Stop came before the timeout, or the runtime
// finished first, or the halt found the runtime torn down already; true if
// the timeout came first and its Halt took effect. After Stop, h never
// halts the runtime. Every call reports the same.
func (h *Halter) Stop() bool {
	h.stop()
	seam.Await(h.done)
	return h.state.Load() == halterHalted
}

// Done returns a channel closed once h has ended: it halted the runtime,
// or found it finished, or was stopped.
func (h *Halter) Done() <-chan struct{} { return h.done }

// Halted reports whether h has halted the runtime. Once Done is closed the
// answer is final; before, it is false.
func (h *Halter) Halted() bool { return h.state.Load() == halterHalted }
