package eventq

import (
	"errors"
	"fmt"
	"slices"

	"github.com/insideout-go/insideout/impl/cont"
)

// Close ends every registration, closes every fd the queue opened, and
// returns the continuations of the registrations that were armed (not
// lent), in registration order. A Wait in progress is woken and fails with
// ErrClosed; Close waits until it has stopped sleeping before closing the
// epoll fd. A second Close returns nil and ErrClosed. The error joins
// those of the kernel (wrapped as they are): the wake-up of that Wait,
// each close. Every fd is closed whatever they are.
func (q *Queue) Close() ([]*cont.C, error) {
	perturb()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, ErrClosed
	}
	q.closed = true
	var errs []error
	if q.waiting && !q.abandoned() {
		// A wake-up the kernel refused (never seen) is reported; the Wait
		// then leaves when it would have without it (its timeout, a
		// firing), and Close waits until it has.
		if err := q.poke(); err != nil {
			errs = append(errs, err)
		}
		for q.waiting {
			q.left.Wait()
		}
	}
	q.closeKernel()
	ids := make([]ID, 0, len(q.regs))
	for id := range q.regs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var held []*cont.C
	for _, id := range ids {
		r := q.regs[id]
		if !r.lent {
			held = append(held, r.c)
		}
		if err := q.end(r); err != nil {
			errs = append(errs, fmt.Errorf("eventq: close registration %d: %w", id, err))
		}
	}
	q.due = nil
	q.heap = nil
	if q.tfd >= 0 {
		if err := q.sys.close(q.tfd); err != nil {
			errs = append(errs, fmt.Errorf("eventq: close timerfd: %w", err))
		}
		q.tfd = -1
	}
	if err := q.sys.close(q.wakefd); err != nil {
		errs = append(errs, fmt.Errorf("eventq: close eventfd: %w", err))
	}
	if err := q.sys.closeFile(q.ep, q.epfd); err != nil {
		errs = append(errs, fmt.Errorf("eventq: close epoll fd: %w", err))
	}
	return held, errors.Join(errs...)
}
