package eventq

import (
	"context"
	"errors"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/internal/evqkey"
	"github.com/insideout-go/insideout/impl/internal/homekey"
)

// holds reports whether c is in a live registration.
func (q *Queue) holds(c *cont.C) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.conts[c]
	return ok
}

// A step's context holds the event queue of whoever runs the step under
// evqkey.Key: the *Queue itself (RunReady's steps, NewContext), or a
// source that makes it on first use (a polling runtime, impl/rt).

// A source gives the event queue of whoever runs a step, making it on
// first use.
type source interface {
	EventQueue() (*Queue, error)
}

// NewContext returns a context that holds q, for a runner that steps
// continuations by hand (those RunReady returns in rest, say): their
// Await, Sleep and Watch then wait in q. ctx must not be nil: NewContext
// panics if it is, as context.WithValue does.
func NewContext(ctx context.Context, q *Queue) context.Context {
	return context.WithValue(ctx, evqkey.Key{}, q)
}

// FromContext returns the event queue of whoever runs the step whose
// context ctx is, or ErrNoQueue if there is none. ctx must not be nil:
// FromContext panics if it is, as context.WithValue does with a nil
// parent.
func FromContext(ctx context.Context) (*Queue, error) {
	if ctx == nil {
		panic("eventq: FromContext with a nil context.Context: pass the step's context")
	}
	switch v := ctx.Value(evqkey.Key{}).(type) {
	case *Queue:
		return v, nil
	case source:
		return v.EventQueue()
	}
	return nil, ErrNoQueue
}

// Await returns the step that ends a step waiting for fd: a step ends with
// return eventq.Await(ctx, c, fd, eventq.Read, next). Once the step has
// returned, c is registered, one-shot, for events on fd in the event queue
// of whoever runs it (FromContext), and next runs when fd is ready: the
// runner is free meanwhile. If it cannot be registered (no queue, a bad fd
// or event set), c stays and next runs at once, with the error in
// cont.MoveErr of its context.
func Await(ctx context.Context, c *cont.C, fd int, events Events, next cont.Step) cont.Step {
	return c.Away(Giving(ctx, func(q *Queue, c *cont.C) (ID, error) { return q.Register(fd, events|OneShot, c) }), next)
}

// Sleep returns the step that ends a step sleeping for d: a step ends with
// return eventq.Sleep(ctx, c, d, next), and next runs d later (a d of zero
// or less: at once, or at the queue's next Wait). It works in any
// continuation, in one of three ways, by what ctx holds:
//
//   - An event queue (FromContext: a polling runtime, RunReady): c waits
//     on a one-shot timer of that queue, and whoever runs the step is free
//     meanwhile. If the queue refuses the timer (closed, or the kernel's
//     error), or cannot be had for a reason other than ErrNoQueue, c stays
//     and next runs at once, with the error in cont.MoveErr of its context.
//     A sleeper that the queue hands back before its time (its Close
//     returns it; a runtime that tears down has it among its leftovers)
//     sleeps on for the time left when it is run again, as below.
//   - No queue, but a home mailbox (the mailbox c came from, which a
//     pool's worker puts in its steps' contexts under
//     impl/internal/homekey's key): c waits on a timer of Go's runtime,
//     with no goroutine held meanwhile, and is sent back to that mailbox
//     when due, where a worker takes it and runs next. If that send fails
//     because the mailbox was closed for writing meanwhile, c is not lost:
//     it stays on the timer's goroutine, which runs next at once with the
//     failure in cont.MoveErr of its context (a *cont.MoveError wrapping
//     the mailbox's error), and then runs c on, step after step, until it
//     finishes or moves away. Into a full bounded mailbox the send waits
//     for room, on that goroutine.
//   - Neither: c sleeps in place. Sleep waits, before it returns, until d
//     has passed or ctx has ended, as a step that waits should (see
//     cont.Step). Once d has passed it returns next; if ctx ends first (an
//     interrupt, a halt, a freeze) it returns at once a step that sleeps
//     for the time left, so that the runner reaches its cooperative point
//     and the sleep survives the interruption: resumed, it sleeps on until
//     d after the first call, and not longer (in a queue or a home
//     mailbox if its new runner has one).
func Sleep(ctx context.Context, c *cont.C, d time.Duration, next cont.Step) cont.Step {
	return sleepUntil(ctx, c, time.Now().Add(d), d, next)
}

// sleepUntil is Sleep with its deadline: d is what is left of it.
func sleepUntil(ctx context.Context, c *cont.C, until time.Time, d time.Duration, next cont.Step) cont.Step {
	q, err := FromContext(ctx)
	switch {
	case err == nil:
		step := next
		if !q.controlled() { // a controlled queue's clock is virtual: no wall time to check
			step = onTime(until, next)
		}
		return c.Away(func(c *cont.C) error { _, err := q.After(d, c); return err }, step)
	case !errors.Is(err, ErrNoQueue):
		return c.Away(func(*cont.C) error { return err }, next)
	}
	if home, ok := ctx.Value(homekey.Key{}).(*cont.Box); ok && home != nil {
		return sleepAway(c, home, d, next)
	}
	if d > 0 && !pause(ctx, d) {
		return func(ctx context.Context, c *cont.C) cont.Step {
			return sleepUntil(ctx, c, until, time.Until(until), next)
		}
	}
	return next
}

