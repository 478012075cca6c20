package eventq

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
)

// After registers c to be resumed once, d from now, and returns the
// registration's id: a one-shot timer on a timerfd of its own
// (CLOCK_MONOTONIC), closed when the timer fires or is cancelled. A d of
// zero or less fires at once (at the next Wait). It fails with ErrNilCont,
// ErrRegistered, ErrClosed, or the kernel's error.
func (q *Queue) After(d time.Duration, c *cont.C) (ID, error) {
	return q.timer(c, d, 0)
}

// Every registers c to be resumed every d, and returns the registration's
// id: a periodic timer on a timerfd of its own, closed when the timer is
// cancelled. Its continuation is lent at each firing (see the package
// comment): expirations while it is lent are counted, and the next firing
// reports them all in Ready.Count. It fails as After does, and with
// ErrBadDuration if d is not positive.
func (q *Queue) Every(d time.Duration, c *cont.C) (ID, error) {
	if d <= 0 {
		return 0, fmt.Errorf("eventq: every %v: %w", d, ErrBadDuration)
	}
	return q.timer(c, d, d)
}

// Sleep registers c to be resumed once, d from now: After without the id,
// the seed's Sleep. A step that sleeps registers its own continuation and
// lets go of it; whoever waits on q resumes it.
func (q *Queue) Sleep(d time.Duration, c *cont.C) error {
	_, err := q.After(d, c)
	return err
}

// timer registers c on a new timerfd that expires first after first, then
// every period (0: once).
func (q *Queue) timer(c *cont.C, first, period time.Duration) (ID, error) {
	// A zero it_value would disarm the timer rather than fire it.
	first = max(first, time.Nanosecond)
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.admit(c); err != nil {
		return 0, err
	}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK)
	if err != nil {
		return 0, fmt.Errorf("eventq: timerfd_create: %w", err)
	}
	spec := unix.ItimerSpec{
		Value:    unix.NsecToTimespec(int64(first)),
		Interval: unix.NsecToTimespec(int64(period)),
	}
	if err := unix.TimerfdSettime(fd, 0, &spec, nil); err != nil {
		unix.Close(fd)
		return 0, fmt.Errorf("eventq: timerfd_settime: %w", err)
	}
	events := Read
	if period == 0 {
		events |= OneShot
	}
	r := &reg{c: c, kind: kindTimer, fd: fd, events: events, kev: unix.EPOLLIN | unix.EPOLLONESHOT}
	if err := q.add(r); err != nil {
		unix.Close(fd)
		return 0, fmt.Errorf("eventq: timer: %w", err)
	}
	return r.id, nil
}
