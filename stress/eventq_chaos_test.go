//go:build chaos

package stress

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/chaoscheck"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Built with -tags chaos (CI's stress step), impl/eventq's own points perturb it: on one
// processor, another goroutine runs in the middle of a round of queue
// calls (Wake, Poll, a timer armed and cancelled: six points) in most
// rounds, and seldom in the middle of the same system calls made on the
// same kinds of fd without the queue (the control: eventfd write,
// epoll_wait, timerfd_settime). The bug: a queue with no chaos point, or
// points that are not impl/chaos's, which the chaos build would leave
// unperturbed: its count would be the control's.
func TestChaosPerturbsTheQueue(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if !chaos.Enabled {
		t.Fatal("built without -tags chaos")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	chaos.SetSeed(1)
	q, err := eventq.New()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	c := cont.New(func(context.Context, *cont.C) cont.Step { return nil })
	calls := func() {
		q.Wake()
		q.Poll(nil)
		id, err := q.After(time.Hour, c)
		if err != nil {
			t.Fatal(err)
		}
		q.Cancel(id)
	}
	epfd, efd, tfd := bareFDs(t)
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	var evs [8]unix.EpollEvent
	bare := func() {
		unix.Write(efd, one[:])
		unix.EpollWait(epfd, evs[:], 0)
		unix.Read(efd, one[:])
		unix.TimerfdSettime(tfd, 0, &unix.ItimerSpec{Value: unix.NsecToTimespec(int64(time.Hour))}, nil)
		unix.TimerfdSettime(tfd, 0, &unix.ItimerSpec{}, nil)
	}
	const rounds = 400
	perturbed := chaoscheck.Interleaved(rounds, calls)
	control := chaoscheck.Interleaved(rounds, bare)
	t.Logf("another goroutine ran in the middle of %d of %d rounds of queue calls, and of %d of %d rounds of the bare system calls", perturbed, rounds, control, rounds)
	if perturbed < rounds/3 {
		t.Errorf("the chaos build perturbed %d of %d rounds of queue calls, want most", perturbed, rounds)
	}
	if control > rounds/10 {
		t.Errorf("the control was perturbed %d of %d times: the check cannot tell the queue's points from the rest", control, rounds)
	}
}

// bareFDs returns an epoll fd watching an eventfd, the eventfd, and a
// timerfd, closed at the end of the test.
func bareFDs(t *testing.T) (epfd, efd, tfd int) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(epfd) })
	if efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(efd) })
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}); err != nil {
		t.Fatal(err)
	}
	if tfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(tfd) })
	return epfd, efd, tfd
}
