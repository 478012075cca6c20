// Package cont defines the continuation that runtimes, pools and
// dispatchers run: a heap object holding its next step. Running a
// continuation means calling its steps one after another until a step
// returns none; between two steps is a cooperative point, where whoever
// runs it (a runtime, a dispatcher) may halt, freeze or move it.
//
// A continuation is a concrete pointer, *C, so that it fits one slot of a
// mailbox or queue; an empty one is one word on the heap. Its state lives
// where Go keeps state: in the closure of its steps, or in the struct
// whose method values they are.
//
//	count := 0
//	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
//		count++
//		if count == 3 {
//			return nil // finished
//		}
//		return c.Next() // the same step again
//	})
//	c.Run(context.Background())
//
// A continuation must be run by one goroutine at a time; moving it from one
// runtime to another moves that right with it.
package cont

import (
	"context"
	"errors"
	"unsafe"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/seam"
)

// A Step does one step of a continuation's work and returns the step to
// run next, or nil when the continuation is finished.
//
// ctx is the context of this step only: whoever runs the continuation ends
// it when it wants the continuation to reach a cooperative point (a halt,
// a freeze, an interrupt). A step that waits should wait with ctx (for
// example a mailbox's RecvContext) and, when ctx ends, return the step to
// resume with; a step that does not wait may ignore ctx. Do not keep ctx
// after the step returns.
type Step func(ctx context.Context, c *C) Step

// C is a continuation: its next step, nil once it has finished. The zero
// value is a finished continuation. An empty continuation is one word on
// the heap: its step. A move in progress lives in that step too (see
// Goto), so that continuations that never move pay nothing for it.
type C struct {
	fn Step
}

// Box is a mailbox of continuations: what pools take their work from, and
// where Goto sends a continuation.
type Box = mailbox.Mailbox[C]

// New returns a continuation whose first step is fn. A nil fn makes a
// continuation that is already finished.
func New(fn Step) *C { return &C{fn: fn} }

// Done reports whether c has finished: it has no next step.
func (c *C) Done() bool { return c.fn == nil }

// Next returns the step c will run next: what a step returns to be run
// again.
func (c *C) Next() Step { return c.fn }

// Step runs one step of c with ctx and reports whether the caller is done
// with c: c has finished, or it has moved to the mailbox a step named in a
// Goto and belongs to whoever receives it there, in which case the caller
// must not touch it again. If a move is pending (its send was cut short by
// ctx), Step retries the move instead of running a step. Step does nothing
// and reports true if c had already finished. A panic in the step reaches
// the caller, and c keeps the step that panicked.
//
// One goroutine at a time may step c: a runner gets c from a mailbox (or
// from whoever made it) and hands it on through a mailbox, whose send and
// receipt order the two runners' accesses. Stepping c from two goroutines
// at once is a data race, which the race detector reports; sequential
// continuations (impl/seq) also report it as seq.ErrResumedTwice.
func (c *C) Step(ctx context.Context) (done bool) {
	fn := c.fn
	if fn == nil {
		return true
	}
	next := fn(ctx, c)
	// A step does not write c.fn, except through Goto, which stores a
	// move there: a different func value from fn (each move's is made
	// afresh), which is how Step knows. Step then clears c.fn, which tells
	// the move it is asked to carry itself out, rather than run as a step.
	if !same(c.fn, fn) {
		mv := c.fn
		c.fn = nil
		return mv(ctx, c) == nil
	}
	c.fn = next
	return next == nil
}

// same reports whether a and b are the same func value: the same closure
// object, or the same function without one. A func value is one pointer
// (to its closure, or to a static one for a plain function); comparing
// the pointers is what the language does not let == do.
func same(a, b Step) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a)) == *(*unsafe.Pointer)(unsafe.Pointer(&b))
}

