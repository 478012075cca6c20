package eventqtest

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
	"golang.org/x/sys/unix"
)

// A Bug is one deliberate fault of a known-bad event queue (BadQueue).
// Every check of an event queue must be shown to catch the bugs it claims
// to catch: the campaign (Check, run by package linearize's harness
// tests, with and without its audit), the stress suite's storm and the
// fuzz target's sequential replay all take their known-bad queues from
// here. Each wraps a real impl/eventq queue and breaks one rule of
// spec.EventQueue the way a plausible implementation would; its own state
// is under a mutex (a seam.Mutex, so that it takes part in a controlled
// run), so the race detector has nothing to say: the bugs are in the
// logic, which is what the checks must catch.
type Bug uint8

const (
	// Correct is no bug: the real queue, the control that shows a check
	// passes what it should.
	Correct Bug = iota
	// CancelRace has a Cancel that races with a firing: Wait reads the
	// firings, then takes a moment before it hands them out (as an
	// implementation that drops its lock between epoll_wait and the
	// hand-out would), and a Cancel in that moment reports true without
	// withdrawing the firing, which Wait hands out anyway. The campaign's
	// history is Illegal (a one-shot both fired and cancelled, or a firing
	// after its Cancel), its audit objects too, and the storm sees a
	// firing of a cancelled registration ("cancelled 1").
	CancelRace
	// OneShotTwice forgets EPOLLONESHOT: a one-shot is registered as a
	// plain level registration, its firings are reported Ended and it is
	// left armed, so that it fires again while its fd stays ready and a
	// Cancel after its firing still reports true. The campaign's history
	// is Illegal; the fuzz replay's reference says it "cannot fire now".
	OneShotTwice
	// LentTwice hands a lent continuation out twice: each Wait hands out
	// again the first repeating firing of the Wait before, though it was
	// not handed back. The campaign's history is Illegal.
	LentTwice
	// CloseLoses makes Close hand back every armed continuation but the
	// last, which disappears silently. No history shows it; the
	// campaign's audit and the storm find one "handed back by Close 0",
	// and the fuzz replay that "Close handed back" too few.
	CloseLoses
	// DeafRearm makes Rearm of a lent continuation report success without
	// handing it back: the registration stays lent and never fires again.
	// No history shows it (an armed registration need not fire); the
	// campaign's audit sees it "armed true at Close" or a "lost firing",
	// and the fuzz replay a ready level registration "yet not handed out".
	DeafRearm
	// LeaksFd makes Register duplicate its fd and never close the
	// duplicate (CloseLeaked closes them). The storm's and the fuzz
	// replay's counts of open fds see it.
	LeaksFd
	// CancelTrue makes Cancel of an id the queue issued report true even
	// once its registration has ended or been cancelled. The fuzz replay
	// sees Cancel's result differ from the reference's.
	CancelTrue
	// WrongEvents adds EvPriority to the conditions of every firing of an
	// fd. The fuzz replay sees conditions that were not ready.
	WrongEvents
	// WrongError makes Register of invalid events fail with an error of
	// its own, not spec.ErrBadEvents. The fuzz replay wants one of the
	// documented errors.
	WrongError
	// LostWake makes Wake do nothing: a Wait it should end sleeps on. The
	// fuzz replay sees the wake-up lost.
	LostWake
	// SignalLost drops the signals of every second firing of a signal
	// registration: Wait does not hand that firing out and arms the
	// registration again, as a queue that reset a registration's eventfd
	// without taking what arrived would. No history shows it (a delivery
	// need not have reached a registration yet); the campaign's audit sees
	// "a lost signal", and the fuzz replay a signal "never handed out".
	// Only free rounds see it: signals are free under the controlled
	// scheduler (FreeOnly).
	SignalLost
	// SignalTwice hands out every signal of a firing twice (Count too),
	// as a watcher that appended what it read to what was pending without
	// taking it would. The campaign's history is Illegal (a signal handed
	// out more often than it was delivered), and the fuzz replay sees a
	// signal that was not pending. Free rounds only, as SignalLost.
	SignalTwice
	bugs
)

