// Package seq writes continuations as straight-line Go: a body that moves
// between pools in the middle of an ordinary function.
//
//	c := seq.New(func(k *seq.K) {
//		fmt.Println("at home")
//		if err := k.Goto(away); err != nil { // the rest runs on away's pool
//			return
//		}
//		fmt.Println("away")
//		n, err := seq.ComeFrom(k, server, func(k *seq.K) int { return 42 })
//		fmt.Println("still away, with", n, err) // server's pool ran the body
//	})
//	home.Send(c)
//
// New returns an ordinary *cont.C: it runs under the same runtimes,
// dispatchers and pools as a step continuation, and mixes with them in one
// mailbox. Its body runs in a coroutine (iter.Pull), which switches
// goroutines without the scheduler: each step of the continuation resumes
// the body until its next operation (Goto, Coop, ComeFrom, NovelThread) or
// its end, and the operation then happens between two steps, where a step
// continuation's would. So the rules of spec/continuation.go hold for both
// forms alike: one goroutine at a time runs the body, a move copies
// nothing, a panic in the body fails the runtime that ran it.
//
// On a runtime with an OS thread of its own (rt.OSThread), the body runs
// on a helper goroutine, not on that thread: Go binds a coroutine made or
// resumed on a locked thread to that thread for good, and a continuation
// must stay free to move. Its steps are still that runtime's (the runtime
// waits for each, rt.FromContext names it); write a step continuation
// where the work must run on the pinned thread itself.
//
// The coroutine is made at the first step and ends with the body, which
// then lets go of everything it held. A body that never finishes keeps it
// (one parked goroutine, a few kilobytes) until its continuation is
// unreachable, when it is stopped: its pending operation then panics, so
// that its deferred calls run. Unreachable means handed back (a pool's
// Leftovers, a mailbox's Drain) and dropped; a parked body that itself
// holds its continuation, or a mailbox that still holds it, keeps both
// for as long as the program runs.
package seq

import (
	"context"
	"errors"
	"iter"
	"runtime"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/internal/homekey"
	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
)

// K is a sequential continuation's handle on itself, given to its body.
// Its methods must be called from the body only (they report
// ErrNotRunning otherwise).
type K struct {
	body  func(k *K)
	fn    cont.Step // k.step, made once
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool
	ctx   context.Context
	// owner is the goroutine that resumes the body (seam.Current, taken
	// before each resume), which the body's goroutine adopts while it
	// runs: under the controlled scheduler the body's seam calls are its
	// resumer's. Empty in an ordinary build.
	owner seam.Owner
	req   request
	err   error     // the result of the operation that suspended the body
	in    bool      // the body is running (not suspended in an operation)
	busy  seam.Bool // a goroutine is in step
	moved bool      // the last operation was a Goto
	// routes are the last two destinations' routes, reused by Goto.
	routes [2]route
	// cleanup stops the coroutine once the continuation is unreachable;
	// it is stopped itself when the body ends (see release).
	cleanup runtime.Cleanup
}

// route is a destination of Goto and its route there.
type route struct {
	box   *cont.Box
	route *cont.Route
}

type reqKind uint8

const (
	reqCoop reqKind = iota + 1
	reqGoto
	reqWait
	reqAway
)

// request is the operation a suspended body asked for.
type request struct {
	kind reqKind
	box  *cont.Box
	wait func(ctx context.Context) (err error, ok bool)
	give func(c *cont.C) error
}

// stopped unwinds a body whose coroutine is stopped.
type stopped struct{}

// New returns a continuation that runs body.
func New(body func(k *K)) *cont.C {
	k := &K{body: body}
	k.fn = k.step
	c := cont.New(k.fn)
	// k does not point to c, so c can become unreachable while its body
	// is parked; then stop the coroutine. The cleanup's argument, k, is
	// reachable from the runtime until the cleanup runs or is stopped, and
	// so is whatever the body captures: were c among it (a body that
	// names its own continuation, or a remote part whose call holds it),
	// c could never become unreachable, and k and all the body holds
	// would stay for good. So the cleanup is stopped as soon as the body
	// ends (release), and only a body parked for ever relies on it.
	k.cleanup = runtime.AddCleanup(c, func(k *K) {
		if k.stop != nil {
			k.owner = seam.Current() // no goroutine of a run: nothing to adopt
			k.stop()
		}
	}, k)
	return c
}

// release lets go of everything a finished body held: the cleanup, which
// no longer has a coroutine to stop, and the body with its coroutine.
func (k *K) release() {
	if knownbad.SeqKeepsFinished.Load() {
		return
	}
	k.cleanup.Stop()
	k.body, k.next, k.stop, k.yield = nil, nil, nil, nil
	k.routes = [2]route{}
}

