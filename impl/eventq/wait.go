package eventq

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/seam"
)

// Wake makes the Wait in progress return, or, if none is, the next one:
// a wake-up is kept until a Wait takes it. A Wait broken by Wake returns
// what else was ready, often nothing. Any goroutine may call it.
func (q *Queue) Wake() error {
	perturb()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	return q.poke()
}

// poke writes the wake-up eventfd. q.mu is held, so the fd is open.
func (q *Queue) poke() error {
	q.kick()
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	if _, err := q.sys.write(q.wakefd, one[:]); err != nil && err != unix.EAGAIN {
		return fmt.Errorf("eventq: wake: %w", err)
	}
	return nil // EAGAIN: the counter is full, a wake-up is pending anyway
}

// Poll is Wait(dst, 0): it hands out what is ready now, without blocking.
func (q *Queue) Poll(dst []Ready) ([]Ready, error) { return q.Wait(dst, 0) }

// Wait sleeps (see park) until a registration fires, a Wake comes, or
// timeout passes (timeout < 0: no limit; 0: do not block), and appends to
// dst what fired and returns it. A firing of an fd or timer that comes
// with nothing to hand out (a registration cancelled meanwhile) does not
// end the wait. A Wait broken by Wake may return nothing; so may one whose
// timeout passed. An interrupted epoll_wait (EINTR) is retried with what
// is left of timeout. A Wait that sleeps holds no thread and no processor:
// its goroutine is parked, as one reading a socket is.
//
// One goroutine at a time may Wait: a second concurrent Wait fails with
// ErrBusy. After Close, or when Close breaks it, Wait fails with ErrClosed
// and hands out nothing: Close hands back the continuations instead.
func (q *Queue) Wait(dst []Ready, timeout time.Duration) ([]Ready, error) {
	perturb()
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return dst, ErrClosed
	}
	if q.waiting {
		q.mu.Unlock()
		return dst, ErrBusy
	}
	q.waiting = true
	if q.controlled() {
		return q.waitKernel(dst, timeout)
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	n0 := len(dst)
	for {
		ms := waitMillis(timeout, deadline)
		if len(q.due) > 0 || q.timersDue() {
			ms = 0
		}
		q.mu.Unlock()
		// Without q.mu: another goroutine's call may come before the look
		// (a Register whose fd is ready, a Cancel), or between the look and
		// the hand-out (a Cancel of what fired, which fire then skips).
		seam.Point()
		var (
			n   int
			err error
		)
		if ms == 0 {
			n, err = q.sys.epollWait(q.epfd, q.evs[:])
		} else {
			n, err = q.park(deadline) // it looks without blocking first
		}
		seam.Point()
		q.mu.Lock()
		if q.closed {
			q.waiting = false
			q.left.Broadcast()
			q.mu.Unlock()
			return dst[:n0], ErrClosed
		}
		if err != nil && err != unix.EINTR {
			q.waiting = false
			q.mu.Unlock()
			return dst, fmt.Errorf("eventq: epoll_wait: %w", err)
		}
		woke := false
		for i := range n {
			var w bool
			dst, w = q.fire(dst, &q.evs[i])
			woke = woke || w
		}
		dst = q.fireDue(dst)
		dst = q.fireTimers(dst)
		if len(dst) > n0 || woke || timeout == 0 || timeout > 0 && !time.Now().Before(deadline) {
			q.waiting = false
			q.mu.Unlock()
			return dst, nil
		}
	}
}

// park waits until the epoll fd has events to report, or deadline passes
// (zero: no deadline), and then takes them; it looks first, with a
// non-blocking epoll_wait, and parks only if nothing is there. It does not
// block in
// epoll_wait: that would hold the goroutine's processor (Go hands it on
// only tens of microseconds into a blocking system call), and goroutines
// made ready meanwhile, a step's channel partner or a client of a server
// run by continuations, would wait that long. Instead the goroutine parks
// in Go's netpoller, which watches the epoll fd like any socket, and looks
// again when it is woken. Only the
// waiting goroutine calls it, without q.mu.
func (q *Queue) park(deadline time.Time) (n int, err error) {
	if !deadline.Equal(q.parkDeadline) {
		if err := q.sys.setDeadline(q.ep, q.epfd, deadline); err != nil {
			return 0, nil // closed under us: the caller sees q.closed
		}
		q.parkDeadline = deadline
	}
	if q.take == nil { // made once: a closure per park would be an allocation
		q.take = func(fd uintptr) bool {
			q.taken, q.takeErr = q.sys.epollWait(int(fd), q.evs[:])
			return q.taken > 0 || q.takeErr != nil
		}
	}
	q.taken, q.takeErr = 0, nil
	if rerr := q.epRaw.Read(q.take); rerr != nil {
		return 0, nil // the deadline passed, or Close: the caller sees which
	}
	return q.taken, q.takeErr
}

