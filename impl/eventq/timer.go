package eventq

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
)

// After registers c to be resumed once, d from now, and returns the
// registration's id: a one-shot timer in the queue's timer heap (see the
// package comment; no fd of its own), which ends when it fires or is
// cancelled. A d of zero or less fires at once (at the next Wait). It
// fails with ErrNilCont, ErrRegistered, ErrClosed, or the kernel's error
// (making or setting the queue's timerfd).
func (q *Queue) After(d time.Duration, c *cont.C) (ID, error) {
	return q.timer(c, d, 0)
}

// Every registers c to be resumed every d, and returns the registration's
// id: a periodic timer in the queue's timer heap, which ends when it is
// cancelled. Its expirations keep to the schedule of its first (d, 2d, 3d
// from now, however late each firing is handed out). Its continuation is
// lent at each firing (see the package comment): expirations while it is
// lent are counted, and the next firing reports them all in Ready.Count.
// It fails as After does, and with ErrBadDuration if d is not positive.
func (q *Queue) Every(d time.Duration, c *cont.C) (ID, error) {
	if d <= 0 {
		return 0, fmt.Errorf("eventq: every %v: %w", d, ErrBadDuration)
	}
	return q.timer(c, d, d)
}

// epoch is the origin of the timers' clock: a deadline is nanoseconds of
// time.Now's monotonic reading (CLOCK_MONOTONIC on Linux) since epoch.
var epoch = time.Now()

// mono returns the timers' clock now.
func mono() int64 { return int64(time.Since(epoch)) }

// later returns t+d, or math.MaxInt64 if that overflows (d >= 0).
func later(t, d int64) int64 {
	if d > math.MaxInt64-t {
		return math.MaxInt64
	}
	return t + d
}

// timerID is the epoll data of the queue's timerfd; registrations' ids
// count up from 1 and never reach it.
const timerID = ^ID(0)

// timer registers c as a timer that expires first after first, then
// every period (0: once).
func (q *Queue) timer(c *cont.C, first, period time.Duration) (ID, error) {
	perturb()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.admit(c); err != nil {
		return 0, err
	}
	if q.tfd < 0 && !q.controlled() { // controlled: the virtual clock, no timerfd
		fd, err := q.sys.timerfd()
		if err != nil {
			return 0, fmt.Errorf("eventq: timerfd_create: %w", err)
		}
		// Level-triggered: readable from its expiry until retime sets it
		// again (which resets its count), so no expiry is lost to a Wait
		// that is not blocked when it comes.
		if err := q.sys.ctl(q.epfd, unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN, timerID); err != nil {
			q.sys.close(fd)
			return 0, fmt.Errorf("eventq: timer: epoll_ctl: %w", err)
		}
		q.tfd = fd
	}
	events := Read
	if period == 0 {
		events |= OneShot
	}
	now := q.now()
	r := &reg{c: c, kind: kindTimer, fd: -1, events: events, when: later(now, int64(max(first, 0))),
		period: int64(period), hidx: -1}
	if err := q.add(r); err != nil {
		return 0, fmt.Errorf("eventq: timer: %w", err)
	}
	q.push(r)
	if err := q.retime(now); err != nil {
		q.end(r)
		return 0, err
	}
	return r.id, nil
}

