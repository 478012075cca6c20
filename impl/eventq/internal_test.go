package eventq

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
)

// Catches: a lent level registration left armed in the kernel. The lending
// rule would still hold (Wait does not hand it out again), but every
// epoll_wait would return at once for it: a Wait spinning on the CPU
// until the continuation is handed back.
func TestLentLevelDisarmedInKernel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		register func(q *Queue, c *cont.C, fd int) (ID, error)
	}{
		{"Read", func(q *Queue, c *cont.C, fd int) (ID, error) { return q.Register(c, fd, Read) }},
		{"Read|Level", func(q *Queue, c *cont.C, fd int) (ID, error) { return q.Register(c, fd, Read|Level) }},
		{"Read|Exclusive", func(q *Queue, c *cont.C, fd int) (ID, error) { return q.Register(c, fd, Read|Exclusive) }},
		{"Every", func(q *Queue, c *cont.C, _ int) (ID, error) { return q.Every(time.Microsecond, c) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := New()
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
				t.Fatal(err)
			}
			defer unix.Close(p[0])
			defer unix.Close(p[1])
			unix.Write(p[1], []byte("x")) // readable for good
			id, err := tc.register(q, cont.New(nil), p[0])
			if err != nil {
				t.Fatal(err)
			}
			got, err := q.Wait(nil, 5*time.Second)
			if err != nil || len(got) != 1 || got[0].ID != id {
				t.Fatalf("Wait: %v %v", got, err)
			}
			time.Sleep(time.Millisecond) // the timer expires again meanwhile
			var evs [4]unix.EpollEvent
			if n, err := unix.EpollWait(q.epfd, evs[:], 0); err != nil || n != 0 {
				t.Fatalf("epoll_wait while lent: %d events (%v), want none", n, err)
			}
			if err := q.Rearm(id); err != nil {
				t.Fatal(err)
			}
			if n, err := unix.EpollWait(q.epfd, evs[:], 5000); err != nil || n != 1 {
				t.Fatalf("epoll_wait after Rearm: %d events (%v), want 1", n, err)
			}
		})
	}
}
