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

import "context"

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
// value is a finished continuation.
type C struct {
	fn Step
}

// New returns a continuation whose first step is fn. A nil fn makes a
// continuation that is already finished.
func New(fn Step) *C { return &C{fn: fn} }

// Done reports whether c has finished: it has no next step.
func (c *C) Done() bool { return c.fn == nil }

// Next returns the step c will run next: what a step returns to be run
// again.
func (c *C) Next() Step { return c.fn }

// Step runs one step of c with ctx and reports whether c has then
// finished. It does nothing and reports true if c had already finished. A
// panic in the step reaches the caller, and c keeps the step that
// panicked.
func (c *C) Step(ctx context.Context) (done bool) {
	if c.fn == nil {
		return true
	}
	c.fn = c.fn(ctx, c)
	return c.fn == nil
}

// Run runs c's steps with ctx until it finishes, or until ctx ends
// between two steps, and reports whether it finished.
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