// moveTo returns the step a Goto stores in c.fn: the move itself, one
// closure holding where to and the step to resume with.
//
// Called by Step, with c.fn cleared, it carries the move out: it stores
// next, sends c, and returns nil once c is gone, after which neither it
// nor Step touches c (the send, a release, orders every write to c before
// it with the receiver's receipt, an acquire). If the send fails it
// leaves in c.fn what must run next and returns notSent: a fresh move, to
// retry, if the step's context ended or an interrupt came; the step next
// with the failure in its context (MoveErr) if box is closed for writing.
//
// Run as a step, as when Step retries a pending move, it re-arms: it
// stores a fresh copy of itself, which Step sees as a Goto.
func moveTo(box *Box, next Step) Step {
	return func(ctx context.Context, c *C) Step {
		if q, ok := ctx.(*rewrap); ok { // see wrapMove
			c.fn = moveTo(box, q.f(next))
			return notSent
		}
		if c.fn != nil {
			c.fn = moveTo(box, next)
			return notSent
		}
		c.fn = next
		err := mailbox.ErrNil
		if box != nil {
			err = box.SendContext(ctx, c)
		}
		if err == nil {
			// Published: the receiver may take c and step it now, while
			// this runner is still on its way out of Step. A runner that
			// touched c after here would race with it (seam.Point: -tags
			// chaos widens the window, -tags sched lets the receiver go
			// first). The test of the constants is for the ordinary
			// build: where moveTo is inlined, the compiler copies this
			// closure and leaves the calls in the copy uninlined, so the
			// point itself must compile to nothing there.
			if seam.Enabled || chaos.Enabled {
				seam.Point()
			}
			return nil
		}
		if errors.Is(err, mailbox.ErrUnwritable) || errors.Is(err, mailbox.ErrNil) {
			c.fn = failed(&MoveError{Err: err}, next)
		} else {
			c.fn = moveTo(box, next)
		}
		return notSent
	}
}

// rewrap is the context with which wrapMove asks a move to wrap the step
// it resumes with.
type rewrap struct {
	context.Context
	f func(Step) Step
}

// wrapMove replaces the move pending in c.fn (stored there by a Goto
// during a step that has just returned) by one that resumes with f(next)
// instead of next: how a wrapper of a continuation's steps (see NewCall)
// keeps wrapping them across a Goto.
func wrapMove(c *C, f func(Step) Step) {
	c.fn(&rewrap{f: f}, c)
}

// notSent is what a move returns when the continuation is still here.
func notSent(context.Context, *C) Step { return nil }

// failed returns a step that runs next with err in its context.
func failed(err error, next Step) Step {
	return func(ctx context.Context, c *C) Step {
		return next(&moveErrCtx{ctx, err}, c)
	}
}

type moveErrKey struct{}

type moveErrCtx struct {
	context.Context
	err error
}

func (e *moveErrCtx) Value(key any) any {
	if _, ok := key.(moveErrKey); ok {
		return e.err
	}
	return e.Context.Value(key)
}

// MoveErr returns why the Goto that came just before the step whose
// context ctx is failed (a *MoveError), or nil: the step a Goto names runs
// where the continuation is when the move cannot happen, and this is how
// it tells.
func MoveErr(ctx context.Context) error {
	if e, ok := ctx.(*moveErrCtx); ok {
		return e.err
	}
	return nil
}

// Goto asks for c to be sent to box once the current step returns, and
// returns next, the step c resumes with wherever it is received: a step
// ends with return c.Goto(box, next). The runner then no longer holds c.
// If box is closed for writing (or nil), c stays, next runs where c is,
// and MoveErr of its context reports a *MoveError.
func (c *C) Goto(box *Box, next Step) Step {
	c.fn = moveTo(box, next)
	return next
}

// A Route is a Goto prepared once for many moves: a destination and the
// step to resume with there. GotoRoute moves a continuation along it
// without allocating (Goto allocates the move each time). A Route holds
// no state of any one continuation, so many may take it at once.
type Route struct {
	move Step
}

