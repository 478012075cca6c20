package eventq

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The kernel's errors, made to happen: a plan planted in a queue's sys
// (sys.go) fails the system calls it names, with the errno it names, and
// logs every call the queue makes. Each test below makes one call fail
// and checks what spec.EventQueue and the package comment promise: the
// error reaches the caller wrapped as it is (errors.Is finds the errno),
// nothing is left open (the fds counted in /proc/self/fd, no fd closed
// twice), no registration is left half-made, EINTR is retried.

// anyFD makes a rule match a call whatever its fd.
const anyFD = -2

// rule fails calls of c (on fd, or on any): it lets skip of them through,
// then fails the next times of them (0: every one after) with errno.
type rule struct {
	c     call
	fd    int
	skip  int
	times int
	errno unix.Errno
	hits  int // calls of c (on fd) seen
}

// failing returns the rule that fails the next call of c, on any fd.
func failing(c call, errno unix.Errno) *rule {
	return &rule{c: c, fd: anyFD, times: 1, errno: errno}
}

func (r *rule) after(n int) *rule { r.skip = n; return r }
func (r *rule) on(fd int) *rule   { r.fd = fd; return r }

var callNames = [...]string{
	callEpollCreate: "epoll_create1", callEventfd: "eventfd", callEpollAdd: "epoll_ctl_add",
	callEpollMod: "epoll_ctl_mod", callEpollDel: "epoll_ctl_del", callNonblock: "set_nonblock",
	callDup: "dup", callTimerfdCreate: "timerfd_create", callTimerfdSet: "timerfd_settime",
	callEpollWait: "epoll_wait", callPoll: "poll", callRead: "read", callWrite: "write",
	callClose: "close", callDeadline: "set_read_deadline",
}

func (c call) String() string { return callNames[c] }

// logged is one call a queue made: what, on which fd, and the error the
// plan failed it with (nil: made as it is).
type logged struct {
	c   call
	fd  int
	err error
}

// plan is a faults: the rules in force, and the log of every call.
type plan struct {
	mu    sync.Mutex
	rules []*rule
	log   []logged
}

func (p *plan) fail(c call, fd int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	for _, r := range p.rules {
		if r.c != c || r.fd != anyFD && r.fd != fd {
			continue
		}
		r.hits++
		n := r.hits - r.skip
		if err == nil && n > 0 && (r.times == 0 || n <= r.times) {
			err = r.errno
		}
	}
	p.log = append(p.log, logged{c, fd, err})
	return err
}

// add puts rules in force, from the next call on.
func (p *plan) add(rules ...*rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, rules...)
}

// failed reports how many calls the plan has failed.
func (p *plan) failed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.log {
		if l.err != nil {
			n++
		}
	}
	return n
}

// calls reports how many calls of c the queue made (or tried).
func (p *plan) calls(c call) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.log {
		if l.c == c {
			n++
		}
	}
	return n
}

// closedTwice returns an fd the queue closed twice (the second close
// could have closed another's fd by the same number), or -1.
func (p *plan) closedTwice() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[int]bool{}
	for _, l := range p.log {
		if l.c != callClose {
			continue
		}
		if seen[l.fd] {
			return l.fd
		}
		seen[l.fd] = true
	}
	return -1
}

