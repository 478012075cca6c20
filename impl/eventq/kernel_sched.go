//go:build sched

package eventq

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/seam"
)

// Under impl/seam's controlled scheduler (a build with -tags sched), a
// queue made by a goroutine of a controlled run (seam.Run) never sleeps
// in the kernel, where the scheduler cannot see it, and its timers keep
// no real time:
//
//   - A Wait that would sleep parks through the seam instead (a
//     seam.Parker), and the queue's kernel goroutine, started through
//     seam.Go at the first such Wait, wakes it: the kernel's firings are
//     that goroutine's steps, taken when the scheduler picks it. Each step
//     looks whether epoll has anything to report (poll(2) on the epoll fd,
//     which does not take the events: the Wait takes them, with a
//     non-blocking epoll_wait, at its own next step, so that whatever runs
//     in between, a Cancel say, runs between the firing and its hand-out,
//     as it may in an ordinary build).
//   - Timers run on a virtual clock of the queue's own, which stands
//     still but for the kernel goroutine: at a step while a Wait is parked
//     and a timer is armed, it moves the clock to the earliest deadline
//     and wakes the Wait, which hands the timer out; the queue has no
//     timerfd. When a timer expires is therefore the scheduler's choice.
//   - A parked Wait's own timeout passes only once every other goroutine
//     of the run is blocked (seam.AwaitIdleFor), as seam.Sleep's does.
//   - The kernel goroutine is runnable, while a Wait is parked, after any
//     step of another goroutine: an fd may have been made ready by any
//     system call (a write to a pipe), which the seam does not see. When
//     the run is idle and it has nothing to fire (a Wait with no timeout,
//     no timer, nothing ready), it sleeps until the queue's next call that
//     can make something ready (Register, After, Every, Rearm, Wake,
//     Close), so that a run that cannot go on is a deadlock, not a spin.
//     An fd made ready after that by a goroutine that woke on virtual time
//     alone (seam.Sleep), with no call of the queue after, is not seen:
//     the run is reported as a deadlock.
//
// Every system call the controlled queue makes (epoll_ctl, epoll_wait and
// poll with timeout 0, eventfd reads and writes) returns at once, and what
// it returns depends only on the calls made before it, whose order the
// schedule fixes, but for the order of epoll_wait's events, which Go's
// netpoller (it watches the epoll fd, from another thread) may change:
// waitKernel sorts them by id. So a schedule replays exactly. Signals do not take part:
// os/signal's goroutine writes a signal registration's eventfd whenever
// the signal comes, outside the run, so a run with a Signal registration
// may not replay.
//
// A queue made outside a run (and every queue in an ordinary build) works
// as the package comment says, whoever calls it.

// kernel is a queue's part under the controlled scheduler. Every field is
// guarded by Queue.mu.
type kernel struct {
	on      bool  // made by a goroutine of a controlled run
	started bool  // the kernel goroutine was started
	exit    bool  // Close has ended the queue: the kernel goroutine returns
	asleep  bool  // the kernel goroutine sleeps in wake (or is about to)
	parked  bool  // a Wait sleeps in waiter (or is about to)
	clock   int64 // the virtual clock, for the timers: nanoseconds
	// err is the kernel goroutine's failed look (poll), for the parked
	// Wait it wakes to report.
	err error
	// deadline is the parked Wait's, on the virtual clock; -1: none.
	deadline int64
	waiter   seam.Parker // where a Wait parks
	wake     seam.Parker // where the kernel goroutine sleeps
}

// controlled reports whether the queue was made by a goroutine of a
// controlled run.
func (q *Queue) controlled() bool { return q.k.on }

// now is the timers' clock: the virtual one of a controlled queue, else
// mono.
func (q *Queue) now() int64 {
	if q.k.on {
		return q.k.clock
	}
	return mono()
}

// control, called by New, makes the queue a controlled one if a goroutine
// of a controlled run is making it.
func (q *Queue) control() {
	if seam.ID() >= 0 {
		q.k = kernel{on: true, deadline: -1, waiter: seam.MakeParker(), wake: seam.MakeParker()}
	}
}

// kick wakes the kernel goroutine if it sleeps with a Wait parked: a call
// of the queue may have made something ready. q.mu is held.
func (q *Queue) kick() {
	if k := &q.k; k.asleep && k.parked {
		k.asleep = false
		k.wake.Unpark()
	}
}

// abandoned reports whether the Wait in progress will never come back:
// the queue is controlled and Close is called from outside a run, after
// the run that made it ended (a deadlock, say) with its waiter parked.
// Close then does not wait for it. q.mu is held.
func (q *Queue) abandoned() bool { return q.k.on && seam.ID() < 0 }

// closeKernel, called by Close once no Wait is in progress, ends the
// kernel goroutine. q.mu is held.
func (q *Queue) closeKernel() {
	k := &q.k
	k.exit = true
	if k.asleep {
		k.asleep = false
		k.wake.Unpark()
	}
}

