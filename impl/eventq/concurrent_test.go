package eventq_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/eventq"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Catches, under the race detector: the registration table touched
// without the mutex, and fds leaked by registrations that race a Wait.
func TestConcurrentUse(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	fdCount(t)
	before := fdCount(t)
	q, err := eventq.New()
	if err != nil {
		t.Fatal(err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	unix.Write(p[1], []byte("x")) // always readable, always writable
	var stop atomic.Bool
	var fired atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		var buf []eventq.Ready
		for !stop.Load() {
			var err error
			buf, err = q.Wait(buf[:0], time.Millisecond)
			if err != nil {
				t.Error(err)
				return
			}
			for _, rd := range buf {
				fired.Add(1)
				if !rd.Ended {
					q.Rearm(rd.ID) // may race a Cancel: ErrUnknownID then
				}
			}
		}
	})
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				var id eventq.ID
				var err error
				c := idle()
				switch (g + i) % 4 {
				case 0:
					id, err = q.Register(p[0], eventq.Read, c)
				case 1:
					id, err = q.Register(p[1], eventq.Write|eventq.OneShot, c)
				case 2:
					id, err = q.Register(p[0], eventq.Read|eventq.Edge, c)
				case 3:
					id, err = q.After(0, c)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if i%3 != 0 {
					q.Cancel(id)
				}
				q.Wake()
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if fired.Load() == 0 {
		t.Error("nothing fired")
	}
	if _, err := q.Close(); err != nil {
		t.Fatal(err)
	}
	unix.Close(p[0])
	unix.Close(p[1])
	if after := fdCount(t); after != before {
		t.Fatalf("%d fds before, %d after", before, after)
	}
}
