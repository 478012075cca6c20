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

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/spec"
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
// value is a finished continuation. An empty continuation is 16 bytes on
// the heap: its step, and a pointer to the state of a move, made on its
// first Goto.
type C struct {
	fn Step
	x  *moveState
}

// moveState is what a continuation that moves carries: the mailbox a step
// asked to go to, until it has gone, and why the last move failed, for the
// step after it.
type moveState struct {
	dest *Box
	err  error
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
// continuations (impl/seq) also report it as spec.ErrResumedTwice.
func (c *C) Step(ctx context.Context) (done bool) {
	if c.x != nil && c.x.dest != nil {
		return c.move(ctx)
	}
	if c.fn == nil {
		return true
	}
	c.fn = c.fn(ctx, c)
	if c.x != nil {
		c.x.err = nil // seen by the step that followed the failure
		if c.x.dest != nil {
			return c.move(ctx)
		}
	}
	return c.fn == nil
}

// move sends c to the mailbox a step asked for. The send hands c over:
// the receiver may step c at once, so c is not touched after a send that
// succeeded; the send (a release) orders every write to c before it with
// the receiver's receipt (an acquire).
func (c *C) move(ctx context.Context) bool {
	box := c.x.dest
	c.x.dest = nil // before the send: the receiver owns c from then on
	err := box.SendContext(ctx, c)
	if err == nil {
		return true
	}
	// Not sent: c is still the caller's.
	if errors.Is(err, mailbox.ErrUnwritable) || errors.Is(err, mailbox.ErrNil) {
		c.x.err = &MoveError{Err: err}
	} else {
		// ctx ended or the send was interrupted: the move stays pending,
		// retried by the next Step.
		c.x.dest = box
	}
	return false
}

// Err reports why the last Goto of c failed, to the step that runs after
// the failure (the step the Goto named, run where c still is); nil
// otherwise.
func (c *C) Err() error {
	if c.x == nil || c.x.err == nil {
		return nil
	}
	return c.x.err
}

// Goto asks for c to be sent to box once the current step returns, and
// returns next, the step c resumes with wherever it is received: a step
// ends with return c.Goto(box, next). The runner then no longer holds c.
// If box is closed for writing (or nil), c stays, next runs where c is,
// and c.Err() reports a *MoveError.
func (c *C) Goto(box *Box, next Step) Step {
	if c.x == nil {
		c.x = new(moveState)
	}
	if box == nil {
		c.x.err = &MoveError{Err: mailbox.ErrNil}
		return next
	}
	c.x.dest = box
	return next
}

// Coop returns next: a step that ends with return c.Coop(next) yields to
// whoever runs c, which may halt or freeze it at this cooperative point
// before next runs. Every return from a step is such a point; Coop names
// it.
func (c *C) Coop(next Step) Step { return next }

// MoveError is the error of a Goto that could not send its continuation.
// It matches spec.ErrMove and wraps the mailbox's error.
type MoveError struct {
	Err error
}

func (e *MoveError) Error() string { return "cont: goto: " + e.Err.Error() }

// Unwrap returns the mailbox's error.
func (e *MoveError) Unwrap() error { return e.Err }

// Is reports whether target is spec.ErrMove.
func (e *MoveError) Is(target error) bool { return target == spec.ErrMove }

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
	block []C
}

// BlockSize is how many continuations a Maker allocates at once.
const BlockSize = 64

// New returns a continuation whose first step is fn, as New does.
func (m *Maker) New(fn Step) *C {
	if len(m.block) == 0 {
		m.block = make([]C, BlockSize)
	}
	c := &m.block[0]
	m.block = m.block[1:]
	c.fn = fn
	return c
}
