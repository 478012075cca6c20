package eventq

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The kernel's errors after New: Rearm, Wait, Wake, Close (faults_test.go
// has the plan that makes them happen).

// readablePipe returns the ends of a non-blocking pipe with a byte in it,
// closed at cleanup.
func readablePipe(t *testing.T) (r, w int) {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	if _, err := unix.Write(fds[1], []byte{1}); err != nil {
		t.Fatal(err)
	}
	return fds[0], fds[1]
}

// firings waits (up to patienceFaults) and returns what fired.
func firings(t *testing.T, q *Queue, timeout time.Duration) []Ready {
	t.Helper()
	got, err := q.Wait(nil, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Catches: a Rearm that reports success though the kernel refused to arm
// the registration again (epoll_ctl MOD for a level registration, ADD for
// an exclusive one, timerfd_settime for a periodic timer): its
// continuation is then neither lent nor ever handed out again, lost. The
// registration must stay lent, so that a second Rearm, the kernel
// willing, arms it and it fires.
func TestRearmKernelErrors(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		name     string
		c        call
		register func(q *Queue, fd int, c *cont.C) (ID, error)
	}{
		{"level", callEpollMod, func(q *Queue, fd int, c *cont.C) (ID, error) { return q.Register(fd, Read, c) }},
		{"exclusive", callEpollAdd, func(q *Queue, fd int, c *cont.C) (ID, error) { return q.Register(fd, Read|Exclusive, c) }},
		{"every", callTimerfdSet, func(q *Queue, _ int, c *cont.C) (ID, error) { return q.Every(time.Millisecond, c) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &plan{}
			q := faultyQueue(t, p)
			r, _ := readablePipe(t)
			id, err := tc.register(q, r, cont.New(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := firings(t, q, patienceFaults); len(got) != 1 || got[0].Ended {
				t.Fatalf("fired %v, want registration %d lent", got, id)
			}
			p.add(failing(tc.c, unix.ENOMEM))
			settled(t, p, unix.ENOMEM, func() error { return q.Rearm(id) })
			if reg := q.regs[id]; reg == nil || !reg.lent || reg.kind == kindTimer && reg.hidx >= 0 {
				t.Fatalf("after a failed Rearm: %+v, want it lent still, out of the heap", reg)
			}
			if got := firings(t, q, 20*time.Millisecond); len(got) != 0 {
				t.Fatalf("a lent registration fired after a failed Rearm: %v", got)
			}
			if err := q.Rearm(id); err != nil {
				t.Fatalf("Rearm, the kernel willing: %v", err)
			}
			if got := firings(t, q, patienceFaults); len(got) != 1 || got[0].ID != id {
				t.Fatalf("fired %v after Rearm, want registration %d", got, id)
			}
		})
	}
}

// Catches: a Wait that swallows epoll_wait's error (EBADF: the queue's
// epoll fd is gone), in the look that does not block (Poll) and in the
// one made where it parks (Wait with a timeout): it would hand out
// nothing and report nothing, for ever; one that reports it but stays the
// queue's waiter (every later Wait ErrBusy), or loses the registration
// that was ready.
func TestWaitKernelErrors(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, timeout := range []time.Duration{0, patienceFaults, -1} {
		t.Run(timeout.String(), func(t *testing.T) {
			p := &plan{}
			q := faultyQueue(t, p)
			r, _ := readablePipe(t)
			id, err := q.Register(r, Read, cont.New(nil))
			if err != nil {
				t.Fatal(err)
			}
			p.add(failing(callEpollWait, unix.EBADF))
			settled(t, p, unix.EBADF, func() error {
				got, err := q.Wait(nil, timeout)
				if len(got) != 0 {
					t.Errorf("a failed Wait handed out %v", got)
				}
				return err
			})
			if got := firings(t, q, patienceFaults); len(got) != 1 || got[0].ID != id {
				t.Fatalf("fired %v after a failed Wait, want registration %d", got, id)
			}
		})
	}
}

// Catches: a Wait that takes an interrupted epoll_wait (EINTR) for an
// error and returns it, or returns early with nothing, where it owes a
// retry with what is left of its timeout (the package comment); in the
// look before parking and in the look where it parks.
func TestWaitRetriesInjectedEINTR(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, timeout := range []time.Duration{patienceFaults, -1} {
		for _, skip := range []int{0, 1} {
			t.Run(fmt.Sprint(timeout, "/after", skip), func(t *testing.T) {
				p := &plan{}
				q := faultyQueue(t, p)
				r, w := readablePipe(t)
				unix.Read(r, make([]byte, 1)) // empty until the write below
				id, err := q.Register(r, Read, cont.New(nil))
				if err != nil {
					t.Fatal(err)
				}
				p.add(failing(callEpollWait, unix.EINTR).after(skip))
				time.AfterFunc(10*time.Millisecond, func() { unix.Write(w, []byte{1}) })
				if got := firings(t, q, timeout); len(got) != 1 || got[0].ID != id {
					t.Fatalf("fired %v, want registration %d", got, id)
				}
				if p.failed() != 1 {
					t.Fatalf("%d epoll_waits interrupted, want 1: the test tests nothing", p.failed())
				}
			})
		}
	}
}

// Catches: an interrupted read (EINTR) of the wake-up eventfd taken for
// an empty one: the eventfd stays readable, and every Wait after returns
// at once for a wake-up that was taken already.
func TestDrainRetriesEINTR(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	p := &plan{}
	q := faultyQueue(t, p)
	if err := q.Wake(); err != nil {
		t.Fatal(err)
	}
	p.add(failing(callRead, unix.EINTR).on(q.wakefd))
	if _, err := q.Poll(nil); err != nil {
		t.Fatal(err)
	}
	if p.failed() != 1 {
		t.Fatalf("%d reads interrupted, want 1", p.failed())
	}
	var evs [4]unix.EpollEvent
	if n, err := unix.EpollWait(q.epfd, evs[:], 0); err != nil || n != 0 {
		t.Fatalf("epoll_wait after the Wait that took the wake-up: %d events (%v), want none", n, err)
	}
}

// Catches: a Wake that swallows the kernel's refusal to write the
// wake-up eventfd (the Wait it was for sleeps on), or that reports EAGAIN,
// which says the counter is full: a wake-up is pending anyway.
func TestWakeKernelErrors(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	p := &plan{}
	q := faultyQueue(t, p)
	p.add(failing(callWrite, unix.EBADF).on(q.wakefd))
	settled(t, p, unix.EBADF, q.Wake)
	p.add(failing(callWrite, unix.EAGAIN).on(q.wakefd))
	if err := q.Wake(); err != nil {
		t.Fatalf("Wake with the counter full: %v, want nil (a wake-up is pending)", err)
	}
}

// Catches: a Close that swallows a failed close of the timerfd, the
// wake-up eventfd, the epoll fd, or a registration's fd, or that stops
// at the first failure and leaves the rest open. Linux releases an fd
// whatever close reports, so each is closed once, and every error is
// reported, wrapped as it is.
func TestCloseKernelErrors(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	openFDs(t)
	before := openFDs(t)
	p := &plan{}
	q, err := newQueue(sys{faults: p})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := readablePipe(t)
	if _, err := q.Register(r, Read, cont.New(nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Signal(cont.New(nil), syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if _, err := q.After(time.Hour, cont.New(nil)); err != nil {
		t.Fatal(err)
	}
	fail := &rule{c: callClose, fd: anyFD, errno: unix.EIO} // every close
	p.add(fail)
	_, err = q.Close()
	if !errors.Is(err, unix.EIO) {
		t.Fatalf("Close with every close failing: %v, want EIO", err)
	}
	for _, what := range []string{"registration 1", "registration 2", "timerfd", "eventfd", "epoll fd"} {
		if !strings.Contains(err.Error(), what) {
			t.Errorf("Close's error does not report the %s: %v", what, err)
		}
	}
	if fail.hits != 5 {
		t.Errorf("%d closes, want 5 (two registrations, timerfd, eventfd, epoll fd)", fail.hits)
	}
	if fd := p.closedTwice(); fd >= 0 {
		t.Errorf("fd %d closed twice", fd)
	}
	if after := openFDs(t) - 2; after != before { // the pipe, closed at cleanup
		t.Errorf("%d fds open after Close, %d before New", after, before)
	}
}

// Catches: a Close that swallows the kernel's refusal of the wake-up of a
// Wait in progress: nothing then reports why Close waited for that Wait's
// own timeout. Close must still wait for the Wait to leave (it leaves
// with ErrClosed) and close everything.
func TestCloseReportsAFailedWake(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	p := &plan{}
	q, err := newQueue(sys{faults: p})
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := q.Wait(nil, 100*time.Millisecond)
		waited <- err
	}()
	for !q.holdsWaiter() {
		time.Sleep(time.Millisecond)
	}
	p.add(failing(callWrite, unix.EBADF).on(q.wakefd))
	if _, err := q.Close(); !errors.Is(err, unix.EBADF) {
		t.Fatalf("Close whose wake-up failed: %v, want EBADF", err)
	}
	if err := <-waited; err != ErrClosed {
		t.Fatalf("the Wait Close could not wake: %v, want ErrClosed", err)
	}
}

// holdsWaiter reports whether a Wait is in progress.
func (q *Queue) holdsWaiter() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting
}

// Catches: a Wait that takes a read deadline the kernel refused for set
// (park remembers it, and sets it no more): it parks with no deadline
// and sleeps past its timeout, for ever if nothing fires. It must try
// again (a second call), and return once its timeout has passed.
func TestWaitDeadlineRefused(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	p := &plan{}
	q := faultyQueue(t, p)
	p.add(failing(callDeadline, unix.EBADF))
	late := time.AfterFunc(3*time.Second, func() { q.Wake() })
	defer late.Stop()
	start := time.Now()
	got, err := q.Wait(nil, 20*time.Millisecond)
	if err != nil || len(got) != 0 {
		t.Fatalf("Wait: %v, %v; want none, nil", got, err)
	}
	if p.failed() != 1 || p.calls(callDeadline) < 2 {
		t.Fatalf("%d deadlines refused, %d set: want one refused, then set again", p.failed(), p.calls(callDeadline))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Wait(20ms), its first deadline refused, returned after %v (woken by the test)", took)
	}
}

// Catches, under the race detector: a Wait that clears its flag of a Wait
// in progress (q.waiting) after letting q.mu go, on its way out with what
// it found or with epoll_wait's error. Another goroutine's call that
// reads the flag under q.mu (a second Wait, which gets ErrBusy, a Close,
// which would wait for ever for a Wait that has left) could take the
// mutex in between; the detector sees the write unordered with that read.
// Two goroutines Poll the same queue, every epoll_wait failing: with
// EINTR (the way out with what it found, here nothing) or EBADF (the
// error's); no system call between two Polls, so that they meet often.
func TestWaitersTakeTurns(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, errno := range []unix.Errno{unix.EINTR, unix.EBADF} {
		t.Run(errno.Error(), func(t *testing.T) {
			p := &plan{}
			q := faultyQueue(t, p)
			p.add(&rule{c: callEpollWait, fd: anyFD, errno: errno})
			done := make(chan int)
			for range 2 {
				go func() {
					took := 0
					for range 5000 {
						runtime.Gosched() // let the other take the mutex as this one lets it go
						_, err := q.Poll(nil)
						switch {
						case err == nil && errno == unix.EINTR, errors.Is(err, unix.EBADF) && errno == unix.EBADF:
							took++
						case err != ErrBusy:
							t.Errorf("Poll: %v", err)
						}
					}
					done <- took
				}()
			}
			if took := <-done + <-done; took == 0 {
				t.Fatal("no Poll was the queue's waiter")
			}
		})
	}
}

// Catches: a level exclusive registration whose disarm as it fires (an
// epoll_ctl DEL) the kernel refused, then left armed while lent: every
// epoll_wait returns at once for it, a Wait spinning on the CPU, and
// Rearm's ADD fails with EEXIST for ever, the registration stuck lent.
// The DEL is tried again at its next firing, and Rearm takes EEXIST for
// armed: once (the retry works) and always (it never does).
func TestExclusiveDisarmRefused(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, times := range []int{1, 0} {
		t.Run(fmt.Sprint("fails ", times), func(t *testing.T) {
			p := &plan{}
			q := faultyQueue(t, p)
			r, _ := readablePipe(t)
			id, err := q.Register(r, Read|Exclusive, cont.New(nil))
			if err != nil {
				t.Fatal(err)
			}
			p.add(&rule{c: callEpollDel, fd: anyFD, times: times, errno: unix.ENOMEM})
			if got := firings(t, q, patienceFaults); len(got) != 1 || got[0].ID != id {
				t.Fatalf("fired %v, want registration %d", got, id)
			}
			if got := firings(t, q, 0); len(got) != 0 {
				t.Fatalf("fired %v while lent", got)
			}
			var evs [4]unix.EpollEvent
			if n, _ := unix.EpollWait(q.epfd, evs[:], 0); times == 1 && n != 0 {
				t.Fatalf("epoll_wait: %d events with the registration lent: its disarm was not tried again", n)
			}
			if err := q.Rearm(id); err != nil {
				t.Fatalf("Rearm after a failed disarm: %v", err)
			}
			if got := firings(t, q, patienceFaults); len(got) != 1 || got[0].ID != id {
				t.Fatalf("fired %v after Rearm, want registration %d", got, id)
			}
		})
	}
}

// Catches: a signal registration that the kernel refused to arm again
// after a firing with no signal (the eventfd was readable, its signals
// taken by the firing before), left disarmed and not lent: no later
// signal ever reaches it. It is handed out instead, lent with no signal,
// and Rearm arms it.
func TestSignalRearmRefused(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	p := &plan{}
	q := faultyQueue(t, p)
	id, err := q.Signal(cont.New(nil), syscall.SIGUSR2)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Cancel(id)
	var one [8]byte
	one[0] = 1
	if _, err := unix.Write(q.regs[id].fd, one[:]); err != nil { // readable, no signal
		t.Fatal(err)
	}
	p.add(failing(callEpollMod, unix.ENOMEM))
	got := firings(t, q, patienceFaults)
	if len(got) != 1 || got[0].ID != id || len(got[0].Signals) != 0 || p.failed() != 1 {
		t.Fatalf("fired %v (%d calls failed), want registration %d lent with no signal", got, p.failed(), id)
	}
	if err := q.Rearm(id); err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(unix.Getpid(), unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	got = firings(t, q, patienceFaults)
	if len(got) != 1 || len(got[0].Signals) != 1 {
		t.Fatalf("fired %v after Rearm and a signal, want the signal", got)
	}
}

// Catches: a queue that does not believe the kernel when the read that
// takes a wake-up fails (EIO here): the read took nothing, the wake-up is
// still pending, and the next Wait must return for it at once; a drain
// that read it all the same, or dropped it, would let that Wait sleep
// through a wake-up it owes.
func TestWakeKeptWhenItsReadFails(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	p := &plan{}
	q := faultyQueue(t, p)
	if err := q.Wake(); err != nil {
		t.Fatal(err)
	}
	p.add(failing(callRead, unix.EIO).on(q.wakefd))
	if _, err := q.Poll(nil); err != nil {
		t.Fatal(err)
	}
	if p.failed() != 1 {
		t.Fatalf("%d reads failed, want 1", p.failed())
	}
	start := time.Now()
	if _, err := q.Wait(nil, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Wait with a wake-up pending (its read failed) returned after %v", took)
	}
}