// faultyQueue returns a queue whose system calls go through p; Close at
// cleanup.
func faultyQueue(t *testing.T, p *plan) *Queue {
	t.Helper()
	q, err := newQueue(sys{faults: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// openFDs counts this process's open fds.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// settled runs f, which makes a call the plan fails, and checks what
// every failed call owes: the injected errno reaches the caller (want,
// through errors.Is), the plan did fail a call, no fd is left open that
// was not before, none was closed twice.
func settled(t *testing.T, p *plan, errno unix.Errno, f func() error) {
	t.Helper()
	openFDs(t) // the first read may open the runtime's poller fds
	before := openFDs(t)
	err := f()
	if !errors.Is(err, errno) {
		t.Fatalf("got %v, want an error wrapping %v (%d calls failed)", err, errno, p.failed())
	}
	if p.failed() == 0 {
		t.Fatalf("the plan failed no call: the test tests nothing")
	}
	if after := openFDs(t); after != before {
		t.Fatalf("%d fds open after the failed call, %d before: a leak", after, before)
	}
	if fd := p.closedTwice(); fd >= 0 {
		t.Fatalf("fd %d closed twice", fd)
	}
}

// Catches: New going on after a system call failed (an epoll fd that
// cannot wake, a queue on fd -1: the errors it then returns are not the
// kernel's first, or none), and New leaving open what it had opened
// before the failure (the epoll fd, the wake-up eventfd), or closing one
// twice. Each of its four system calls fails in turn.
func TestNewKernelErrors(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		c     call
		errno unix.Errno
	}{
		{callEpollCreate, unix.EMFILE},
		{callEventfd, unix.EMFILE},
		{callEpollAdd, unix.ENOMEM},
		{callNonblock, unix.EBADF},
	} {
		t.Run(fmt.Sprint(tc.c), func(t *testing.T) {
			p := &plan{}
			p.add(failing(tc.c, tc.errno))
			settled(t, p, tc.errno, func() error {
				q, err := newQueue(sys{faults: p})
				if err == nil {
					q.Close()
				}
				return err
			})
		})
	}
}

// Catches: a Register whose dup (EMFILE) or epoll_ctl (ENOMEM, ENOSPC:
// the user's epoll watches are used up) failed, but that goes on: a
// registration without its fd in epoll, that never fires, or with fd -1;
// one that returns the error but keeps the dup open, or c marked
// registered (ErrRegistered for ever after), or that uses up an id (the
// model issues ids on success only: the next Register gets the next id).
func TestRegisterKernelErrors(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		c     call
		errno unix.Errno
	}{
		{callDup, unix.EMFILE},
		{callEpollAdd, unix.ENOMEM},
		{callEpollAdd, unix.ENOSPC},
	} {
		t.Run(fmt.Sprint(tc.c, "/", int(tc.errno)), func(t *testing.T) {
			p := &plan{}
			q := faultyQueue(t, p)
			var fds [2]int
			if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fds[0])
			defer unix.Close(fds[1])
			c := cont.New(nil)
			first, err := q.Register(fds[0], Read, cont.New(nil))
			if err != nil {
				t.Fatal(err)
			}
			p.add(failing(tc.c, tc.errno))
			settled(t, p, tc.errno, func() error { _, err := q.Register(fds[0], Read, c); return err })
			if n := q.Len(); n != 1 {
				t.Fatalf("Len %d after a failed Register, want 1", n)
			}
			id, err := q.Register(fds[0], Read, c)
			if err != nil {
				t.Fatalf("Register of the continuation a failed Register was given: %v", err)
			}
			if id != first+1 {
				t.Fatalf("id %d after %d and a failed Register, want %d: the failure used up an id", id, first, first+1)
			}
			unix.Write(fds[1], []byte{1})
			if got, err := q.Wait(nil, patienceFaults); err != nil || len(got) != 2 {
				t.Fatalf("Wait: %v, %v; want both registrations fired", got, err)
			}
		})
	}
}

// patienceFaults bounds a Wait that should return at once.
const patienceFaults = 5 * time.Second

// Catches: a Signal whose eventfd (EMFILE) or epoll_ctl (ENOMEM) failed
// but that goes on: a registration whose signals never reach a Wait, or
// one with a watcher goroutine and signal.Notify left running behind the
// error (goleak sees the goroutine); one that leaks the eventfd.
func TestSignalKernelErrors(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		c     call
		errno unix.Errno
	}{
		{callEventfd, unix.EMFILE},
		{callEpollAdd, unix.ENOMEM},
	} {
		t.Run(fmt.Sprint(tc.c), func(t *testing.T) {
			p := &plan{}
			q := faultyQueue(t, p)
			p.add(failing(tc.c, tc.errno))
			c := cont.New(nil)
			settled(t, p, tc.errno, func() error { _, err := q.Signal(c, syscall.SIGUSR2); return err })
			if n := q.Len(); n != 0 {
				t.Fatalf("Len %d after a failed Signal, want 0", n)
			}
			goleak.VerifyNone(t, goleak.IgnoreCurrent())
			id, err := q.Signal(c, syscall.SIGUSR2)
			if err != nil || !q.Cancel(id) {
				t.Fatalf("Signal after a failed one: %v", err)
			}
		})
	}
}

