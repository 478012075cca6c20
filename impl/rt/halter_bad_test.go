package rt_test

import (
	"context"
	"time"

	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
)

// Known-bad halters, each with the bug a check of halter_check_test.go
// must catch. They share rt's shape: a goroutine asleep on a virtual
// timeout and the runtime's Done.

type badHalter struct {
	stop   context.CancelFunc
	done   chan struct{}
	halted seam.Bool
	noWait bool
}

func (h *badHalter) Done() <-chan struct{} { return h.done }

func (h *badHalter) Stop() bool {
	h.stop()
	if !h.noWait {
		seam.Await(h.done)
	}
	return h.halted.Load()
}

// start runs the halter's goroutine: fire runs once the timeout has
// passed (and not on Stop), watch tells whether it also ends when the
// runtime does.
func (h *badHalter) start(r *rt.Runtime, d time.Duration, watch bool, fire func()) *badHalter {
	t, stop := seam.WithTimeout(context.Background(), d)
	h.stop, h.done = stop, make(chan struct{})
	runtimeDone := r.Done()
	if !watch {
		runtimeDone = nil
	}
	seam.Go(func() {
		defer seam.Close(h.done)
		defer stop()
		if seam.Await2(t.Done(), runtimeDone) == 0 && t.Err() == context.DeadlineExceeded {
			fire()
		}
	})
	return h
}

// badStopNoWait's Stop does not wait for a halt in flight: it reports
// false, and the halt lands after it.
func badStopNoWait(r *rt.Runtime, d time.Duration) stopper {
	h := &badHalter{noWait: true}
	return h.start(r, d, true, func() { h.halted.Store(r.Halt()) })
}

// badTrustingHalter looks at the runtime's flags and, finding it not torn
// down, halts it and reports the halt without asking Halt: a runtime that
// tears down in between is reported halted.
func badTrustingHalter(r *rt.Runtime, d time.Duration) stopper {
	h := &badHalter{}
	return h.start(r, d, true, func() {
		if r.Flags()&(rt.FlagTeardown|rt.FlagDead) == 0 {
			r.Halt()
			h.halted.Store(true)
		}
	})
}

// badTimerOnly waits for its timeout whatever becomes of the runtime.
func badTimerOnly(r *rt.Runtime, d time.Duration) stopper {
	h := &badHalter{}
	return h.start(r, d, false, func() { h.halted.Store(r.Halt()) })
}
