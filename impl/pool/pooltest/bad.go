package pooltest

import (
	"context"
	"errors"
	"fmt"
	"time"
	"weak"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// A Bug is one deliberate fault of a known-bad dispatcher
// (BadDispatcher). Every check of pools and of the continuations they
// run must be shown to catch the bugs it claims to catch: the pool
// scenario (Scenario, run by package linearize's harness tests), the
// stress suite's pool storm and the continuation campaign
// (impl/cont/conttest, run by linearize's harness tests) take their
// known-bad dispatchers from here. Each is a plain waiter's loop (take a
// continuation from the box, step it until done, return to the runtime
// after every step) with one promise broken. Each is written so that the
// race detector sees no data race (every access to a continuation it
// breaks is ordered by a lock, or made on a copy): the bugs are in the
// logic, which is what the checks must catch.
type Bug uint8

const (
	// Correct is no bug: the plain waiter, the control that shows a check
	// passes what it should.
	Correct Bug = iota
	// DropsOnEnd forgets the job in hand when its step context ends in
	// the middle of it (a freeze, interrupt, eject or halt of its worker).
	// The pool scenario's audit finds a job neither completed, nor left,
	// nor in the mailbox (Illegal); the storm finds "items missing".
	DropsOnEnd
	// HidesInFlight is pool.Waiter, whose Leftovers report nothing: the
	// job in hand and those taken from the box ahead of it are missed
	// once a halted worker leaves them. The pool scenario's audit finds a
	// job lost (Illegal); the storm, with a halt, finds "items missing".
	HidesInFlight
	// StepsAfterDone runs the last step of a job once more after the job
	// completed. The storm finds it "completed more than once".
	StepsAfterDone
	// StepsAfterMove runs one more step of a continuation after its Step
	// reported done because it moved (a Goto sent it on), under a lock
	// per continuation that its receiver takes too. The step runs where
	// the continuation no longer is, or twice: the continuation
	// campaign's trace check counts it wrong (conttest.Result.Wrong).
	StepsAfterMove
	// DropsReturning drops a continuation that arrives at a pool where it
	// ran before (it moved away and came back). Its program never
	// finishes: the continuation campaign reports it lost at the deadline
	// (conttest.Result.Lost).
	DropsReturning
	// StepsOnTwoWorkers hands, the first time a continuation is received,
	// its next step to another worker of the pool, on a scratch
	// continuation, and runs it here too, at the same time. The
	// continuation campaign's ownership check sees "two runners at once".
	StepsOnTwoWorkers
	bugs
)

var bugNames = [bugs]string{"correct", "drop-on-end", "hidden-in-flight", "step-after-done",
	"step-after-move", "drop-returning", "two-workers"}

func (b Bug) String() string {
	if b < bugs {
		return bugNames[b]
	}
	return fmt.Sprintf("Bug(%d)", b)
}

// BadDispatcher returns the plain waiter dispatcher with bug (for
// HidesInFlight, pool.Waiter with the bug). Make a fresh one for each
// round: the pools of one dispatcher share its state (what
// StepsAfterMove, DropsReturning and StepsOnTwoWorkers remember of the
// continuations they saw).
func BadDispatcher(bug Bug) pool.Dispatcher {
	switch {
	case bug >= bugs:
		panic(fmt.Sprintf("pooltest: BadDispatcher(%v): no such bug", bug))
	case bug == HidesInFlight:
		return func(box *pool.Box) (*cont.C, func() []*cont.C) {
			w, _ := pool.Waiter(box)
			return w, func() []*cont.C { return nil } // the bug
		}
	}
	b := &badDispatcher{bug: bug, locks: map[weak.Pointer[cont.C]]*seam.Mutex{}, seen: map[any]bool{}}
	return b.worker
}

type badDispatcher struct {
	bug Bug

	mu    seam.Mutex                           // guards locks and seen
	locks map[weak.Pointer[cont.C]]*seam.Mutex // StepsAfterMove
	seen  map[any]bool                         // boxed: DropsReturning; weak.Pointer[cont.C]: StepsOnTwoWorkers
}

// lock returns c's lock, made on first use.
func (b *badDispatcher) lock(c *cont.C) *seam.Mutex {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := weak.Make(c)
	mu := b.locks[k]
	if mu == nil {
		mu = new(seam.Mutex)
		b.locks[k] = mu
	}
	return mu
}

// see records key as seen and reports whether it had been already.
func (b *badDispatcher) see(key any) (again bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	again = b.seen[key]
	b.seen[key] = true
	return again
}

// boxed is a continuation seen at a box, weakly held, so that a dropped
// continuation can be collected.
type boxed struct {
	box *pool.Box
	c   weak.Pointer[cont.C]
}

// worker is the pool.Dispatcher.
func (b *badDispatcher) worker(box *pool.Box) (*cont.C, func() []*cont.C) {
	var cur *cont.C // the job in hand
	w := cont.New(func(ctx context.Context, self *cont.C) cont.Step {
		if cur == nil {
			c, err := box.RecvContext(ctx)
			if errors.Is(err, mailbox.ErrUnreadable) {
				return nil // the box is closed and empty: the worker ends
			}
			if err != nil || !b.received(box, c) {
				return self.Next()
			}
			cur = c
		}
		if b.step(ctx, cur) {
			cur = nil
		} else if b.bug == DropsOnEnd && ctx.Err() != nil {
			cur = nil // the bug: the job in hand is forgotten
		}
		return self.Next()
	})
	return w, func() []*cont.C { return []*cont.C{cur} }
}

// received reports whether to keep c, just received from box.
func (b *badDispatcher) received(box *pool.Box, c *cont.C) bool {
	switch b.bug {
	case DropsReturning:
		return !b.see(boxed{box, weak.Make(c)}) // the bug: dropped, as it came back
	case StepsOnTwoWorkers:
		if !b.see(weak.Make(c)) {
			b.duplicate(box, c)
		}
	}
	return true
}

// step steps c once and reports whether the worker is done with it.
func (b *badDispatcher) step(ctx context.Context, c *cont.C) bool {
	switch b.bug {
	case StepsAfterDone:
		last := c.Next()
		done := c.Step(ctx)
		if done && last != nil && c.Done() {
			last(ctx, c) // the bug: the finished job's step, again
		}
		return done
	case StepsAfterMove:
		mu := b.lock(c)
		mu.Lock()
		defer mu.Unlock()
		done := c.Step(ctx)
		if done && !c.Done() {
			c.Step(ctx) // the bug: it moved, yet one more step of it, where it no longer is
		}
		return done
	}
	return c.Step(ctx)
}

// duplicate sends to box a continuation that runs c's next step once, on
// a scratch continuation (so that a Goto in it moves nothing), and waits
// a little for another worker to start it, so that the two runs of the
// step overlap.
func (b *badDispatcher) duplicate(box *pool.Box, c *cont.C) {
	s := c.Next()
	if s == nil {
		return
	}
	started := new(seam.Bool)
	dup := cont.New(func(ctx context.Context, d *cont.C) cont.Step {
		started.Store(true)
		s(ctx, cont.New(nil))
		return nil
	})
	b.see(weak.Make(dup)) // not duplicated in turn
	if box.TrySend(dup) != spec.Delivered {
		return
	}
	// Wait a while for another worker to start it; with no free worker it
	// runs later. (seam.Until: under the controlled scheduler the wait is
	// virtual, so that a schedule of it replays.)
	seam.Until(started.Load, 20*time.Millisecond)
}