// retime sets the timerfd so that it expires no later than the earliest
// deadline in the heap, and disarms it if the heap is empty. It calls
// timerfd_settime only when that changes the timerfd: when the earliest
// deadline is earlier than the one the timerfd is set to, when the heap
// has emptied, or when the deadline it is set to has passed while nothing
// in the heap is due (it has expired, or is about to, and would read as
// ready for nothing, every epoll_wait returning at once: setting it again
// resets its count). A timerfd set to a deadline earlier than the heap's
// earliest (that timer cancelled, say) is left to expire: that Wait finds
// nothing due and sets it again; one that has expired while a timer is
// due is left ready for the Wait that hands that timer out (so arming
// timers while others are overdue costs no system call). now is mono(),
// read under q.mu. q.mu is held, and the timerfd exists.
func (q *Queue) retime(now int64) error {
	if q.controlled() {
		return nil // no timerfd: the kernel goroutine watches the heap
	}
	var spec unix.ItimerSpec // zero: disarm
	if len(q.heap) == 0 {
		if !q.tarmed {
			return nil
		}
	} else {
		next := q.heap[0].when
		if q.tarmed && q.tset <= next && (q.tset > now || next <= now) {
			return nil
		}
		// Relative: the kernel's expiry is at least next-now after this
		// reading of the clock, so never before next. A zero it_value would
		// disarm it rather than fire it.
		spec.Value = unix.NsecToTimespec(max(next-now, 1))
		q.tset = next
	}
	if err := q.sys.settime(q.tfd, &spec); err != nil {
		// As it was, which is not known here: it may be armed, or expired
		// and readable. Taken as set to a deadline that has passed, it is
		// set again at the next call, which every Wait makes (fireTimers);
		// taken as disarmed, once the heap emptied it would never be, and
		// a stale expiry would make every epoll_wait return at once.
		q.tarmed, q.tset = true, -1
		return fmt.Errorf("eventq: timerfd_settime: %w", err)
	}
	q.tarmed = len(q.heap) > 0
	return nil
}

// timersDue reports whether a timer in the heap has expired. q.mu is held.
func (q *Queue) timersDue() bool { return len(q.heap) > 0 && q.heap[0].when <= q.now() }

// fireTimers hands out every timer in the heap whose deadline has passed,
// earliest first (ties in registration order), appending to dst, then
// sets the timerfd for what is left. A one-shot timer ends; a periodic one
// is lent, out of the heap until Rearm, its next deadline the first of its
// schedule still to come and Count the expirations since the last firing.
// q.mu is held.
func (q *Queue) fireTimers(dst []Ready) []Ready {
	if q.tfd < 0 && !q.controlled() {
		return dst
	}
	now := q.now()
	for len(q.heap) > 0 && q.heap[0].when <= now {
		r := q.heap[0]
		q.remove(r)
		rd := Ready{ID: r.id, C: r.c, Events: Read, Count: 1}
		if r.oneShot() {
			rd.Ended = true
			q.end(r)
		} else {
			missed := (now - r.when) / r.period
			rd.Count += uint64(missed)
			r.when = later(r.when+missed*r.period, r.period)
			r.lent = true
		}
		dst = append(dst, rd)
	}
	q.retime(now) // a failure leaves the timerfd for the next pass to set (retime)
	return dst
}

// The timer heap: a binary min-heap of the armed timers (not those lent)
// in q.heap, ordered by deadline, then id; each knows its index (hidx, -1
// when out of the heap), so that Cancel removes it at once. q.mu is held.

func timerLess(a, b *reg) bool { return a.when < b.when || a.when == b.when && a.id < b.id }

func (q *Queue) push(r *reg) {
	r.hidx = len(q.heap)
	q.heap = append(q.heap, r)
	q.up(r.hidx)
}

// remove takes r, which is in the heap, out of it.
func (q *Queue) remove(r *reg) {
	i, last := r.hidx, len(q.heap)-1
	if i != last {
		q.swap(i, last)
	}
	q.heap[last] = nil
	q.heap = q.heap[:last]
	r.hidx = -1
	if i != last {
		q.down(i)
		q.up(i)
	}
}

func (q *Queue) swap(i, j int) {
	h := q.heap
	h[i], h[j] = h[j], h[i]
	h[i].hidx = i
	h[j].hidx = j
}

func (q *Queue) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !timerLess(q.heap[i], q.heap[p]) {
			return
		}
		q.swap(i, p)
		i = p
	}
}

func (q *Queue) down(i int) {
	n := len(q.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && timerLess(q.heap[r], q.heap[l]) {
			m = r
		}
		if !timerLess(q.heap[m], q.heap[i]) {
			return
		}
		q.swap(i, m)
		i = m
	}
}