// Catches: a timer (After, Every) registered though the queue's timerfd
// could not be made (EMFILE), put in epoll (ENOMEM), or set
// (timerfd_settime): a timer that never fires, since nothing wakes the
// Wait at its deadline; one that keeps the failed timerfd open, or stays
// in the heap or the table. The next timer, with the kernel willing,
// works and fires.
func TestTimerKernelErrors(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		c     call
		errno unix.Errno
		every bool
	}{
		{callTimerfdCreate, unix.EMFILE, false},
		{callEpollAdd, unix.ENOMEM, false},
		{callTimerfdSet, unix.EINVAL, false},
		{callTimerfdSet, unix.EINVAL, true},
	} {
		t.Run(fmt.Sprint(tc.c, map[bool]string{false: "/After", true: "/Every"}[tc.every]), func(t *testing.T) {
			p := &plan{}
			q := faultyQueue(t, p)
			if tc.c == callTimerfdSet { // the timerfd made first: the queue keeps it
				id, err := q.After(time.Hour, cont.New(nil))
				if err != nil || !q.Cancel(id) {
					t.Fatal(err)
				}
			}
			p.add(failing(tc.c, tc.errno))
			c := cont.New(nil)
			settled(t, p, tc.errno, func() error {
				var err error
				if tc.every {
					_, err = q.Every(time.Millisecond, c)
				} else {
					_, err = q.After(time.Millisecond, c)
				}
				return err
			})
			if n, h := q.Len(), len(q.heap); n != 0 || h != 0 {
				t.Fatalf("Len %d, %d in the heap after a failed timer, want none", n, h)
			}
			id, err := q.After(time.Millisecond, c)
			if err != nil {
				t.Fatalf("After, after a failed timer: %v", err)
			}
			got, err := q.Wait(nil, patienceFaults)
			if err != nil || len(got) != 1 || got[0].ID != id {
				t.Fatalf("Wait: %v, %v; want the timer %d fired", got, err, id)
			}
		})
	}
}

// Catches: a timerfd that a failed timerfd_settime leaves armed while the
// queue takes it for disarmed (the heap has emptied: the disarm of Cancel
// failed): it expires later, is readable from then on, and nothing sets
// it again, so that every epoll_wait returns at once for it, a Wait
// spinning on the CPU. After a failure the timerfd must count as set to
// a deadline that has passed: the next call sets it again.
func TestTimerfdFailedDisarmRetried(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	p := &plan{}
	q := faultyQueue(t, p)
	id, err := q.After(2*time.Millisecond, cont.New(nil))
	if err != nil {
		t.Fatal(err)
	}
	p.add(failing(callTimerfdSet, unix.EINVAL)) // Cancel's disarm
	if !q.Cancel(id) {
		t.Fatal("Cancel of an armed timer reported false")
	}
	if p.failed() != 1 {
		t.Fatalf("the disarm was not tried: %d calls failed", p.failed())
	}
	time.Sleep(5 * time.Millisecond) // past the deadline the timerfd kept
	if _, err := q.Poll(nil); err != nil {
		t.Fatal(err)
	}
	var evs [4]unix.EpollEvent
	if n, err := unix.EpollWait(q.epfd, evs[:], 0); err != nil || n != 0 {
		t.Fatalf("epoll_wait with no timer, after a Poll: %d events (%v), want none: the timerfd left expired", n, err)
	}
}