// run is the coroutine: it runs the body on behalf of whoever resumed it
// (seam.Adopt), and lets go of that (seam.Drop) before each yield
// (suspend) and when it ends, however it ends: a return, a panic, a
// runtime.Goexit.
func (k *K) run(yield func(struct{}) bool) {
	seam.Adopt(k.owner)
	defer func() {
		seam.Drop()
		if v := recover(); v != nil {
			if _, ok := v.(stopped); !ok {
				panic(v)
			}
		}
	}()
	k.yield = yield
	k.body(k)
}

// step resumes the body until its next operation and carries that out.
func (k *K) step(ctx context.Context, c *cont.C) cont.Step {
	// busy pairs each step's entry (an acquire) with the previous step's
	// exit (a release): two goroutines stepping one continuation at once
	// is a programmer error, reported rather than let corrupt the body.
	if !k.busy.CompareAndSwap(false, true) {
		panic(ErrResumedTwice)
	}
	defer k.busy.Store(false)
	// Busy: a second runner stepping c now must find it so (seam.Point:
	// -tags chaos widens the window, -tags sched may let it in here).
	seam.Point()
	// A coroutine made on, or resumed from, a goroutine locked to its
	// thread is bound to that thread for good (Go's rule), and could not
	// move to another pool. So the coroutine is always made and resumed
	// from goroutines that are not locked: on a runtime with an OS thread
	// of its own, through a helper goroutine (see aside).
	onThread := locked(ctx)
	if k.next == nil {
		if onThread {
			aside(func() bool { k.next, k.stop = iter.Pull(k.run); return true })
		} else {
			k.next, k.stop = iter.Pull(k.run)
		}
	}
	for {
		if k.req.kind == reqWait {
			err, ok := k.req.wait(ctx)
			if !ok {
				return k.fn // ctx ended: wait again at the next step
			}
			k.err = err
		}
		if k.moved {
			k.err = cont.MoveErr(ctx) // nil where the Goto took c
		}
		k.req, k.moved = request{}, false
		k.ctx, k.in = ctx, true
		var more bool
		if onThread {
			more = aside(k.resume)
		} else {
			more = k.resume()
		}
		k.ctx, k.in = nil, false
		if !more {
			k.release()
			return nil
		}
		switch k.req.kind {
		case reqGoto:
			k.moved = true
			return c.GotoRoute(k.route(k.req.box))
		case reqAway:
			k.moved = true
			return c.Away(k.req.give, k.fn)
		case reqWait:
			continue // start the call in this step
		default:
			return k.fn
		}
	}
}

// locked reports whether the step whose context is ctx runs on a goroutine
// locked to its OS thread: one of a runtime spawned with rt.OSThread.
func locked(ctx context.Context) bool {
	r := rt.FromContext(ctx)
	return r != nil && r.OnOSThread()
}

// resume resumes the body on behalf of the calling goroutine, which the
// body adopts (see run), and reports whether it has more to do.
func (k *K) resume() bool {
	k.owner = seam.Current()
	_, more := k.next()
	return more
}

// aside runs f on a helper goroutine that is not locked to a thread, and
// waits for it; a panic in f comes back to the caller. The helper is
// started with seam.Go and waited for with seam.Await, so that under the
// controlled scheduler it is a goroutine of the run.
func aside(f func() bool) bool {
	var (
		result   bool
		panicked = true
		v        any
	)
	done := make(chan struct{})
	seam.Go(func() {
		// result, panicked and v are written before the close, and read
		// after the Await: the close orders them.
		defer func() {
			if panicked {
				v = recover()
			}
			seam.Close(done)
		}()
		result = f()
		panicked = false
	})
	seam.Await(done)
	if panicked {
		panic(v)
	}
	return result
}

// route returns the route to box, from the two last used if it is one of
// them: a body moving back and forth between two pools allocates nothing
// for its moves.
func (k *K) route(box *cont.Box) *cont.Route {
	for i := range k.routes {
		if k.routes[i].box == box && k.routes[i].route != nil {
			return k.routes[i].route
		}
	}
	k.routes[1] = k.routes[0]
	k.routes[0].box, k.routes[0].route = box, cont.NewRoute(box, k.fn)
	return k.routes[0].route
}

// suspend hands the request to the step and waits to be resumed.
func (k *K) suspend(r request) error {
	k.req = r
	k.err = nil
	seam.Drop()
	more := k.yield(struct{}{})
	seam.Adopt(k.owner) // whoever resumed it now (nobody's, if stopped)
	if !more {
		panic(stopped{})
	}
	return k.err
}

