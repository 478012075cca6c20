package stress

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// The event-queue suites' sizes at INSIDEOUT_SOAK=1, chosen so that they
// take a few seconds under -race on two cores, with or without -tags
// chaos. INSIDEOUT_SOAK=n multiplies the rounds and storms.
const (
	// eqHistoryRounds rounds of the campaign at each of two shapes: 6
	// clients of 6 steps, and 2 of 16.
	eqHistoryRounds = 150

	// Storms: each has eqPrivateQueues queues with a client, a canceller
	// and a waiter of their own, and eqSharedQueues queues that
	// eqSharedClients clients use at once (each client picks a queue for
	// every step); every client makes eqStormOps steps. Half the waiters
	// are goroutines, half runtimes (impl/rt) whose step waits.
	eqStorms        = 5
	eqPrivateQueues = 6
	eqSharedQueues  = 2
	eqSharedClients = 6
	eqStormOps      = 1000

	// eqStormLimit turns a storm that does not end into a report.
	eqStormLimit = time.Minute
)

// Short histories of the event-queue campaign (register, cancel, rearm,
// write, read, poll and wake from many clients against a waiter, on real
// pipes and a socketpair), each checked against model.EventQ and audited:
// more clients than cores, and long programs.
//
// The bug: a firing after a Cancel that reported true, a one-shot firing
// twice, a lent continuation handed out again, ids out of order, a
// continuation lost or handed back twice by Close, a lost firing, an fd
// left open; under -race, an unsynchronised access in the queue.
func TestEventQueueHistories(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	n := soak(t)
	for _, shape := range []struct{ clients, ops int }{{6, 6}, {2, 16}} {
		c := eventqtest.Check{Name: fmt.Sprintf("eventq-%dx%d", shape.clients, shape.ops), Clients: shape.clients, Ops: shape.ops,
			Rounds: eqHistoryRounds * n, Seed: seed}
		t.Logf("%s: %d rounds (chaos %v)", c.Name, c.Rounds, chaos.Enabled)
		c.Test(t)
	}
}

// Storms: queues of their own (a client, a canceller that closes the
// queue at a random moment, a waiter) and shared queues (many clients at
// once, one of which closes each at a random moment), over many fds and
// timers, with cancels and Closes racing readiness and Wait, and
// runtimes whose step waits halted or cancelled at random moments.
// Conservation must hold exactly for every continuation: a one-shot is
// handed out once, or cancelled (Cancel true), or handed back by Close,
// exactly one of the three; a repeating one is never both cancelled and
// handed back, and is handed back exactly when it was neither cancelled
// nor lent (as its waiter saw it) at Close; none is handed out by a Wait
// that began after a Cancel of it reported true, or under another id, or
// after its Register failed. The fds the process has open must be as many
// as before, and goleak (TestMain) finds no goroutine left.
//
// The bug: a cancel racing a firing, a Close racing a Wait or a
// Register, a one-shot fired twice, a continuation lost or duplicated, an
// fd or a goroutine leaked.
func TestEventQueueStorm(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	eqCountFDs(t) // the first read may make the runtime open its poller
	fdsBefore := eqCountFDs(t)
	storms := eqStorms * soak(t)
	for storm := range storms {
		if problems := eqStorm(t, seed, storm, eventqtest.NewQueue); len(problems) > 0 {
			if len(problems) > 20 {
				problems = append(problems[:20], fmt.Sprintf("... and %d more", len(problems)-20))
			}
			t.Fatalf("storm %d of seed %#x:\n  %s", storm, seed, strings.Join(problems, "\n  "))
		}
	}
	if after := eqCountFDs(t); after != fdsBefore {
		t.Fatalf("%d fds open before %d storms, %d after", fdsBefore, storms, after)
	}
}