// waitMillis returns how long a Wait may sleep: -1 for no limit, else
// what is left until deadline in milliseconds, rounded up (so that a
// short wait does not become a busy poll) and capped; 0: it must not.
func waitMillis(timeout time.Duration, deadline time.Time) int {
	switch {
	case timeout < 0:
		return -1
	case timeout == 0:
		return 0
	}
	left := time.Until(deadline)
	if left <= 0 {
		return 0
	}
	ms := (left + time.Millisecond - 1) / time.Millisecond
	return int(min(ms, math.MaxInt32))
}

// fire handles one epoll event: it drains the wake-up eventfd, or hands
// out the registration's continuation (appending to dst), or records an
// edge arrival while lent. The timerfd's expiry needs nothing here:
// fireTimers, after, hands out the timers due and sets the timerfd again,
// since the deadline it was set to has passed, which also resets its count
// (there is nothing to read). It reports whether the event was a wake-up.
// q.mu is held.
func (q *Queue) fire(dst []Ready, ev *unix.EpollEvent) ([]Ready, bool) {
	id := eventID(ev)
	switch id {
	case wakeID:
		q.drain(q.wakefd)
		return dst, true
	case timerID:
		return dst, false
	}
	r := q.regs[id]
	if r == nil {
		return dst, false // cancelled after epoll_wait saw it
	}
	rd := Ready{ID: id, C: r.c, Events: Read}
	switch r.kind {
	case kindFD:
		got := userEvents(ev.Events)
		if r.lent {
			if r.byDel() {
				// Its disarm failed as it fired (below): again, so that it
				// does not fire while lent; Rearm finds it armed if that
				// fails too.
				q.sys.ctl(q.epfd, unix.EPOLL_CTL_DEL, r.fd, 0, 0)
				return dst, false
			}
			r.pending |= got // an edge registration's arrival while lent
			return dst, false
		}
		rd.Events = got | r.pending
		r.pending = 0
		if r.byDel() {
			q.sys.ctl(q.epfd, unix.EPOLL_CTL_DEL, r.fd, 0, 0) // a failure: see above
		}
	case kindSignal:
		q.drain(r.fd)
		rd.Signals = r.sig.take()
		rd.Count = uint64(len(rd.Signals))
		// No signal (taken by the firing before): armed again, unless the
		// kernel refuses; then it is handed out, lent, with none, for
		// Rearm to arm it again (and report the error if it persists),
		// rather than left disarmed with nobody to arm it.
		if rd.Count == 0 && q.arm(r) == nil {
			return dst, false
		}
	}
	if r.oneShot() {
		rd.Ended = true
		q.end(r)
	} else {
		r.lent = true
	}
	return append(dst, rd), false
}

// fireDue hands out the edge registrations handed back with an arrival
// pending. q.mu is held.
func (q *Queue) fireDue(dst []Ready) []Ready {
	for _, id := range q.due {
		r := q.regs[id]
		if r == nil || r.lent || r.pending == 0 {
			continue // cancelled, or handed out by fire meanwhile
		}
		dst = append(dst, Ready{ID: id, C: r.c, Events: r.pending})
		r.pending = 0
		r.lent = true
	}
	q.due = q.due[:0]
	return dst
}

// drain reads an eventfd's counter, resetting it, and returns
// it: 0 if there was nothing to read.
func (q *Queue) drain(fd int) uint64 {
	var b [8]byte
	for {
		n, err := q.sys.read(fd, b[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n != 8 {
			return 0
		}
		return binary.NativeEndian.Uint64(b[:])
	}
}
