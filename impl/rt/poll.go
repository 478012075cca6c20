package rt

import (
	"context"
	"fmt"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
)

// EventQueue returns the runtime's local event queue, making it on first
// use: where eventq.Await, eventq.Sleep and seq's Sleep and Await leave
// the continuations of its steps (they find it with eventq.FromContext),
// and where anything registered with it runs when ready. The runtime runs
// what its queue hands out, a step at a time in turn with its own
// continuation, polling the queue every 64 steps while one goes on (a
// poll is a system call), and when it has nothing
// else to run it sleeps in its queue, using no CPU, until something is
// ready or a control operation (Halt, Freeze, Interrupt, Cancel, Eject)
// wakes it. It finishes once its continuation has and nothing is left in
// its queue. It fails with ErrNoQueue without Polling (SkipPolling,
// and after teardown, which closes the queue).
//
// The queue is polled between steps only: a step that blocks (in a
// mailbox's Recv, say) holds up what becomes ready meanwhile until it
// returns.
func (r *Runtime) EventQueue() (*eventq.Queue, error) {
	if q := r.evq.Load(); q != nil {
		return q, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if q := r.evq.Load(); q != nil {
		return q, nil
	}
	// Teardown turns Polling off under mu, before it closes the queue.
	if r.flags.Load()&uint32(FlagPolling) == 0 {
		return nil, fmt.Errorf("runtime %s does not poll: %w", r, ErrNoQueue)
	}
	q, err := eventq.New()
	if err != nil {
		return nil, fmt.Errorf("runtime %s: %w", r, err)
	}
	r.evq.Store(q)
	return q, nil
}

// A runtime is the source of its event queue that eventq.FromContext
// finds in its steps' contexts (see stepCtx.Value).
var _ interface{ EventQueue() (*eventq.Queue, error) } = (*Runtime)(nil)

// pending reports whether the runtime's event queue holds or handed out
// anything it has yet to run.
func (r *Runtime) pending() bool {
	if len(r.runq) > 0 {
		return true
	}
	q := r.evq.Load()
	if q == nil {
		return false
	}
	own := 0
	if r.sigs != nil {
		own = 1 // the runtime's signal registration is not work
	}
	return q.Len() > own
}

// listen registers the runtime's signals (Signals) in its event queue,
// with the continuation that Spawn made for them (r.sigs).
func (r *Runtime) listen() error {
	q, err := r.EventQueue()
	if err != nil {
		return err
	}
	if _, err := q.Signal(r.sigs, r.opts.signals...); err != nil {
		return fmt.Errorf("runtime %s: signals: %w", r, err)
	}
	return nil
}

// applySignals is the step of the runtime's signal continuation: it
// applies what the last firing brought. Lent by its registration, it is
// handed back after the step.
func (r *Runtime) applySignals(ctx context.Context, c *cont.C) cont.Step {
	for _, sig := range r.signals {
		r.Signal(sig)
	}
	r.signals = r.signals[:0]
	return c.Next()
}

// idle finds the next continuation to run when the runtime has none in
// hand: one the event queue handed out earlier, or one it hands out now,
// waiting for it in the queue unless ctx has ended (a control operation
// ends ctx, then wakes the queue: see endStep). It reports finished if
// nothing is left to wait for, and returns nil if woken with nothing to
// run.
func (r *Runtime) idle(ctx *stepCtx) (c *cont.C, finished bool, err error) {
	if c := r.pop(); c != nil {
		return c, false, nil
	}
	if !r.pending() {
		return nil, true, nil
	}
	if ctx.ended() {
		return nil, false, nil
	}
	// The event queue sleeps in epoll_wait; under the controlled scheduler a queue made in the run parks through the seam instead (impl/eventq's kernel_sched.go)
	if err := r.take(r.evq.Load().Wait(r.ready[:0], -1)); err != nil {
		return nil, false, err
	}
	return r.pop(), false, nil
}

// take queues what the event queue handed out for a turn each.
func (r *Runtime) take(ready []eventq.Ready, err error) error {
	for i, rd := range ready {
		if rd.C == r.sigs && r.sigs != nil {
			r.signals = append(r.signals, rd.Signals...)
		}
		if !rd.Ended {
			if r.lent == nil {
				r.lent = make(map[*cont.C]eventq.ID)
			}
			r.lent[rd.C] = rd.ID
		}
		r.runq = append(r.runq, rd.C)
		ready[i] = eventq.Ready{}
	}
	r.ready = ready[:0]
	if err != nil {
		return fmt.Errorf("runtime %s: event queue: %w", r, err)
	}
	return nil
}

// pop returns the continuation whose turn it is, or nil.
func (r *Runtime) pop() *cont.C {
	if len(r.runq) == 0 {
		return nil
	}
	c := r.runq[0]
	r.runq[0] = nil
	r.runq = r.runq[1:]
	return c
}

// pollEvery is how many steps of a continuation that goes on the runtime
// runs between two polls of its event queue: what became ready meanwhile,
// and the runtime's signals, wait at most that many steps.
const pollEvery = 64

// settle decides what the runtime holds after a step of c, which reported
// done: a continuation out of a repeating registration goes back to its
// registration unless finished (then the registration ends); a finished
// or departed one leaves the runtime idle; one that goes on takes its
// turn after those the event queue has handed out, which the runtime
// polls for every pollEvery steps while anything is registered.
func (r *Runtime) settle(c *cont.C, done bool) error {
	q := r.evq.Load()
	if id, ok := r.lent[c]; ok {
		delete(r.lent, c)
		switch {
		case done:
			q.Cancel(id)
		case q.Rearm(id) == nil:
			r.c = nil // back in its registration
			return nil
		}
	}
	if done {
		r.c = nil
		return nil
	}
	// Poll every pollEvery steps, not after each: a poll is a system call,
	// which costs many times a step of a continuation that goes on step
	// after step.
	if q != nil {
		if r.sincePoll++; r.sincePoll >= pollEvery {
			r.sincePoll = 0
			if q.Len() > 0 {
				if err := r.take(q.Poll(r.ready[:0])); err != nil {
					return err
				}
			}
		}
	}
	if len(r.runq) > 0 {
		r.runq = append(r.runq, c)
		r.c = r.pop()
	}
	return nil
}
