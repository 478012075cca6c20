package linearize_test

// Known-bad event queues: each wraps a real impl/eventq queue and breaks
// one rule of spec.EventQueue the way a plausible implementation would.
// The event-queue campaign must catch every one (harness_eventq_test.go).

import (
	"sync"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/spec"
)

func newRealQueue() *eventq.Queue {
	return eventqtest.NewQueue().(*eventq.Queue)
}

// cancelRaceQueue has a cancel that races with a firing: its Wait reads
// the firings from epoll, then takes a moment before it hands them out
// (as an implementation that drops its lock between epoll_wait and the
// hand-out would), and a Cancel that comes in that moment reports true,
// ending the registration, without withdrawing the firing already read,
// which Wait then hands out anyway: a firing after a Cancel that reported
// true (for a one-shot, which has then both fired and been cancelled).
type cancelRaceQueue struct {
	*eventq.Queue
	mu       sync.Mutex
	inFlight map[spec.EventID]bool // read by Wait, not yet handed out
}

func newCancelRaceQueue() eventqtest.Queue {
	return &cancelRaceQueue{Queue: newRealQueue(), inFlight: map[spec.EventID]bool{}}
}

// cancelRaceWindow is how long a firing stays in flight.
const cancelRaceWindow = 200 * time.Microsecond

func (q *cancelRaceQueue) Wait(dst []eventq.Ready, timeout time.Duration) ([]eventq.Ready, error) {
	n0 := len(dst)
	dst, err := q.Queue.Wait(dst, timeout)
	if len(dst) == n0 {
		return dst, err
	}
	q.mu.Lock()
	for _, rd := range dst[n0:] {
		q.inFlight[rd.ID] = true
	}
	q.mu.Unlock()
	time.Sleep(cancelRaceWindow)
	q.mu.Lock()
	clear(q.inFlight)
	q.mu.Unlock()
	return dst, err
}

func (q *cancelRaceQueue) Cancel(id spec.EventID) bool {
	q.mu.Lock()
	flying := q.inFlight[id]
	delete(q.inFlight, id)
	q.mu.Unlock()
	if flying {
		q.Queue.Cancel(id) // a one-shot in flight has ended already: false
		return true        // the bug: the firing in flight is not withdrawn
	}
	return q.Queue.Cancel(id)
}

// twiceQueue has a one-shot that can fire twice: it forgets EPOLLONESHOT,
// registering a one-shot as a plain level registration, reports its
// firings as Ended, and leaves it armed in the kernel (re-arming it at
// once), so that it fires again while its fd stays ready, and a Cancel
// after its firing still reports true.
type twiceQueue struct {
	*eventq.Queue
	mu       sync.Mutex
	oneShots map[spec.EventID]bool
}

func newTwiceQueue() eventqtest.Queue {
	return &twiceQueue{Queue: newRealQueue(), oneShots: map[spec.EventID]bool{}}
}

func (q *twiceQueue) Register(fd int, events spec.Events, c *cont.C) (spec.EventID, error) {
	if events.Check() != nil || events&spec.EvOneShot == 0 {
		return q.Queue.Register(fd, events, c)
	}
	q.mu.Lock() // so that no firing comes before the id is known
	defer q.mu.Unlock()
	id, err := q.Queue.Register(fd, events&^spec.EvOneShot, c)
	if err == nil {
		q.oneShots[id] = true
	}
	return id, err
}

func (q *twiceQueue) Wait(dst []eventq.Ready, timeout time.Duration) ([]eventq.Ready, error) {
	n0 := len(dst)
	dst, err := q.Queue.Wait(dst, timeout)
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range dst[n0:] {
		rd := &dst[n0+i]
		if q.oneShots[rd.ID] {
			rd.Ended = true
			q.Queue.Rearm(rd.ID) // the bug: still armed
		}
	}
	return dst, err
}

// againQueue hands a lent continuation out twice: each Wait hands out
// again the first repeating firing of the Wait before, though it has not
// been handed back (the lent flag set too late, say).
type againQueue struct {
	*eventq.Queue
	mu   sync.Mutex
	last *eventq.Ready
}

func newAgainQueue() eventqtest.Queue { return &againQueue{Queue: newRealQueue()} }

func (q *againQueue) Wait(dst []eventq.Ready, timeout time.Duration) ([]eventq.Ready, error) {
	n0 := len(dst)
	dst, err := q.Queue.Wait(dst, timeout)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.last != nil && err == nil {
		dst = append(dst, *q.last) // the bug
	}
	q.last = nil
	for _, rd := range dst[n0:] {
		if !rd.Ended {
			q.last = &rd
			break
		}
	}
	return dst, err
}

// closeLosesQueue's Close hands back every armed continuation but the
// last: it disappears silently. The history has no Close in it; only the
// audit can see this.
type closeLosesQueue struct{ *eventq.Queue }

func newCloseLosesQueue() eventqtest.Queue { return closeLosesQueue{newRealQueue()} }

func (q closeLosesQueue) Close() ([]*cont.C, error) {
	held, err := q.Queue.Close()
	if len(held) > 0 {
		held = held[:len(held)-1] // the bug
	}
	return held, err
}

// deafRearmQueue's Rearm of a lent continuation reports success without
// handing it back: the registration stays lent and never fires again,
// while its caller believes it armed. Nothing in the history contradicts
// it (an armed registration need not fire); the audit sees an armed
// registration that Close does not hand back.
type deafRearmQueue struct {
	*eventq.Queue
	mu   sync.Mutex
	lent map[spec.EventID]bool
}

func newDeafRearmQueue() eventqtest.Queue {
	return &deafRearmQueue{Queue: newRealQueue(), lent: map[spec.EventID]bool{}}
}

func (q *deafRearmQueue) Wait(dst []eventq.Ready, timeout time.Duration) ([]eventq.Ready, error) {
	n0 := len(dst)
	dst, err := q.Queue.Wait(dst, timeout)
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, rd := range dst[n0:] {
		if !rd.Ended {
			q.lent[rd.ID] = true
		}
	}
	return dst, err
}

func (q *deafRearmQueue) Rearm(id spec.EventID) error {
	q.mu.Lock()
	lent := q.lent[id]
	delete(q.lent, id)
	q.mu.Unlock()
	if lent {
		return nil // the bug: nothing handed back
	}
	return q.Queue.Rearm(id)
}