// eqStorm runs one storm on queues that newQueue makes, and returns the
// problems found: the audits', and an fd count that differs after the
// storm from before it.
func eqStorm(t *testing.T, seed uint64, storm int, newQueue func() eventqtest.Queue) []string {
	fdsBefore := eqCountFDs(t)
	start := time.Now()
	chaos.SetSeed(seed ^ uint64(storm))
	var queues []*eqStormQueue
	for i := range eqPrivateQueues + eqSharedQueues {
		name := fmt.Sprintf("private %d", i)
		if i >= eqPrivateQueues {
			name = fmt.Sprintf("shared %d", i-eqPrivateQueues)
		}
		s, err := newStormQueue(name, start, newQueue)
		if err != nil {
			for _, s := range queues {
				s.q.Close()
				s.release()
			}
			t.Fatalf("storm %d: %v", storm, err)
		}
		queues = append(queues, s)
	}
	rng := func(k uint64) *rand.Rand { return rand.New(rand.NewPCG(seed^uint64(storm)<<32, k)) }

	var clients, waiters sync.WaitGroup
	var runtimes []*rt.Runtime
	for i, s := range queues {
		if i%2 == 0 {
			waiters.Go(func() { s.waitLoop(rng(100 + uint64(i))) })
			continue
		}
		r, err := rt.Spawn(s.waiterCont(rng(100 + uint64(i))))
		if err != nil {
			t.Fatalf("storm %d: a runtime: %v", storm, err)
		}
		runtimes = append(runtimes, r)
	}
	// Private queues: a client, and a canceller that closes the queue
	// somewhere in its run.
	for i, s := range queues[:eqPrivateQueues] {
		clients.Go(func() {
			g := rng(200 + uint64(i))
			for k := range eqStormOps {
				if g.IntN(3) == 0 {
					s.register(g)
				} else {
					s.poke(g)
				}
				if k%16 == 0 {
					runtime.Gosched()
				}
			}
		})
		clients.Go(func() {
			g := rng(300 + uint64(i))
			closeAt := g.IntN(eqStormOps + eqStormOps/2) // past the end: at the end
			for k := range eqStormOps {
				if k == closeAt {
					s.close()
				}
				if g.IntN(2) == 0 {
					s.cancel(g)
				} else {
					s.poke(g)
				}
				if k%16 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	// Shared queues: every client uses all of them; client j closes
	// shared queue j at a random moment.
	shared := queues[eqPrivateQueues:]
	for j := range eqSharedClients {
		clients.Go(func() {
			g := rng(400 + uint64(j))
			closeAt := g.IntN(eqStormOps * 2)
			for k := range eqStormOps {
				if j < len(shared) && k == closeAt {
					shared[j].close()
				}
				s := shared[g.IntN(len(shared))]
				switch g.IntN(5) {
				case 0, 1:
					s.register(g)
				case 2:
					s.cancel(g)
				default:
					s.poke(g)
				}
				if k%16 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	// Runtimes halted or cancelled at random moments, racing whatever
	// their step waits for.
	var stoppers sync.WaitGroup
	for i, r := range runtimes {
		stoppers.Go(func() {
			g := rng(500 + uint64(i))
			time.Sleep(time.Duration(g.IntN(20000)) * time.Microsecond)
			if i%2 == 0 {
				r.Halt()
			} else {
				r.Cancel()
			}
		})
	}

	finished := make(chan struct{})
	go func() {
		clients.Wait()
		stoppers.Wait()
		for _, s := range queues {
			s.close() // those whose closer had not, and a second Close of the others
		}
		waiters.Wait()
		for _, r := range runtimes {
			if err := r.Join(); err != nil && !errors.Is(err, spec.ErrCanceled) {
				queues[0].fail("a waiter runtime: %v", err)
			}
		}
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(eqStormLimit):
		buf := make([]byte, 1<<20)
		t.Fatalf("storm %d did not end in %v:\n%s", storm, eqStormLimit, buf[:runtime.Stack(buf, true)])
	}
	var problems []string
	var regs, fired, cancels, held int
	for _, s := range queues {
		s.release()
		problems = append(problems, s.audit()...)
		regs += len(s.ids)
		for _, r := range s.ids {
			fired += int(r.fired.Load())
			cancels += int(r.cancels.Load())
			held += int(r.held.Load())
		}
	}
	if after := eqCountFDs(t); after != fdsBefore {
		problems = append(problems, fmt.Sprintf("%d fds open before the storm, %d after", fdsBefore, after))
	}
	t.Logf("storm %d: %d queues, %d registrations: %d firings, %d cancelled, %d handed back by Close, in %v",
		storm, len(queues), regs, fired, cancels, held, time.Since(start).Round(time.Millisecond))
	return problems
}

// netpollOnce starts Go's netpoller before the first fd count.
var netpollOnce sync.Once

func eqCountFDs(t *testing.T) int {
	t.Helper()
	netpollOnce.Do(func() {
		// Go's netpoller opens its own fds (an epoll fd and an eventfd) the
		// first time anything uses it, and keeps them for good. A queue's
		// blocking Wait parks there; if that first use fell inside a
		// storm, the storm would be blamed for two fds it never opened
		// (seen once, under load, as "8 before the storm, 10 after"). So
		// start the netpoller before the first count.
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.SetReadDeadline(time.Now()) // registers r with the netpoller
		r.Close()
		w.Close()
	})
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
