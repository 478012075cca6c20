package linearize_test

import (
	"context"
	"errors"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/pool/pooltest"
)

// badWaiter is a waiter dispatcher with a bug: when its step context ends
// in the middle of a job (a freeze, an interrupt, a halt), it drops the
// job in hand (drop); or it never reports the job in hand (so that the
// pool's Leftovers miss a job left in the middle by a halted worker).
func badWaiter(drop bool) pool.Dispatcher {
	return func(box *pool.Box) (*cont.C, func() []*cont.C) {
		var cur *cont.C
		w := cont.New(func(ctx context.Context, self *cont.C) cont.Step {
			if cur == nil {
				c, err := box.RecvContext(ctx)
				switch {
				case err == nil:
					cur = c
				case errors.Is(err, mailbox.ErrUnreadable):
					return nil
				default:
					return self.Next()
				}
			}
			if cur.Step(ctx) {
				cur = nil
				return self.Next()
			}
			if ctx.Err() != nil && drop {
				cur = nil // lost
			}
			return self.Next()
		})
		if !drop {
			return w, func() []*cont.C { return nil }
		}
		return w, func() []*cont.C { return []*cont.C{cur} }
	}
}

// The bug: a dispatcher that drops the job in hand when disturbed. The
// audit finds a job neither completed, nor left, nor in the mailbox.
func TestHarnessCatchesDispatcherThatDropsAJob(t *testing.T) {
	mustFail(t, pooltest.Scenario("drop", badWaiter(true)), illegal)
}

// The bug: a dispatcher that hides the job in hand from Leftovers. The
// audit finds a job neither completed, nor left, nor in the mailbox, once
// a worker stopped in the middle of one.
func TestHarnessCatchesDispatcherThatHidesItsJob(t *testing.T) {
	mustFail(t, pooltest.Scenario("hidden", badWaiter(false)), illegal)
}