var bugNames = [bugs]string{"correct", "cancel-race", "one-shot-twice", "lent-twice", "close-loses",
	"deaf-rearm", "fd-leak", "cancel-true", "wrong-events", "wrong-error", "lost-wake", "signal-lost", "signal-twice"}

// FreeOnly reports whether only free rounds can find b: a bug of signal
// delivery, which controlled rounds leave out (AddSignals).
func (b Bug) FreeOnly() bool { return b == SignalLost || b == SignalTwice }

func (b Bug) String() string {
	if b < bugs {
		return bugNames[b]
	}
	return fmt.Sprintf("Bug(%d)", b)
}

// BadQueue returns a fresh event queue with bug: a real impl/eventq queue
// wrapped (for Correct, the real queue itself). It panics if the kernel
// refuses a queue, as NewQueue does. The queue it returns has every other
// method of *eventq.Queue too (Signal, for one).
func BadQueue(bug Bug) Queue {
	real := NewQueue().(*eventq.Queue)
	switch {
	case bug == Correct:
		return real
	case bug < bugs:
		return &bad{Queue: real, bug: bug, ids: map[spec.EventID]bool{}, sigs: map[spec.EventID]bool{}}
	}
	real.Close()
	panic(fmt.Sprintf("eventqtest: BadQueue(%v): no such bug", bug))
}

// cancelRaceWindow is how long CancelRace keeps a firing in flight (a
// seam.Sleep: under the controlled scheduler, until every other goroutine
// of the run is blocked).
const cancelRaceWindow = 200 * time.Microsecond

// bad is a real queue with one rule broken. ids holds, by bug: the
// firings in flight (CancelRace), the one-shots registered as level
// (OneShotTwice), the registrations lent (DeafRearm), the ids issued
// (CancelTrue).
type bad struct {
	*eventq.Queue
	bug  Bug
	mu   seam.Mutex
	ids  map[spec.EventID]bool
	last *eventq.Ready         // LentTwice: the firing to hand out again
	sigs map[spec.EventID]bool // the signal registrations (SignalLost)
	odd  bool                  // SignalLost: the next signal firing is dropped
}

// issued records id for CancelTrue.
func (q *bad) issued(id spec.EventID, err error) (spec.EventID, error) {
	if q.bug == CancelTrue && err == nil {
		q.mu.Lock()
		q.ids[id] = true
		q.mu.Unlock()
	}
	return id, err
}

func (q *bad) Register(fd int, events spec.Events, c *cont.C) (spec.EventID, error) {
	switch {
	case q.bug == OneShotTwice && events.Check() == nil && events&spec.EvOneShot != 0:
		q.mu.Lock() // so that no firing comes before the id is known
		defer q.mu.Unlock()
		id, err := q.Queue.Register(fd, events&^spec.EvOneShot, c) // EPOLLONESHOT forgotten
		if err == nil {
			q.ids[id] = true
		}
		return id, err
	case q.bug == WrongError && events.Check() != nil:
		return 0, errors.New("eventqtest: no") // not ErrBadEvents
	case q.bug == LeaksFd:
		if d, err := unix.Dup(fd); err == nil { // not closed by the queue
			leaked.Lock()
			leaked.fds = append(leaked.fds, d)
			leaked.Unlock()
		}
	}
	return q.issued(q.Queue.Register(fd, events, c))
}

func (q *bad) After(d time.Duration, c *cont.C) (spec.EventID, error) {
	return q.issued(q.Queue.After(d, c))
}

func (q *bad) Every(d time.Duration, c *cont.C) (spec.EventID, error) {
	return q.issued(q.Queue.Every(d, c))
}

