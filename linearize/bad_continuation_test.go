package linearize_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/cont/conttest"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/spec"
)

// contBugs choose how badContDispatcher breaks the rules of
// spec/continuation.go. Each bug is written so that the race detector
// sees no data race (every access to a continuation it breaks is ordered
// by a lock, or made on a copy): the continuation campaign's own checks
// must find it.
type contBugs struct {
	// stepAfterMove: after a continuation's Step reports done because it
	// moved (a Goto sent it on), run one more step of it anyway, under a
	// lock per continuation that its receiver takes too.
	stepAfterMove bool
	// dropReturning: drop a continuation that arrives at a pool where it
	// ran before (it moved away and came back).
	dropReturning bool
	// duplicateStep: the first time a continuation is received, hand its
	// next step to another worker of the pool, on a scratch continuation,
	// and run it here too, at the same time.
	duplicateStep bool
}

// badContDispatcher returns a waiter dispatcher with bugs: it takes
// continuations from its box and steps each until done, returning to its
// runtime after every step. Without bugs it is a correct, plain waiter.
// Make a fresh one for each round: its pools share its state.
func badContDispatcher(bugs contBugs) pool.Dispatcher {
	type boxed struct {
		box *pool.Box
		c   weak.Pointer[cont.C] // weak: a dropped continuation can be collected
	}
	var (
		locks sync.Map // weak.Pointer[cont.C] → *sync.Mutex
		seen  sync.Map // boxed, or weak.Pointer[cont.C] for duplicateStep
	)
	lock := func(c *cont.C) *sync.Mutex {
		mu, _ := locks.LoadOrStore(weak.Make(c), new(sync.Mutex))
		return mu.(*sync.Mutex)
	}
	return func(box *pool.Box) (*cont.C, func() []*cont.C) {
		var cur *cont.C
		w := cont.New(func(ctx context.Context, self *cont.C) cont.Step {
			if cur == nil {
				c, err := box.RecvContext(ctx)
				switch {
				case err == nil:
				case errors.Is(err, mailbox.ErrUnreadable):
					return nil
				default:
					return self.Next()
				}
				if bugs.dropReturning {
					if _, again := seen.LoadOrStore(boxed{box, weak.Make(c)}, true); again {
						return self.Next() // dropped: it came back
					}
				}
				if bugs.duplicateStep {
					if _, again := seen.LoadOrStore(weak.Make(c), true); !again {
						duplicate(box, c, &seen)
					}
				}
				cur = c
			}
			c := cur
			var done bool
			if bugs.stepAfterMove {
				mu := lock(c)
				mu.Lock()
				done = c.Step(ctx)
				if done && !c.Done() {
					c.Step(ctx) // it moved: one more step of it, where it no longer is
				}
				mu.Unlock()
			} else {
				done = c.Step(ctx)
			}
			if done {
				cur = nil
			}
			return self.Next()
		})
		return w, func() []*cont.C { return []*cont.C{cur} }
	}
}

// duplicate sends to box a continuation that runs c's next step once, on
// a scratch continuation (so that a Goto in it moves nothing), and waits
// a little for another worker to start it, so that the two runs of the
// step overlap.
func duplicate(box *pool.Box, c *cont.C, seen *sync.Map) {
	s := c.Next()
	if s == nil {
		return
	}
	started := make(chan struct{})
	dup := cont.New(func(ctx context.Context, d *cont.C) cont.Step {
		close(started)
		s(ctx, cont.New(nil))
		return nil
	})
	seen.Store(weak.Make(dup), true) // not duplicated in turn
	if box.TrySend(dup) != spec.Delivered {
		return
	}
	select {
	case <-started:
	case <-time.After(20 * time.Millisecond): // no free worker: it runs later
	}
}

// contRounds is how many rounds a known-bad dispatcher gets to be caught.
const contRounds = 200

// mustCatchCont runs rounds of the continuation campaign on bugs, each
// round with a fresh dispatcher, until one fails in a way want accepts,
// and fails t if none does.
func mustCatchCont(t *testing.T, name string, bugs contBugs, want func(conttest.Result) bool) {
	t.Helper()
	for round := range contRounds {
		r := conttest.GenRound(linearize.NewGen(0xc0de, uint64(round)).Intn, 4, 6)
		res := conttest.RunRound(r, conttest.Options{Dispatcher: badContDispatcher(bugs), Deadline: 2 * time.Second})
		if res.Failed() && want(res) {
			t.Logf("%s: caught in round %d:\n%s\n%s", name, round, strings.Join(res.Problems, "\n"), r)
			return
		}
	}
	t.Fatalf("%s: the continuation checks passed a known-bad dispatcher for %d rounds", name, contRounds)
}

// The control: the plain dispatcher above, without bugs, and pool.Waiter
// pass the same rounds.
func TestHarnessPassesPlainContDispatcher(t *testing.T) {
	conttest.Check{Seed: 0xc0de, Rounds: 100, Programs: 4, Dispatcher: func() pool.Dispatcher { return badContDispatcher(contBugs{}) }}.Test(t)
	conttest.Check{Seed: 0xc0de, Rounds: 100, Programs: 4}.Test(t)
}

// The bug: a dispatcher that steps a continuation once more after it
// moved. The step runs where the continuation no longer is (or twice):
// the trace check sees a step on the wrong pool, out of order, or extra.
func TestHarnessCatchesStepAfterMove(t *testing.T) {
	mustCatchCont(t, "step-after-move", contBugs{stepAfterMove: true}, func(r conttest.Result) bool {
		return r.Wrong > 0
	})
}

// The bug: a dispatcher that drops a continuation coming back to its
// pool. The program never finishes: reported as lost at the deadline,
// not as a hang of the test.
func TestHarnessCatchesDroppedReturn(t *testing.T) {
	mustCatchCont(t, "drop-returning", contBugs{dropReturning: true}, func(r conttest.Result) bool {
		return r.Lost && strings.Contains(strings.Join(r.Problems, "\n"), "lost")
	})
}

// The bug: a dispatcher that runs one step of a continuation on two
// workers at once. The ownership check sees a step start while another
// runs.
func TestHarnessCatchesStepOnTwoWorkers(t *testing.T) {
	mustCatchCont(t, "two-workers", contBugs{duplicateStep: true}, func(r conttest.Result) bool {
		return strings.Contains(strings.Join(r.Problems, "\n"), "two runners at once")
	})
}