// NewRoute returns the route to box, resuming with next. A nil box makes
// a route whose every move fails with a *MoveError.
func NewRoute(box *Box, next Step) *Route {
	return &Route{move: moveTo(box, next)}
}

// GotoRoute is Goto along r: a step ends with return c.GotoRoute(r).
func (c *C) GotoRoute(r *Route) Step {
	c.fn = r.move
	return nil // Step carries out the move it finds in c.fn
}

// Away is Goto's general form: it asks for c to be handed to give once
// the current step returns, and returns next, the step c resumes with
// when its new holder steps it: a step ends with return c.Away(give,
// next). give puts c somewhere (an event queue, a list of waiters); it
// runs after the step has returned, on the runner's goroutine, with c's
// next step already set to next, and once it returns nil, c is its new
// holder's and the runner no longer holds it (Step reports done). If give
// returns an error, c stays, next runs where c is, and MoveErr of its
// context reports a *MoveError wrapping the error.
func (c *C) Away(give func(c *C) error, next Step) Step {
	c.fn = awayTo(give, next)
	return next
}

// awayTo returns the step Away stores in c.fn, carried out by Step as a
// move is (see moveTo). Unlike a send, a give is never left pending: it
// either takes c or fails for good.
func awayTo(give func(*C) error, next Step) Step {
	return func(ctx context.Context, c *C) Step {
		if q, ok := ctx.(*rewrap); ok { // see wrapMove
			c.fn = awayTo(give, q.f(next))
			return notSent
		}
		if c.fn != nil { // run as a step: re-arm
			c.fn = awayTo(give, next)
			return notSent
		}
		c.fn = next
		// Once give has returned nil, c may already be running elsewhere:
		// nothing here touches it again.
		if err := give(c); err != nil {
			c.fn = failed(&MoveError{Err: err}, next)
			return notSent
		}
		if seam.Enabled || chaos.Enabled { // see moveTo
			seam.Point() // given: its new holder may step c now
		}
		return nil
	}
}

// Coop returns next: a step that ends with return c.Coop(next) yields to
// whoever runs c, which may halt or freeze it at this cooperative point
// before next runs. Every return from a step is such a point; Coop names
// it.
func (c *C) Coop(next Step) Step { return next }

// MoveError is the error of a Goto that could not send its continuation,
// or of an Away whose give refused it.
// It matches ErrMove and wraps the mailbox's (or give's) error.
type MoveError struct {
	Err error
}

func (e *MoveError) Error() string { return "cont: move: " + e.Err.Error() }

// Unwrap returns the underlying error: the mailbox's, or give's.
func (e *MoveError) Unwrap() error { return e.Err }

// Is reports whether target is ErrMove.
func (e *MoveError) Is(target error) bool { return target == ErrMove }

// Run runs c's steps with ctx until it finishes or moves away, or until
// ctx ends between two steps, and reports whether it finished or moved.
func (c *C) Run(ctx context.Context) bool {
	for !c.Step(ctx) {
		if ctx.Err() != nil {
			return false
		}
	}
	return true
}

// A Maker makes continuations in blocks of BlockSize, one allocation per
// block instead of one per continuation: for a goroutine that makes many
// short-lived continuations, such as a producer feeding a pool. A block
// stays in memory while any of its continuations is reachable, so a
// continuation kept long after its neighbours are gone holds up to
// BlockSize*8 bytes; use New for those. The zero value is ready to use; a
// Maker must not be used by two goroutines at once (give each its own).
type Maker struct {
	block *[BlockSize]C
	next  int // the first unused continuation of block
}

// BlockSize is how many continuations a Maker allocates at once.
const BlockSize = 64

// New returns a continuation whose first step is fn, as New does.
func (m *Maker) New(fn Step) *C {
	if m.block == nil || m.next == BlockSize {
		m.block, m.next = new([BlockSize]C), 0
	}
	c := &m.block[m.next]
	m.next++
	c.fn = fn
	return c
}