// Context returns the context of the step the body runs in: wait with it
// (for example a mailbox's RecvContext) and, when it ends, call Coop and
// try again, as a step continuation returns and resumes.
func (k *K) Context() context.Context {
	if !k.in {
		return nil
	}
	return k.ctx
}

// Goto moves the continuation to box: the rest of the body runs on
// whichever runtime receives it there. It returns nil once it has
// arrived; if box is closed for writing (or nil) the continuation stays
// where it was and Goto returns a *cont.MoveError.
func (k *K) Goto(box *cont.Box) error {
	if !k.in {
		return ErrNotRunning
	}
	return k.suspend(request{kind: reqGoto, box: box})
}

// Away hands the continuation to give, as cont.C.Away does, and returns
// once whoever give handed it to resumes it: nil, or a *cont.MoveError if
// give refused it (then it stayed where it was).
func (k *K) Away(give func(c *cont.C) error) error {
	if !k.in {
		return ErrNotRunning
	}
	return k.suspend(request{kind: reqAway, give: give})
}

// Sleep sleeps for d in the event queue of whoever runs the continuation
// (eventq.FromContext: a polling runtime's, or RunReady's), which is free
// meanwhile. On a pool's worker, which has no queue, it gives the
// continuation to a timer and, once d has passed, moves it back to the
// pool's mailbox (its step's home, impl/internal/homekey), holding no
// goroutine meanwhile; if that mailbox was closed meanwhile, Sleep
// returns the move's error and the body goes on where the timer woke it.
// It returns nil after d, or an error at once (wrapping ErrNoQueue where
// there is neither a queue nor a home mailbox).
func (k *K) Sleep(d time.Duration) error {
	ctx := k.Context()
	if _, err := eventq.FromContext(ctx); errors.Is(err, eventq.ErrNoQueue) {
		if home, ok := ctx.Value(homekey.Key{}).(*cont.Box); ok && home != nil {
			if err := k.Away(eventq.Resuming(d)); err != nil {
				return err
			}
			return k.Goto(home)
		}
	}
	return k.Away(eventq.Giving(ctx, func(q *eventq.Queue, c *cont.C) (eventq.ID, error) { return q.After(d, c) }))
}

// Await waits, one-shot, for events on fd in the event queue of whoever
// runs the continuation, which is free meanwhile. It returns nil once fd
// is ready, or an error at once if it cannot wait (no queue, a bad fd or
// event set).
func (k *K) Await(fd int, events eventq.Events) error {
	return k.Away(eventq.Giving(k.Context(), func(q *eventq.Queue, c *cont.C) (eventq.ID, error) {
		return q.Register(fd, events|eventq.OneShot, c)
	}))
}

// Coop yields to whoever runs the continuation, which may halt or freeze
// it here before the body goes on.
func (k *K) Coop() error {
	if !k.in {
		return ErrNotRunning
	}
	return k.suspend(request{kind: reqCoop})
}

// ComeFrom runs body on server's pool, as a sequential continuation of its
// own, while k waits where it is, and returns body's result there: the Nim
// original's comeFrom, an RPC whose server-side half is written inline. The
// error is a *cont.MoveError if server cannot take it, and
// ErrRemotePanicked if body panicked (which also fails the runtime
// that ran it).
func ComeFrom[T any](k *K, server *cont.Box, body func(k *K) T) (T, error) {
	return call(k, body, func(cl *cont.Call[T]) func(context.Context, *cont.C) error { return cont.ToBox(server) })
}

// NovelThread runs body on a runtime spawned for it, of the kind of the
// runtime running k (an OS thread if that is one), waits for it where k
// is, joins that runtime and returns body's result and the runtime's
// error. Outside a runtime it returns ErrNoRuntime at once.
func NovelThread[T any](k *K, body func(k *K) T) (T, error) {
	return call(k, body, (*cont.Call[T]).ToNovel)
}

func call[T any](k *K, body func(k *K) T, how func(*cont.Call[T]) func(context.Context, *cont.C) error) (T, error) {
	var v T
	if !k.in {
		return v, ErrNotRunning
	}
	cl := cont.NewCall(func(result func(T)) *cont.C {
		return New(func(k *K) { result(body(k)) })
	})
	send := how(cl)
	err := k.suspend(request{kind: reqWait, wait: func(ctx context.Context) (error, bool) {
		var (
			err error
			ok  bool
		)
		v, err, ok = cl.Wait(ctx, send)
		return err, ok
	}})
	return v, err
}
