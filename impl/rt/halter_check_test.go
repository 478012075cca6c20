package rt_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
)

// A stopper is what the halter checks need of a halter, so that they run
// on rt's and on the known-bad ones of halter_bad_test.go alike.
type stopper interface {
	Stop() bool
	Done() <-chan struct{}
}

// A halterMaker makes a halter of r with timeout d.
type halterMaker func(r *rt.Runtime, d time.Duration) stopper

func realHalter(r *rt.Runtime, d time.Duration) stopper { return r.HaltAfter(d) }

// waitable returns a continuation that waits, step after step, until
// finish is closed (then it finishes) or its step's context ends (then it
// yields, so that a halt takes effect).
func waitable(finish chan struct{}) *cont.C {
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if seam.Await2(ctx.Done(), finish) == 1 {
			return nil
		}
		return c.Next()
	})
}

// halterRound runs one round of the two races a halter must survive: its
// timeout against Stop (finishFirst false: Stop, then the runtime is let
// finish), and its timeout against the runtime finishing on its own
// (finishFirst true: the runtime is let finish, then Stop). The timeout is
// d, and the test goroutine sleeps d before it moves, so that the moves
// and the timeout meet. Under the controlled scheduler, where the timeout
// passes only once the run is idle, it waits instead until the run is
// idle or has passed steps switch points: so that the timeout may fire
// while it waits and its moves come in the middle of the halter's. Nothing else halts the runtime, so the runtime's
// Halted flag (which stays on after teardown) tells whether the halter
// halted it; what Stop reported must agree. The bugs it catches: a Stop
// that reports false and lets a halt in flight land after it
// (badStopNoWait), and a halter that reports a halt that found the runtime
// torn down (badTrustingHalter).
func halterRound(mk halterMaker, d time.Duration, finishFirst bool, steps int) error {
	finish := make(chan struct{})
	r, err := rt.Spawn(waitable(finish), rt.SkipPolling())
	if err != nil {
		return err
	}
	h := mk(r, d)
	if seam.ID() >= 0 {
		seam.AwaitIdleFor(steps)
	} else {
		time.Sleep(d)
	}
	if finishFirst {
		seam.Close(finish)
	}
	said := h.Stop()
	seam.Await(h.Done())
	if !finishFirst {
		seam.Close(finish)
	}
	if err := r.Join(); err != nil {
		return fmt.Errorf("Join: %v", err)
	}
	halted := r.Flags()&rt.FlagHalted != 0
	if said != halted {
		return fmt.Errorf("Stop reported halted=%v, but the runtime's Halted flag is %v (finish first: %v)", said, halted, finishFirst)
	}
	return nil
}

// errNotStopped is what checkStopsItself reports of a halter that
// outlives its runtime.
var errNotStopped = errors.New("the halter did not end when its runtime finished: its goroutine and timer are left")

// checkStopsItself runs a runtime that finishes long before its halter's
// timeout, and checks that the halter ends with it, unstopped, within
// limit, having halted nothing. The bug it catches: a halter that waits
// for its timeout whatever becomes of the runtime (badTimerOnly), holding
// a goroutine and a timer meanwhile.
func checkStopsItself(mk halterMaker, limit time.Duration) error {
	finish := make(chan struct{})
	r, err := rt.Spawn(waitable(finish), rt.SkipPolling())
	if err != nil {
		return err
	}
	h := mk(r, time.Hour)
	close(finish)
	if err := r.Join(); err != nil {
		return err
	}
	select {
	case <-h.Done():
	case <-time.After(limit):
		h.Stop() // ends it, for goleak
		return errNotStopped
	}
	if h.Stop() {
		return errors.New("a halter whose runtime finished reports a halt")
	}
	return nil
}
