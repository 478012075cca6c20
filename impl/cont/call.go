package cont

import (
	"context"
	"errors"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/seam"
)

// A Spawner starts a continuation on a runtime of its own, for
// NovelThread: the runtimes of impl/rt give one to their steps, as the
// value of the step context's SpawnerKey. join waits for that runtime to
// end and returns its error.
type Spawner interface {
	SpawnNovel(c *C) (join func() error, err error)
}

// SpawnerKey is the context key under which a step's context holds the
// Spawner of the runtime running it.
type SpawnerKey struct{}

// Call is a remote part in flight: a continuation sent to run elsewhere,
// and what the caller waits on. It is what ComeFrom and NovelThread build
// on, and what impl/seq uses for its sequential forms; a caller that
// starts one must wait for it with Wait before reading its result.
type Call[T any] struct {
	child *C
	done  chan struct{} // closed by seam.Close once the child has finished
	v     T
	err   error
	sent  bool
	join  func() error
}

// NewCall makes a call whose remote part is the continuation body makes:
// body gets a function to record the result with, which the remote part
// calls before it finishes. If the remote part finishes without recording
// a result, or panics, the caller resumes with ErrRemotePanicked (a
// panic also fails the runtime it happened on, as any step's does).
func NewCall[T any](body func(result func(T)) *C) *Call[T] {
	cl := &Call[T]{done: make(chan struct{})}
	recorded := false
	cl.child = body(func(v T) {
		if !recorded {
			recorded = true
			cl.v = v
		}
	})
	// The child's steps are wrapped, so that after each step a child that
	// has finished (or panicked) signals the caller; a step that ends in a
	// Goto has its move rewrapped (wrapMove), so that the signal follows
	// the child wherever it goes. The close of done is the last thing the
	// child does with cl, and the caller reads cl only after it: a release
	// paired with the caller's seam.Await2.
	signal := func() {
		if !recorded && cl.err == nil {
			cl.err = ErrRemotePanicked
		}
		// The result is written, the caller not yet told: a caller whose
		// context ends now must not read it (seam.Point, for -tags chaos
		// and -tags sched).
		seam.Point()
		seam.Close(cl.done)
	}
	var wrap func(s Step) Step
	wrap = func(s Step) Step {
		if s == nil { // finishing where it arrives
			return func(context.Context, *C) Step { signal(); return nil }
		}
		return func(ctx context.Context, c *C) Step {
			entry := c.fn // this step, or what runs it (a failed move's step)
			finished := false
			defer func() {
				if !finished { // the step panicked
					cl.err = ErrRemotePanicked
					signal()
				}
			}()
			next := s(ctx, c)
			finished = true
			if !same(c.fn, entry) { // a Goto: wrap the step it resumes with
				wrapMove(c, wrap)
				return next
			}
			if next == nil {
				signal()
				return nil
			}
			return wrap(next)
		}
	}
	cl.child.fn = wrap(cl.child.fn)
	return cl
}

// Wait is a step-body helper: it sends the call's child with send (once),
// then waits for the child to finish, with ctx. It reports ok once the
// result is in, and otherwise (ctx ended, or the send is retried) false:
// call it again from the next step. A send that fails for good ends the
// call with that error.
func (cl *Call[T]) Wait(ctx context.Context, send func(ctx context.Context, child *C) error) (v T, err error, ok bool) {
	if !cl.sent {
		// Hand the child on for good, before the send: the remote part's
		// result function points to cl, so were cl to keep the child, a
		// sequential child parked for ever would reach itself from its own
		// stack, and never be found unreachable and stopped (see
		// impl/seq). Before the send, because a send can be the last
		// thing a runner does (a controlled run that ends there).
		child := cl.child
		if !knownbad.CallKeepsChild.Load() {
			cl.child = nil
		}
		if err := send(ctx, child); err != nil {
			cl.child = child // not sent: keep it for the next try
			if ctx.Err() != nil || errors.Is(err, mailbox.ErrInterrupted) {
				return v, nil, false // cut short: send again next time
			}
			return v, err, true
		}
		cl.sent = true
		// Sent: the child may run, and finish, before the caller waits.
		seam.Point()
	}
	if seam.Await2(cl.done, ctx.Done()) == 1 {
		return v, nil, false
	}
	err = cl.err
	if cl.join != nil {
		err = errors.Join(err, cl.join())
		cl.join = nil
	}
	return cl.v, err, true
}

// ToBox returns a send function for Wait that sends the child to box.
func ToBox(box *Box) func(context.Context, *C) error {
	return func(ctx context.Context, child *C) error {
		if box == nil {
			return &MoveError{Err: mailbox.ErrNil}
		}
		if err := box.SendContext(ctx, child); err != nil {
			if errors.Is(err, mailbox.ErrUnwritable) {
				return &MoveError{Err: err}
			}
			return err
		}
		return nil
	}
}

// ToNovel returns a send function for Wait that starts the child on a
// fresh runtime from the Spawner in the step's context; Wait joins that
// runtime once the child has finished.
func (cl *Call[T]) ToNovel() func(context.Context, *C) error {
	return func(ctx context.Context, child *C) error {
		sp, _ := ctx.Value(SpawnerKey{}).(Spawner)
		if sp == nil {
			return ErrNoRuntime
		}
		join, err := sp.SpawnNovel(child)
		if err != nil {
			return err
		}
		cl.join = join
		return nil
	}
}

// ComeFrom returns a step that runs remote on server's pool, as a
// continuation of its own, while the caller waits where it is (with its
// step's context, so that it can be halted or frozen meanwhile), and then
// goes on with then, given remote's result: the step form of the Nim
// original's comeFrom. err is a *MoveError if server could not take the
// remote part, ErrRemotePanicked if it panicked.
func ComeFrom[T any](server *Box, remote func(ctx context.Context) T, then func(v T, err error) Step) Step {
	cl := oneStep(remote)
	return cl.waitStep(ToBox(server), then)
}

// NovelThread returns a step that runs remote on a runtime spawned for it,
// of the kind of the runtime running the caller (see impl/rt), while the
// caller waits where it is; once remote has finished the runtime is
// joined, and the caller goes on with then, given remote's result and any
// error of that runtime. Outside a runtime it goes on at once with
// ErrNoRuntime.
func NovelThread[T any](remote func(ctx context.Context) T, then func(v T, err error) Step) Step {
	cl := oneStep(remote)
	return cl.waitStep(cl.ToNovel(), then)
}

// waitStep returns the step that Waits for cl (again at each step, while
// it is not in) and then goes on with then.
func (cl *Call[T]) waitStep(send func(context.Context, *C) error, then func(v T, err error) Step) Step {
	return func(ctx context.Context, c *C) Step {
		if v, err, ok := cl.Wait(ctx, send); ok {
			return then(v, err)
		}
		return c.Next()
	}
}

// oneStep makes the call of a remote part that is one function.
func oneStep[T any](remote func(ctx context.Context) T) *Call[T] {
	return NewCall(func(result func(T)) *C {
		return New(func(ctx context.Context, c *C) Step {
			result(remote(ctx))
			return nil
		})
	})
}
