//go:build !sched

package eventq

import (
	"context"
	"time"
)

// kernel is a queue's part under impl/seam's controlled scheduler, which
// an ordinary build does not have (kernel_sched.go has the other build's):
// empty, and every method below is a constant or does nothing, inlined
// away, so that the queue's code and cost are those of a queue without
// it. The two functions at the end, Sleep's timer and its wait in place,
// are the ordinary build's own versions of kernel_sched.go's.
type kernel struct{}

// controlled reports whether the queue runs under the controlled
// scheduler: never in an ordinary build.
func (q *Queue) controlled() bool { return false }

// now is the timers' clock: mono.
func (q *Queue) now() int64 { return mono() }

// control, called by New, does nothing.
func (q *Queue) control() {}

// kick, called where the queue may have something new to hand out, does
// nothing.
func (q *Queue) kick() {}

// abandoned, called by Close, reports false.
func (q *Queue) abandoned() bool { return false }

// closeKernel, called by Close, does nothing.
func (q *Queue) closeKernel() {}

// waitKernel is never called: controlled is false.
func (q *Queue) waitKernel(dst []Ready, timeout time.Duration) ([]Ready, error) { return dst, nil }

// afterFunc runs f on a goroutine of its own once d has passed, holding
// none meanwhile: time.AfterFunc (Sleep's timer where there is no queue).
func afterFunc(d time.Duration, f func()) { time.AfterFunc(d, f) }

// pause waits until d has passed, and reports true, or until ctx ends,
// and reports false (Sleep in place).
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
