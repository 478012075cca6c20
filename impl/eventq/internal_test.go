package eventq

import (
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Catches: a lent level registration left armed in the kernel. The lending
// rule would still hold (Wait does not hand it out again), but every
// epoll_wait would return at once for it: a Wait spinning on the CPU
// until the continuation is handed back.
func TestLentLevelDisarmedInKernel(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		name     string
		register func(q *Queue, c *cont.C, fd int) (ID, error)
	}{
		{"Read", func(q *Queue, c *cont.C, fd int) (ID, error) { return q.Register(fd, Read, c) }},
		{"Read|Level", func(q *Queue, c *cont.C, fd int) (ID, error) { return q.Register(fd, Read|Level, c) }},
		{"Read|Exclusive", func(q *Queue, c *cont.C, fd int) (ID, error) { return q.Register(fd, Read|Exclusive, c) }},
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

// checkHeap fails the test unless q.heap is a min-heap by deadline, then
// id, and each timer's hidx is its index.
func checkHeap(t *testing.T, q *Queue) {
	t.Helper()
	for i, r := range q.heap {
		if r.hidx != i {
			t.Fatalf("timer %d at index %d has hidx %d", r.id, i, r.hidx)
		}
		if p := (i - 1) / 2; i > 0 && timerLess(r, q.heap[p]) {
			t.Fatalf("timer %d (%d) at %d sorts before its parent %d (%d)", r.id, r.when, i, q.heap[p].id, q.heap[p].when)
		}
	}
}

// Catches: a heap removal from the middle that does not sift the moved
// last element both ways (the heap order breaks, and timers then fire out
// of order or a removed one stays reachable), stale hidx values (Cancel
// then removes the wrong timer), and pops that are not in deadline order.
// Random pushes (with many equal deadlines), removals at random positions
// and pops of the minimum are checked against a plain set after each.
func TestTimerHeap(t *testing.T) {
	q := &Queue{}
	rng := rand.New(rand.NewPCG(9, 10))
	in := map[*reg]bool{}
	var id ID
	for step := range 20_000 {
		switch op := rng.IntN(10); {
		case op < 5 || len(q.heap) == 0:
			id++
			r := &reg{id: id, when: rng.Int64N(50), hidx: -1}
			q.push(r)
			in[r] = true
		case op < 8:
			r := q.heap[rng.IntN(len(q.heap))]
			q.remove(r)
			if r.hidx != -1 {
				t.Fatalf("step %d: removed timer has hidx %d", step, r.hidx)
			}
			delete(in, r)
		default:
			top := q.heap[0]
			for r := range in {
				if timerLess(r, top) {
					t.Fatalf("step %d: heap top %d (%d), but %d (%d) sorts first", step, top.id, top.when, r.id, r.when)
				}
			}
			q.remove(top)
			delete(in, top)
		}
		if len(q.heap) != len(in) {
			t.Fatalf("step %d: %d in the heap, want %d", step, len(q.heap), len(in))
		}
		checkHeap(t, q)
	}
}

// Catches: the timerfd left armed when the heap empties (Cancel of the
// last timer, or the last one handed out): it then expires for nothing,
// a spurious wake-up of the Wait for every cancelled timeout.
func TestTimerfdDisarmedWhenEmpty(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		name string
		make func(q *Queue) error
	}{
		{"Cancel", func(q *Queue) error {
			id, err := q.After(time.Millisecond, cont.New(nil))
			if err == nil && !q.Cancel(id) {
				err = ErrUnknownID
			}
			return err
		}},
		{"Fired", func(q *Queue) error {
			if _, err := q.After(0, cont.New(nil)); err != nil {
				return err
			}
			got, err := q.Wait(nil, 5*time.Second)
			if err == nil && len(got) != 1 {
				err = ErrUnknownID
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := New()
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if err := tc.make(q); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Millisecond) // past the timer's deadline
			var evs [4]unix.EpollEvent
			if n, err := unix.EpollWait(q.epfd, evs[:], 0); err != nil || n != 0 {
				t.Fatalf("epoll_wait with no timer: %d events (%v), want none", n, err)
			}
		})
	}
}

// Catches: a timerfd left expired (readable) after a Wait has handed out
// what was due, while later timers remain: it is set again only when an
// earlier deadline comes, so every epoll_wait returns at once for it, a
// Wait spinning on the CPU until the next timer is due. Both after a
// firing and after the earliest timer was cancelled (its expiry then
// hands out nothing).
func TestTimerfdNotLeftReady(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		name  string
		first func(q *Queue) error
	}{
		{"Fired", func(q *Queue) error {
			_, err := q.After(0, cont.New(nil))
			return err
		}},
		{"CancelledEarliest", func(q *Queue) error {
			id, err := q.After(time.Millisecond, cont.New(nil))
			if err == nil && !q.Cancel(id) {
				err = ErrUnknownID
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := New()
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if err := tc.first(q); err != nil {
				t.Fatal(err)
			}
			if _, err := q.After(time.Hour, cont.New(nil)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Millisecond) // the first deadline has passed
			if _, err := q.Poll(nil); err != nil {
				t.Fatal(err)
			}
			var evs [4]unix.EpollEvent
			if n, err := unix.EpollWait(q.epfd, evs[:], 0); err != nil || n != 0 {
				t.Fatalf("epoll_wait with the next timer an hour away: %d events (%v), want none", n, err)
			}
		})
	}
}
