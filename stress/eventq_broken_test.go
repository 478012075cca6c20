package stress

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/spec"
	"golang.org/x/sys/unix"
)

// The checks of the storm must be able to fail: each broken queue below
// wraps a real one and gets one rule wrong, and a storm must report it.
func TestEventQueueStormCatchesBrokenQueues(t *testing.T) {
	for _, c := range []struct {
		bug  string
		new  func() eventqtest.Queue
		want string // in a problem
	}{
		// A cancel that races a firing: true, yet the firing read goes out.
		{"cancel-race", func() eventqtest.Queue { return &eqCancelRace{Queue: eqReal(), flying: map[spec.EventID]bool{}} }, "cancelled 1"},
		// Close loses an armed continuation.
		{"close-loses", func() eventqtest.Queue { return eqCloseLoses{eqReal()} }, "handed back by Close 0"},
		// Register leaks a duplicate of its fd.
		{"fd-leak", func() eventqtest.Queue { return eqLeak{eqReal()} }, "fds open before the storm"},
	} {
		t.Run(c.bug, func(t *testing.T) {
			t.Cleanup(closeLeaked)
			seed := resolveSeed(t)
			for storm := range 20 {
				for _, p := range eqStorm(t, seed, storm, c.new) {
					if strings.Contains(p, c.want) {
						t.Logf("caught in storm %d: %s", storm, p)
						return
					}
				}
			}
			t.Fatalf("20 storms passed a queue with bug %s", c.bug)
		})
	}
}

func eqReal() *eventq.Queue { return eventqtest.NewQueue().(*eventq.Queue) }

// eqCancelRace holds the firings it read for a moment before handing them
// out, and a Cancel of one of them meanwhile reports true.
type eqCancelRace struct {
	*eventq.Queue
	mu     sync.Mutex
	flying map[spec.EventID]bool
}

func (q *eqCancelRace) Wait(dst []eventq.Ready, timeout time.Duration) ([]eventq.Ready, error) {
	n0 := len(dst)
	dst, err := q.Queue.Wait(dst, timeout)
	q.mu.Lock()
	for _, rd := range dst[n0:] {
		q.flying[rd.ID] = true
	}
	q.mu.Unlock()
	time.Sleep(200 * time.Microsecond)
	q.mu.Lock()
	clear(q.flying)
	q.mu.Unlock()
	return dst, err
}

func (q *eqCancelRace) Cancel(id spec.EventID) bool {
	q.mu.Lock()
	flying := q.flying[id]
	delete(q.flying, id)
	q.mu.Unlock()
	return q.Queue.Cancel(id) || flying
}

type eqCloseLoses struct{ *eventq.Queue }

func (q eqCloseLoses) Close() ([]*cont.C, error) {
	held, err := q.Queue.Close()
	if len(held) > 0 {
		held = held[1:]
	}
	return held, err
}

type eqLeak struct{ *eventq.Queue }

// eqLeaked holds the fds eqLeak leaked, which the test closes once the
// storm has caught the leak: otherwise -count runs the process out of fds.
var eqLeaked struct {
	sync.Mutex
	fds []int
}

func (q eqLeak) Register(fd int, events spec.Events, c *cont.C) (spec.EventID, error) {
	if d, err := unix.Dup(fd); err == nil { // not closed by the queue
		eqLeaked.Lock()
		eqLeaked.fds = append(eqLeaked.fds, d)
		eqLeaked.Unlock()
	}
	return q.Queue.Register(fd, events, c)
}

// closeLeaked closes what eqLeak leaked.
func closeLeaked() {
	eqLeaked.Lock()
	defer eqLeaked.Unlock()
	for _, fd := range eqLeaked.fds {
		unix.Close(fd)
	}
	eqLeaked.fds = nil
}
