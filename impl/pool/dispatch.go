package pool

import (
	"context"
	"errors"
	"slices"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/internal/homekey"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/seam"
)

// A Dispatcher makes the continuation that a worker runs: one that takes
// continuations from box and runs them. inFlight reports, once the worker
// has torn down, the continuations it had taken from box and not finished:
// the one it was in the middle of, if any, and any it had taken ahead and
// not started. It must not be called before.
//
// A dispatcher gives each step it runs a context whose Value answers
// homekey.Key{} with box, so that a step can send its continuation back
// to the mailbox it came from (eventq.Sleep on a worker does).
type Dispatcher func(box *Box) (worker *cont.C, inFlight func() []*cont.C)

// Waiter is the dispatcher that runs continuation after continuation from
// its mailbox until the mailbox can never yield again (unreadable: closed
// for reading, or closed for writing and drained). When the mailbox holds
// many, it takes up to 64 at a time (mailbox.TryRecvMany: one atomic step
// for all of them, instead of one per continuation, which is most of what
// two workers draining one mailbox otherwise fight over), and gives back
// those it has not started as soon as one of them needs more than one step
// or its runtime wants the step back, so that no continuation waits
// behind a long one while another worker could run it. Given back, they go
// to the end of the mailbox: a pool keeps no order among continuations.
func Waiter(box *Box) (*cont.C, func() []*cont.C) { return dispatch(box, false) }

// Runner is the dispatcher that runs exactly one continuation from its
// mailbox, then ends; it ends at once if the mailbox can never yield one.
func Runner(box *Box) (*cont.C, func() []*cont.C) { return dispatch(box, true) }

// batch is how many continuations a waiter runs to completion in one step
// of its own, at most, when each finishes in one step: it saves the
// runtime's turn (its flag reads and panic guard) per continuation, while
// keeping the time between two of the worker's cooperative points short.
// It is also the most a waiter takes from its mailbox at once.
const batch = 64

// homeCtx is the context a dispatcher gives the steps it runs: the
// worker's own step context, whose Value also answers homekey.Key with the
// worker's mailbox. A dispatcher makes one when its runtime's context
// changes (only after a control operation ended the last), not one per
// step; each is immutable once made, so that a step may keep it.
type homeCtx struct {
	context.Context
	box *Box
}

// Value answers homekey.Key{} with the mailbox, and any other key as the
// worker's context does.
func (h *homeCtx) Value(key any) any {
	if _, ok := key.(homekey.Key); ok {
		return h.box
	}
	return h.Context.Value(key)
}

// home returns a homeCtx of ctx and box: h if it is one of ctx, a new one
// otherwise. Contexts are compared as interfaces: a runtime's are
// pointers.
func home(h *homeCtx, ctx context.Context, box *Box) *homeCtx {
	if h != nil && h.Context == ctx {
		return h
	}
	return &homeCtx{Context: ctx, box: box}
}

func dispatch(box *Box, once bool) (*cont.C, func() []*cont.C) {
	// cur is the continuation in hand between two steps of the worker, or
	// while a step of it panics; within a step the one in hand is c, kept
	// in a local so that a continuation that finishes in one step costs no
	// pointer stores to the heap. ahead[next:n] are the continuations taken
	// from box and not started. All of them are the worker's own: its
	// steps run one at a time, and inFlight reads them only once the
	// worker is Dead (its runtime's Dead flag orders them).
	var (
		cur     *cont.C
		ahead   [batch]*cont.C
		next, n int
		hctx    *homeCtx
	)
	// giveBack returns the continuations taken ahead to box, if it takes
	// them (it may not: closed, paused or full); those it does not stay.
	giveBack := func() {
		if next == n {
			return
		}
		seam.Point() // other workers may be waiting in box for these
		if k, _ := box.TrySendMany(ahead[next:n]); k > 0 {
			clear(ahead[next : next+k])
			next += k
		}
	}
	w := cont.New(func(ctx context.Context, self *cont.C) cont.Step {
		c := cur
		defer func() {
			if c != nil { // a step of c panicked, or c yields: keep it in hand
				cur = c
			}
		}()
		cur = nil
		hctx = home(hctx, ctx, box)
		for range batch {
			if c == nil && next == n && !once {
				next = 0
				n, _ = box.TryRecvMany(ahead[:])
			}
			if c == nil && next < n {
				c, ahead[next] = ahead[next], nil
				next++
			}
			if c == nil {
				got, err := box.RecvContext(ctx)
				switch {
				case err == nil:
					c = got
				case errors.Is(err, mailbox.ErrUnreadable):
					return nil // nothing can ever come
				default:
					return self.Next() // the worker's step context ended, or an interrupt: yield
				}
			}
			// c is in hand: a Halt, Freeze or Eject of the worker now
			// must find it in hand after this step (inFlight).
			seam.Point()
			// One step of the work, then the worker's cooperative point,
			// unless the work finished and the runtime does not want its
			// step back: every control operation (Halt, Freeze, Interrupt,
			// Cancel, Eject) ends ctx after setting its flag, so one that
			// comes before this check ends the step here, and one that
			// comes after it is seen by the runtime when this step returns,
			// as between any two steps. A continuation that needs more than
			// one step always gets the cooperative point after each.
			if !c.Step(hctx) {
				giveBack()
				return self.Next()
			}
			c = nil
			if once {
				return nil
			}
			if ctx.Err() != nil {
				giveBack()
				break
			}
		}
		return self.Next()
	})
	return w, func() []*cont.C {
		left := slices.Clone(ahead[next:n])
		if cur != nil {
			left = append([]*cont.C{cur}, left...)
		}
		return left
	}
}