// Signal is (*eventq.Queue).Signal, recording the id for CancelTrue and
// SignalLost.
func (q *bad) Signal(c *cont.C, sigs ...os.Signal) (spec.EventID, error) {
	id, err := q.issued(q.Queue.Signal(c, sigs...))
	if err == nil {
		q.mu.Lock()
		q.sigs[id] = true
		q.mu.Unlock()
	}
	return id, err
}

func (q *bad) Wait(dst []eventq.Ready, timeout time.Duration) ([]eventq.Ready, error) {
	n0 := len(dst)
	dst, err := q.Queue.Wait(dst, timeout)
	q.mu.Lock()
	defer q.mu.Unlock()
	switch q.bug {
	case CancelRace:
		if len(dst) == n0 {
			break
		}
		for _, rd := range dst[n0:] {
			q.ids[rd.ID] = true
		}
		q.mu.Unlock()
		seam.Sleep(cancelRaceWindow) // the firings are in flight
		q.mu.Lock()
		clear(q.ids)
	case OneShotTwice:
		for i := range dst[n0:] {
			if rd := &dst[n0+i]; q.ids[rd.ID] {
				rd.Ended = true
				q.Queue.Rearm(rd.ID) // the bug: still armed
			}
		}
	case LentTwice:
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
	case DeafRearm:
		for _, rd := range dst[n0:] {
			if !rd.Ended {
				q.ids[rd.ID] = true
			}
		}
	case SignalLost:
		kept := dst[:n0]
		for _, rd := range dst[n0:] {
			if q.sigs[rd.ID] {
				if q.odd = !q.odd; q.odd {
					q.Queue.Rearm(rd.ID) // the bug: its signals are gone
					continue
				}
			}
			kept = append(kept, rd)
		}
		dst = kept
	case SignalTwice:
		for i := range dst[n0:] {
			if rd := &dst[n0+i]; len(rd.Signals) > 0 {
				rd.Signals = append(slices.Clip(rd.Signals), rd.Signals...) // the bug
				rd.Count *= 2
			}
		}
	case WrongEvents:
		for i := range dst[n0:] {
			if rd := &dst[n0+i]; rd.Count == 0 {
				rd.Events |= spec.EvPriority // the bug
			}
		}
	}
	return dst, err
}

func (q *bad) Cancel(id spec.EventID) bool {
	switch q.bug {
	case CancelRace:
		q.mu.Lock()
		flying := q.ids[id]
		delete(q.ids, id)
		q.mu.Unlock()
		ok := q.Queue.Cancel(id) // a one-shot in flight has ended already: false
		return ok || flying      // the bug: the firing in flight is not withdrawn
	case CancelTrue:
		q.mu.Lock()
		issued := q.ids[id]
		q.mu.Unlock()
		return q.Queue.Cancel(id) || issued
	}
	return q.Queue.Cancel(id)
}

func (q *bad) Rearm(id spec.EventID) error {
	if q.bug == DeafRearm {
		q.mu.Lock()
		lent := q.ids[id]
		delete(q.ids, id)
		q.mu.Unlock()
		if lent {
			return nil // the bug: nothing handed back
		}
	}
	return q.Queue.Rearm(id)
}

func (q *bad) Wake() error {
	if q.bug == LostWake {
		return nil
	}
	return q.Queue.Wake()
}

func (q *bad) Close() ([]*cont.C, error) {
	held, err := q.Queue.Close()
	if q.bug == CloseLoses && len(held) > 0 {
		held = held[:len(held)-1] // the bug
	}
	return held, err
}

// leaked holds the fds that LeaksFd queues leaked.
var leaked struct {
	sync.Mutex
	fds []int
}

// CloseLeaked closes every fd a LeaksFd queue leaked so far. A test that
// catches the leak calls it once done (t.Cleanup), so that repeated runs
// do not run the process out of fds.
func CloseLeaked() {
	leaked.Lock()
	defer leaked.Unlock()
	for _, fd := range leaked.fds {
		unix.Close(fd)
	}
	leaked.fds = nil
}
