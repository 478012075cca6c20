//go:build sched

package eventq

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// firstChooser runs the first runnable goroutine at each decision.
type firstChooser struct{}

func (firstChooser) Choose(*seam.Decision) int { return 0 }

// Catches: the controlled kernel taking a failed look at the epoll fd
// (poll) for "nothing to report": a Wait parked with nothing else to wake
// it sleeps for ever (the scheduler's deadlock), its error never
// reported. The look must wake the Wait, which reports the kernel's
// error, wrapped; and an interrupted look (EINTR) is retried, not
// reported.
func TestControlledPollError(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		errno unix.Errno
		want  error // from a Wait of an hour with nothing to fire
	}{
		{unix.EBADF, unix.EBADF},
		{unix.EINTR, nil},
	} {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			p := &plan{}
			var err error
			var q *Queue
			sr, rerr := seam.Run(firstChooser{}, func() {
				if q, err = newQueue(sys{faults: p}); err != nil {
					return
				}
				p.add(failing(callPoll, tc.errno))
				_, err = q.Wait(nil, 3600e9)
			}, seam.Options{})
			if rerr != nil {
				t.Fatal(rerr)
			}
			if q != nil {
				q.Close()
			}
			if sr.Outcome != seam.Finished {
				t.Fatalf("%v: %s", sr.Outcome, sr.Failure)
			}
			if p.failed() != 1 {
				t.Fatalf("%d polls failed, want 1", p.failed())
			}
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Wait: %v, want %v", err, tc.want)
			}
		})
	}
}
