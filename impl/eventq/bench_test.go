package eventq_test

import (
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"golang.org/x/sys/unix"
)

// The queue's hot paths, one system call or a few each: what the seam in
// sys.go (the indirection that lets a test make a system call fail) must
// not slow down or make allocate. The figures are in the report of the
// change that measured them; bench/eventq_test.go has the end-to-end ones
// (Timers, PipeWake, Echo).

func benchQueue(b *testing.B) *eventq.Queue {
	b.Helper()
	q, err := eventq.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close() })
	return q
}

func benchPipe(b *testing.B) (r, w int) {
	b.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

// Register and Cancel of an fd: a dup, epoll_ctl ADD and DEL, a close.
func BenchmarkRegisterCancel(b *testing.B) {
	q := benchQueue(b)
	r, _ := benchPipe(b)
	c := cont.New(nil)
	b.ReportAllocs()
	for b.Loop() {
		id, err := q.Register(r, eventq.Read, c)
		if err != nil {
			b.Fatal(err)
		}
		q.Cancel(id)
	}
}

// A level registration on a readable pipe, fired by Poll and handed back
// by Rearm, again and again: epoll_wait, then epoll_ctl MOD.
func BenchmarkPollRearm(b *testing.B) {
	q := benchQueue(b)
	r, w := benchPipe(b)
	if _, err := unix.Write(w, []byte{1}); err != nil {
		b.Fatal(err)
	}
	id, err := q.Register(r, eventq.Read, cont.New(nil))
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]eventq.Ready, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		got, err := q.Poll(dst[:0])
		if err != nil || len(got) != 1 {
			b.Fatalf("Poll: %v, %v", got, err)
		}
		if err := q.Rearm(id); err != nil {
			b.Fatal(err)
		}
	}
}

// Wake, then a Poll that takes it: an eventfd write, epoll_wait, an
// eventfd read.
func BenchmarkWakePoll(b *testing.B) {
	q := benchQueue(b)
	dst := make([]eventq.Ready, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Wake(); err != nil {
			b.Fatal(err)
		}
		if _, err := q.Poll(dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// A Wait that sleeps in the netpoller until another goroutine's Wake: the
// park path (SetReadDeadline once, the raw read, epoll_wait).
func BenchmarkWaitWoken(b *testing.B) {
	q := benchQueue(b)
	dst := make([]eventq.Ready, 0, 4)
	woke := make(chan struct{})
	b.Cleanup(func() { close(woke) })
	go func() {
		for range woke {
			q.Wake()
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		woke <- struct{}{}
		if _, err := q.Wait(dst[:0], time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// After and Cancel of a timer that becomes the earliest: a heap push and
// timerfd_settime, a heap removal and timerfd_settime to disarm.
func BenchmarkAfterCancel(b *testing.B) {
	q := benchQueue(b)
	c := cont.New(nil)
	b.ReportAllocs()
	for b.Loop() {
		id, err := q.After(time.Hour, c)
		if err != nil {
			b.Fatal(err)
		}
		q.Cancel(id)
	}
}

// After and Cancel of a timer behind an earlier one: heap work, no system
// call.
func BenchmarkAfterCancelBehind(b *testing.B) {
	q := benchQueue(b)
	if _, err := q.After(time.Hour, cont.New(nil)); err != nil {
		b.Fatal(err)
	}
	c := cont.New(nil)
	b.ReportAllocs()
	for b.Loop() {
		id, err := q.After(2*time.Hour, c)
		if err != nil {
			b.Fatal(err)
		}
		q.Cancel(id)
	}
}

// After(0) and the Poll that fires it: a timer handed out, the timerfd
// set and disarmed.
func BenchmarkAfterFire(b *testing.B) {
	q := benchQueue(b)
	c := cont.New(nil)
	dst := make([]eventq.Ready, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.After(0, c); err != nil {
			b.Fatal(err)
		}
		got, err := q.Poll(dst[:0])
		if err != nil || len(got) != 1 {
			b.Fatalf("Poll: %v, %v", got, err)
		}
	}
}