// onTime returns the step a sleeper in a queue's timer resumes with: next
// if until has passed, as it has when the timer fired; else (the sleeper
// was handed back before its time: by the queue's Close, among a
// runtime's leftovers) a sleep for what is left, wherever it runs now. A
// sleeper whose timer was refused (cont.MoveErr) runs next at once.
func onTime(until time.Time, next cont.Step) cont.Step {
	return func(ctx context.Context, c *cont.C) cont.Step {
		if left := time.Until(until); left > 0 && cont.MoveErr(ctx) == nil {
			return sleepUntil(ctx, c, until, left, next)
		}
		return next(ctx, c)
	}
}

// sleepAway hands c to a timer of Go's runtime (afterFunc) which, d from
// now, sends c to home and resumes it there with next. The timer's
// function steps c with the step back, a Goto: so the send is cont's own,
// and a send that fails leaves c here, with next and the failure pending,
// which wake then runs.
func sleepAway(c *cont.C, home *cont.Box, d time.Duration, next cont.Step) cont.Step {
	back := func(ctx context.Context, c *cont.C) cont.Step { return c.Goto(home, next) }
	return c.Away(func(c *cont.C) error {
		afterFunc(d, func() { wake(c) })
		return nil
	}, back)
}

// Resuming returns the give of a cont.C.Away (or of seq's K.Away) that
// hands the continuation to a timer of Go's runtime (of the controlled
// scheduler's virtual clock under -tags sched) which, d from now, steps
// it on the timer's goroutine until it is gone: what a sequential body
// that must sleep where there is no event queue gives itself to, before
// it moves itself back home (seq.K.Sleep on a pool's worker). No
// goroutine is held meanwhile.
func Resuming(d time.Duration) func(c *cont.C) error {
	return func(c *cont.C) error {
		afterFunc(d, func() { wake(c) })
		return nil
	}
}

// wake runs c, whose next step sends it home, until it is gone: at once
// if the send succeeds, else once c has finished or moved away. No other
// goroutine holds c meanwhile: the runner let go of it when the give
// returned, and nobody else has it until the send.
func wake(c *cont.C) {
	ctx := context.Background()
	for !c.Step(ctx) {
	}
}

// Giving returns the give of a cont.C.Away (or of seq's K.Away) that hands
// the continuation to the event queue of whoever runs the step whose
// context is ctx (FromContext): register registers it there. It is what
// Await and Watch are made of (and Sleep, where there is a queue), for a
// wait of another shape.
func Giving(ctx context.Context, register func(q *Queue, c *cont.C) (ID, error)) func(c *cont.C) error {
	return func(c *cont.C) error {
		q, err := FromContext(ctx)
		if err != nil {
			return err
		}
		_, err = register(q, c)
		return err
	}
}

// stepCtx is the context RunReady gives a step: its queue, and the firing.
type stepCtx struct {
	context.Context
	q  *Queue
	rd Ready
}

type readyKey struct{}

func (s *stepCtx) Value(key any) any {
	switch key.(type) {
	case evqkey.Key:
		return s.q
	case readyKey:
		return s.rd
	}
	return s.Context.Value(key)
}

// Fired returns the firing that RunReady is stepping a continuation for,
// from the context of that step: which events held, which signals came.
func Fired(ctx context.Context) (Ready, bool) {
	r, ok := ctx.Value(readyKey{}).(Ready)
	return r, ok
}

// RunReady waits as Wait does (ctx ending breaks the wait too), then runs
// one step of each continuation handed out, with a context that Fired
// reads and that holds q (FromContext, for Await and Sleep), and settles
// it:
//
//   - a lent continuation (its registration repeats) is handed back with
//     Rearm if its step left it unfinished; if the step finished it or
//     moved it away (Step reported done), its registration is cancelled:
//     the continuation is no longer the queue's to resume;
//   - a continuation left unfinished and in no registration (a one-shot's
//     whose step did not register it again, a lent one whose step
//     cancelled its registration, or the queue closed meanwhile) is
//     returned in rest, for the caller to run on: none disappears.
//
// It returns Wait's error, or ctx's if ctx ended and nothing was ready. A
// panic in a step reaches the caller; the continuations handed out by the
// same Wait and not stepped yet are then lost to the queue, so a runner
// that must outlive panics steps what Wait returns itself.
func (q *Queue) RunReady(ctx context.Context, timeout time.Duration) (rest []*cont.C, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { q.Wake() })
		defer stop()
	}
	ready, err := q.Wait(nil, timeout)
	for _, rd := range ready {
		done := rd.C.Step(&stepCtx{ctx, q, rd})
		switch {
		case done && !rd.Ended:
			q.Cancel(rd.ID)
		case done:
		case !rd.Ended && q.Rearm(rd.ID) == nil:
		case !q.holds(rd.C):
			rest = append(rest, rd.C)
		}
	}
	if err == nil && len(ready) == 0 {
		err = ctx.Err()
	}
	return rest, err
}
