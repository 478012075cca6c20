package eventq

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// sys is the queue's way to the kernel: every system call the queue makes
// (and the two calls of its epoll fd's os.File that reach the kernel:
// setting the read deadline, closing) goes through a method of it, so
// that a test can make any of them fail (docs/event-queue-syscalls.md,
// "Failing system calls"). A queue has one, and so has each of its
// signal watchers, a copy.
//
// In every queue but a test's, faults is nil: each method is the
// golang.org/x/sys/unix call it names behind one nil check, called
// directly (its arguments do not escape through it, as they would through
// a function value), so the seam costs a predictable branch and no
// allocation.
type sys struct {
	faults faults
}

// faults is what a test (faults_test.go) plants in a queue's sys to make
// its system calls fail.
type faults interface {
	// fail is asked before each call c on fd (-1 for a call with no fd:
	// epoll_create1, eventfd, timerfd_create), by whichever goroutine
	// makes it. An error fails the call: it is not made and returns this
	// error (and -1 where it returns a count or an fd), except close,
	// which is made all the same and returns the error, as Linux releases
	// the fd whatever close reports.
	fail(c call, fd int) error
}

// call names a system call of the queue, for faults.
type call uint8

const (
	callEpollCreate   call = iota // epoll_create1
	callEventfd                   // eventfd2
	callEpollAdd                  // epoll_ctl, EPOLL_CTL_ADD
	callEpollMod                  // epoll_ctl, EPOLL_CTL_MOD
	callEpollDel                  // epoll_ctl, EPOLL_CTL_DEL
	callNonblock                  // fcntl, F_SETFL with O_NONBLOCK
	callDup                       // fcntl, F_DUPFD_CLOEXEC
	callTimerfdCreate             // timerfd_create
	callTimerfdSet                // timerfd_settime
	callEpollWait                 // epoll_wait, timeout 0
	callPoll                      // poll (the controlled kernel's look, kernel_sched.go)
	callRead                      // read of an eventfd
	callWrite                     // write of an eventfd
	callClose                     // close (the epoll fd's through its os.File)
	callDeadline                  // the epoll fd's read deadline (os.File.SetReadDeadline)
)

func (s sys) epollCreate() (int, error) {
	if s.faults != nil {
		if err := s.faults.fail(callEpollCreate, -1); err != nil {
			return -1, err
		}
	}
	return unix.EpollCreate1(unix.EPOLL_CLOEXEC)
}

// eventfd makes a non-blocking, close-on-exec eventfd.
func (s sys) eventfd() (int, error) {
	if s.faults != nil {
		if err := s.faults.fail(callEventfd, -1); err != nil {
			return -1, err
		}
	}
	return unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
}

// ctl is epoll_ctl with the id as the event's data (its low half in Fd,
// its high half in Pad: together the 64 bits of epoll_data).
func (s sys) ctl(epfd, op, fd int, kev uint32, id ID) error {
	if s.faults != nil {
		c := callEpollAdd
		switch op {
		case unix.EPOLL_CTL_MOD:
			c = callEpollMod
		case unix.EPOLL_CTL_DEL:
			c = callEpollDel
		}
		if err := s.faults.fail(c, fd); err != nil {
			return err
		}
	}
	if op == unix.EPOLL_CTL_DEL {
		return unix.EpollCtl(epfd, op, fd, nil)
	}
	ev := unix.EpollEvent{Events: kev, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	return unix.EpollCtl(epfd, op, fd, &ev)
}

func (s sys) setNonblock(fd int) error {
	if s.faults != nil {
		if err := s.faults.fail(callNonblock, fd); err != nil {
			return err
		}
	}
	return unix.SetNonblock(fd, true)
}

// dup returns a close-on-exec duplicate of fd.
func (s sys) dup(fd int) (int, error) {
	if s.faults != nil {
		if err := s.faults.fail(callDup, fd); err != nil {
			return -1, err
		}
	}
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}

// timerfd makes a non-blocking, close-on-exec CLOCK_MONOTONIC timerfd.
func (s sys) timerfd() (int, error) {
	if s.faults != nil {
		if err := s.faults.fail(callTimerfdCreate, -1); err != nil {
			return -1, err
		}
	}
	return unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK)
}

// settime sets the timerfd fd, relative.
func (s sys) settime(fd int, spec *unix.ItimerSpec) error {
	if s.faults != nil {
		if err := s.faults.fail(callTimerfdSet, fd); err != nil {
			return err
		}
	}
	return unix.TimerfdSettime(fd, 0, spec, nil)
}

// epollWait is epoll_wait with timeout 0: the queue never blocks in it.
func (s sys) epollWait(epfd int, evs []unix.EpollEvent) (int, error) {
	if s.faults != nil {
		if err := s.faults.fail(callEpollWait, epfd); err != nil {
			return -1, err
		}
	}
	return unix.EpollWait(epfd, evs, 0)
}

// poll is poll(2) with timeout 0.
func (s sys) poll(fds []unix.PollFd) (int, error) {
	if s.faults != nil {
		if err := s.faults.fail(callPoll, int(fds[0].Fd)); err != nil {
			return -1, err
		}
	}
	return unix.Poll(fds, 0)
}

func (s sys) read(fd int, b []byte) (int, error) {
	if s.faults != nil {
		if err := s.faults.fail(callRead, fd); err != nil {
			return -1, err
		}
	}
	return unix.Read(fd, b)
}

func (s sys) write(fd int, b []byte) (int, error) {
	if s.faults != nil {
		if err := s.faults.fail(callWrite, fd); err != nil {
			return -1, err
		}
	}
	return unix.Write(fd, b)
}

func (s sys) close(fd int) error {
	var ferr error
	if s.faults != nil {
		ferr = s.faults.fail(callClose, fd)
	}
	err := unix.Close(fd)
	if ferr != nil {
		return ferr
	}
	return err
}

// closeFile closes f, the os.File of fd.
func (s sys) closeFile(f *os.File, fd int) error {
	var ferr error
	if s.faults != nil {
		ferr = s.faults.fail(callClose, fd)
	}
	err := f.Close()
	if ferr != nil {
		return ferr
	}
	return err
}

// setDeadline sets the read deadline of f, the os.File of fd.
func (s sys) setDeadline(f *os.File, fd int, t time.Time) error {
	if s.faults != nil {
		if err := s.faults.fail(callDeadline, fd); err != nil {
			return err
		}
	}
	return f.SetReadDeadline(t)
}