// waitKernel is Wait for a controlled queue, called by Wait once it is
// the queue's waiter: it looks with a non-blocking epoll_wait, and where
// the ordinary Wait would sleep, parks until the kernel goroutine wakes
// it (see above). q.mu is held; waitKernel releases it.
func (q *Queue) waitKernel(dst []Ready, timeout time.Duration) ([]Ready, error) {
	k := &q.k
	deadline := int64(-1)
	if timeout > 0 {
		deadline = later(k.clock, int64(timeout))
	}
	n0 := len(dst)
	for {
		block := timeout != 0 && len(q.due) == 0 && !q.timersDue()
		q.mu.Unlock()
		n, err := q.sys.epollWait(q.epfd, q.evs[:])
		if n == 0 && err == nil && block {
			q.parkKernel(deadline)
			n, err = q.sys.epollWait(q.epfd, q.evs[:])
		}
		// The set of events is fixed by the calls before, but not their
		// order: Go's netpoller watches the epoll fd and, looking at its
		// ready list from another thread, may reorder it. By id, then.
		slices.SortFunc(q.evs[:max(n, 0)], func(a, b unix.EpollEvent) int { return cmp.Compare(eventID(&a), eventID(&b)) })
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
		if k.err != nil && n <= 0 { // with nothing taken: nothing is lost
			q.waiting = false
			err, k.err = k.err, nil
			q.mu.Unlock()
			return dst, err
		}
		woke := false
		for i := range n {
			var w bool
			dst, w = q.fire(dst, &q.evs[i])
			woke = woke || w
		}
		dst = q.fireDue(dst)
		dst = q.fireTimers(dst)
		if len(dst) > n0 || woke || timeout == 0 || timeout > 0 && k.clock >= deadline {
			q.waiting = false
			q.mu.Unlock()
			return dst, nil
		}
	}
}

// parkKernel parks the waiting goroutine until the kernel goroutine wakes
// it: something is ready, a timer expired, or the deadline (-1: none)
// passed. It starts the kernel goroutine at its first park. Only the
// waiting goroutine calls it, without q.mu.
func (q *Queue) parkKernel(deadline int64) {
	k := &q.k
	q.mu.Lock()
	if q.closed { // Close waits for this Wait to leave
		q.mu.Unlock()
		return
	}
	k.parked, k.deadline = true, deadline
	if !k.started {
		k.started = true
		seam.Go(q.kernelLoop)
	}
	q.kick()
	q.mu.Unlock()
	k.waiter.Park()
}

// kernelLoop is the kernel goroutine: at each of its steps while a Wait is
// parked, it fires what it can (see fires) and wakes the Wait; it sleeps
// while no Wait is parked, and ends at Close.
func (q *Queue) kernelLoop() {
	k := &q.k
	idle := false
	for {
		q.mu.Lock()
		if k.exit {
			q.mu.Unlock()
			return
		}
		if k.parked && q.fires(idle) {
			k.parked = false
			k.waiter.Unpark()
		}
		// Nothing to wake, or nothing will come but by a call of the
		// queue: sleep until one.
		sleep := !k.parked || idle
		k.asleep = sleep
		q.mu.Unlock()
		if sleep {
			k.wake.Park()
			idle = false
			continue
		}
		idle = seam.AwaitIdleFor(1)
	}
}

// fires reports whether the kernel has something for the parked Wait:
// epoll has events to report (an fd, a wake-up), or its look failed (the
// Wait reports the error), or a timer is armed (the virtual clock moves
// to its deadline), or, if the run is idle, the Wait has a deadline (the
// clock moves to it). q.mu is held.
func (q *Queue) fires(idle bool) bool {
	k := &q.k
	ready, err := q.readable()
	switch {
	case err != nil:
		k.err = fmt.Errorf("eventq: poll: %w", err)
		return true
	case ready:
		return true
	case len(q.heap) > 0:
		k.clock = max(k.clock, q.heap[0].when)
		return true
	case idle && k.deadline >= 0:
		k.clock = max(k.clock, k.deadline)
		return true
	}
	return false
}

// readable reports whether the epoll fd has events to report, without
// taking them, or the kernel's error; it retries an interrupted poll.
func (q *Queue) readable() (bool, error) {
	pfd := []unix.PollFd{{Fd: int32(q.epfd), Events: unix.POLLIN}}
	for {
		n, err := q.sys.poll(pfd)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return false, err
		}
		return n > 0 && pfd[0].Revents&unix.POLLIN != 0, nil
	}
}

// afterFunc runs f on a goroutine of its own once d has passed (Sleep's
// timer where there is no queue): time.AfterFunc, but in a goroutine of a
// controlled run, a goroutine of the run asleep on virtual time
// (seam.Sleep), so that when the timer fires is the scheduler's choice.
func afterFunc(d time.Duration, f func()) {
	if seam.ID() < 0 {
		time.AfterFunc(d, f)
		return
	}
	seam.Go(func() {
		seam.Sleep(d)
		f()
	})
}

// pause waits until d has passed, and reports true, or until ctx ends,
// and reports false (Sleep in place); in a controlled run d is virtual
// (seam.WithTimeout). The timeout's context is not derived from ctx: a
// step's context is often not one of package context's (a runtime's),
// and deriving from it would start a goroutine outside the run to watch
// it; the wait watches both instead.
func pause(ctx context.Context, d time.Duration) bool {
	t, cancel := seam.WithTimeout(context.Background(), d)
	defer cancel()
	return seam.Await2(t.Done(), ctx.Done()) == 0 && ctx.Err() == nil
}
