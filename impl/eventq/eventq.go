// Package eventq is the event queue: continuations registered to be
// resumed when an fd is ready, a timer expires or a process signal
// arrives, handed out by a Wait that sleeps until one is ready (parked in
// Go's netpoller, which watches the epoll fd). The rules are
// spec.EventQueue's; this comment says how they are kept on Linux.
//
//	q, err := eventq.New()
//	id, err := q.Register(c, fd, eventq.Read|eventq.OneShot)
//	ready, err := q.Wait(nil, time.Second) // the continuations now ready
//	rest, err := q.RunReady(ctx, -1)      // or: wait, and step each
//	left, err := q.Close()                // the continuations still registered
//
// # Events
//
// Each bit of Events maps to one epoll flag: Read to EPOLLIN, Write to
// EPOLLOUT, Error to EPOLLERR, HangUp to EPOLLHUP, NoPeer to EPOLLRDHUP,
// Priority to EPOLLPRI, Message to EPOLLMSG (Linux never reports it),
// OneShot to EPOLLONESHOT, Edge to EPOLLET, Exclusive to EPOLLEXCLUSIVE,
// WakeUp to EPOLLWAKEUP. Level is epoll's default, the absence of
// EPOLLET, made explicit; Edge|Level is a bad event set (ErrBadEvents),
// and so are a set with no condition and the combinations Linux refuses
// with Exclusive (spec.Events.Check). Error and HangUp are reported
// whether asked for or not, as epoll does.
//
// Level fires while the fd is ready: after each firing, as soon as its
// continuation is handed back (see below), if data remains unread. Edge
// fires when the fd becomes ready, once per arrival, however long the
// data stays unread.
//
// # One registration, one dup
//
// epoll keys a registration on the pair (fd number, open file), so two
// registrations of one fd number would collide. Register therefore
// registers a duplicate of fd (F_DUPFD_CLOEXEC), one per registration:
// several registrations of one fd each fire on their own, and cancelling
// one leaves the others as they were. The queue owns the duplicate and
// closes it (after EPOLL_CTL_DEL, since epoll forgets an entry only when
// every fd of its open file is closed) when the registration ends: on
// Cancel, when a one-shot fires, on Close. The duplicate keeps the open
// file alive: closing your own fd does not end a registration (Cancel
// it), and a pipe's end registered here stays open until then.
//
// # Repeated firing: continuations are lent
//
// A continuation must be stepped by one goroutine at a time. A one-shot
// registration hands its continuation out once and ends. Any other
// registration (level, edge, a periodic timer, a signal) lends it: Wait
// hands it out and the registration fires no more until the continuation
// is handed back with Rearm. A level registration is then re-armed in the
// kernel (it fires at once if the fd is still ready); an edge registration
// fires at once if an arrival came while it was lent, else at the next
// arrival; a periodic timer's expirations and a signal registration's
// signals are counted meanwhile and reported together. RunReady does the
// handing back itself after each step.
//
// A continuation may be in one live registration of a queue at a time
// (ErrRegistered): it is never out with two holders at once. A one-shot
// registration has ended by the time its continuation is handed out, so
// the continuation may register again, as a step that waits for its next
// read would.
//
// # Timers and signals
//
// Timers (After, Every, Sleep) have no fd each. A queue keeps its armed
// timers in a min-heap ordered by deadline (time.Now's monotonic reading,
// which is CLOCK_MONOTONIC; ties in registration order), and one timerfd
// (CLOCK_MONOTONIC, TFD_CLOEXEC, TFD_NONBLOCK) in epoll, made at the first
// timer and closed at Close, set to expire at the earliest deadline. It is
// set (timerfd_settime, relative) only when the earliest deadline becomes
// earlier than the one it is set to, when that one has passed, and to
// disarm it when the heap empties; one set earlier than the earliest
// deadline (that timer was cancelled) is left to expire, and the Wait
// that sees it finds nothing due and sets it again. So arming a timer is
// a heap push, with a system call only if it is the new earliest, and
// cancelling one is a heap removal, with a system call only if the heap
// empties.
//
// Each pass of Wait hands out every timer whose deadline has passed,
// earliest first, whether the timerfd has fired yet or not. A one-shot
// timer then ends. A periodic timer is lent, out of the heap: its
// deadline moves on to the first of its schedule (its first expiry, then
// every period after, however late each firing comes) still to come, and
// Ready.Count is the expirations since its last firing, missed ones
// included. Rearm puts it back in the heap, due at once if that deadline
// has passed meanwhile.
//
// Signal delivers process signals through os/signal (Go owns the signal
// handlers; signalfd would fight it): a goroutine per registration
// receives from a signal.Notify channel, records each signal and writes an
// eventfd of the registration's own, which Wait finds ready. Cancel and
// Close stop that goroutine (signal.Stop) and wait for it before closing
// the eventfd. The signals are in Ready.Signals.
//
// # Concurrency
//
// Register, After, Every, Sleep, Signal, Cancel, Rearm, Wake, Len and
// Close may be called from any goroutine at any time. One goroutine at a
// time may Wait (or Poll, or RunReady); another gets ErrBusy. A mutex
// guards the registration table, the timer heap and the setting of the
// timerfd; it is never held across epoll_wait, so a blocked Wait delays
// no other call. Wake, and Close, break a blocked Wait: Close waits until
// the Wait has left before it closes anything.
//
// # Close
//
// Close ends every registration, closes every fd the queue opened (the
// epoll fd, the wake-up eventfd, the timerfd, eventfds, duplicates) and
// returns the continuations of the registrations that were armed, in
// registration order, so that none disappears silently; a lent
// continuation is with its holder already. A second Close returns
// ErrClosed, as does every other call after Close (Cancel reports false).
package eventq

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/spec"
)

// Events is a set of readiness conditions and trigger modes (see the
// package comment for the epoll flag behind each).
type Events = spec.Events

// ID names a registration. Ids are never reused by a queue: an id that
// has ended stays unknown.
type ID = spec.EventID

// The event bits.
const (
	Read      = spec.EvRead      // EPOLLIN: data to read
	Write     = spec.EvWrite     // EPOLLOUT: room to write
	Error     = spec.EvError     // EPOLLERR: an error; always reported
	HangUp    = spec.EvHangUp    // EPOLLHUP: hang-up; always reported
	NoPeer    = spec.EvNoPeer    // EPOLLRDHUP: the stream peer closed or shut down writing
	Priority  = spec.EvPriority  // EPOLLPRI: an exceptional condition
	Message   = spec.EvMessage   // EPOLLMSG: never reported by Linux
	OneShot   = spec.EvOneShot   // EPOLLONESHOT: fire once, then end
	Edge      = spec.EvEdge      // EPOLLET: fire once per arrival
	Level     = spec.EvLevel     // no EPOLLET: fire while ready (the default)
	Exclusive = spec.EvExclusive // EPOLLEXCLUSIVE: wake one of several queues
	WakeUp    = spec.EvWakeUp    // EPOLLWAKEUP: hold off system suspend
)

// The errors of the event queue (see package spec).
var (
	ErrClosed      = spec.ErrClosed
	ErrBadEvents   = spec.ErrBadEvents
	ErrUnknownID   = spec.ErrUnknownID
	ErrNilCont     = spec.ErrNilCont
	ErrRegistered  = spec.ErrRegistered
	ErrBusy        = spec.ErrBusy
	ErrBadDuration = spec.ErrBadDuration
	ErrNoSignal    = spec.ErrNoSignal
	ErrNoQueue     = spec.ErrNoQueue
)

// Ready is one firing: a continuation handed out by Wait.
type Ready struct {
	ID ID
	C  *cont.C
	// Events are the conditions that held, for an fd; Read for a timer or
	// a signal.
	Events Events
	// Count is, for a timer, the number of expirations since its
	// continuation was last handed out (at least 1); for a signal
	// registration, len(Signals); for an fd, 0.
	Count uint64
	// Signals are the signals that arrived since the continuation was last
	// handed out, in order, for a signal registration.
	Signals []os.Signal
	// Ended reports that the registration ended with this firing (a
	// one-shot): nothing is to be handed back. Otherwise the continuation
	// is lent, to be handed back with Rearm (or the registration Cancelled).
	Ended bool
}

type kind uint8

const (
	kindFD     kind = iota // a duplicate of the caller's fd
	kindTimer              // a timer in the queue's heap: no fd of its own
	kindSignal             // an eventfd written by a signal watcher
)

// reg is a registration. Every field is guarded by Queue.mu.
type reg struct {
	id      ID
	c       *cont.C
	kind    kind
	fd      int    // the fd in epoll, which the queue owns and closes; -1 for a timer
	events  Events // as asked (timers, signals: Read, and OneShot for After)
	kev     uint32 // the epoll flags it is registered with
	lent    bool   // handed out, not yet handed back
	pending Events // edge: the conditions of arrivals while lent
	sig     *sigWatch
	// A timer's: its next deadline (mono), its period in nanoseconds (0:
	// one-shot), and its index in Queue.heap (-1: out of it, lent or
	// ended).
	when   int64
	period int64
	hidx   int
}

func (r *reg) oneShot() bool { return r.events&OneShot != 0 }

// byDel reports whether the registration is disarmed by removing it from
// epoll: a level exclusive one, since Linux refuses EPOLLONESHOT and
// EPOLL_CTL_MOD with EPOLLEXCLUSIVE.
func (r *reg) byDel() bool {
	return r.kind == kindFD && r.events&(Exclusive|Edge|OneShot) == Exclusive
}

// edge reports whether the registration stays armed in the kernel while
// lent, its arrivals recorded in pending.
func (r *reg) edge() bool { return r.kind == kindFD && r.events&(Edge|OneShot) == Edge }

// wakeID is the epoll data of the wake-up eventfd; registrations start
// at 1.
const wakeID = 0

// Queue is an event queue. Make one with New; release it with Close.
type Queue struct {
	mu      sync.Mutex
	left    sync.Cond // signalled when a Wait leaves, for Close; L is &mu
	closed  bool
	waiting bool // a Wait is in progress; it alone uses evs
	epfd    int
	// ep is the epoll fd as an os.File, through which a Wait that must
	// block parks in Go's own netpoller (see park); it owns epfd.
	ep    *os.File
	epRaw syscall.RawConn
	// The waiting goroutine's own, for park: the read deadline set on ep,
	// the function that takes the events, and what it took.
	parkDeadline time.Time
	take         func(fd uintptr) bool
	taken        int
	takeErr      error
	wakefd       int
	last         ID // the last id issued
	regs         map[ID]*reg
	conts        map[*cont.C]ID // the continuation of every live registration
	due          []ID           // edge registrations handed back with an arrival pending
	evs          [128]unix.EpollEvent
	// The timers (see timer.go): the armed ones, in a min-heap by
	// deadline; the timerfd (-1 until the first timer); whether it may be
	// armed or ready, and if so the deadline (mono) it was set to, which is
	// never later than heap[0]'s. Once that deadline has passed, the
	// timerfd has expired or is about to, and is readable until set again.
	heap   []*reg
	tfd    int
	tarmed bool
	tset   int64
}

// New returns an event queue: an epoll instance and a wake-up eventfd
// (the timerfd comes with the first timer).
func New() (*Queue, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventq: epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventq: eventfd: %w", err)
	}
	// Level-triggered and never disarmed: a Wake always breaks a Wait.
	if err := ctl(epfd, unix.EPOLL_CTL_ADD, wakefd, unix.EPOLLIN, wakeID); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, fmt.Errorf("eventq: epoll_ctl: %w", err)
	}
	// Non-blocking, the epoll fd becomes a pollable os.File: Go's
	// netpoller watches it (an epoll fd is readable while it has events to
	// report) and parks a blocked Wait's goroutine, as it parks one
	// reading a socket. epoll_wait itself ignores the flag.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, fmt.Errorf("eventq: epoll fd: %w", err)
	}
	ep := os.NewFile(uintptr(epfd), "eventq")
	raw, err := ep.SyscallConn()
	if err != nil {
		unix.Close(wakefd)
		ep.Close()
		return nil, fmt.Errorf("eventq: epoll fd: %w", err)
	}
	q := &Queue{epfd: epfd, ep: ep, epRaw: raw, wakefd: wakefd, tfd: -1, regs: map[ID]*reg{}, conts: map[*cont.C]ID{}}
	q.left.L = &q.mu
	return q, nil
}

// ctl is epoll_ctl with the id as the event's data (its low half in Fd,
// its high half in Pad: together the 64 bits of epoll_data).
func ctl(epfd, op, fd int, kev uint32, id ID) error {
	ev := unix.EpollEvent{Events: kev, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	return unix.EpollCtl(epfd, op, fd, &ev)
}

func eventID(ev *unix.EpollEvent) ID {
	return ID(uint32(ev.Fd)) | ID(uint32(ev.Pad))<<32
}

var evMap = [...]struct {
	e Events
	k uint32
}{
	{Read, unix.EPOLLIN}, {Write, unix.EPOLLOUT}, {Error, unix.EPOLLERR},
	{HangUp, unix.EPOLLHUP}, {NoPeer, unix.EPOLLRDHUP}, {Priority, unix.EPOLLPRI},
	{Message, unix.EPOLLMSG}, {OneShot, unix.EPOLLONESHOT}, {Edge, unix.EPOLLET},
	{Exclusive, unix.EPOLLEXCLUSIVE}, {WakeUp, unix.EPOLLWAKEUP},
}

// kernelEvents returns the epoll flags of a registration asking for e. A
// level registration that is not exclusive is also EPOLLONESHOT in the
// kernel: the kernel disarms it as it fires, so that it does not fire
// while its continuation is lent, and Rearm arms it again.
func kernelEvents(e Events) uint32 {
	var k uint32
	for _, m := range evMap {
		if e&m.e != 0 {
			k |= m.k
		}
	}
	if e&(Edge|Exclusive) == 0 {
		k |= unix.EPOLLONESHOT
	}
	return k
}

// userEvents returns the conditions among the epoll flags k.
func userEvents(k uint32) Events {
	var e Events
	for _, m := range evMap {
		if k&m.k != 0 {
			e |= m.e
		}
	}
	return e & spec.EvConditions
}

// Register registers c to be resumed when fd is ready for events, and
// returns the registration's id. It registers a duplicate of fd, which
// the queue owns (see the package comment). It fails with ErrBadEvents,
// ErrNilCont, ErrRegistered, ErrClosed, or the kernel's error wrapped (an
// invalid or closed fd: EBADF; an fd epoll cannot watch, such as a regular
// file: EPERM), and then has registered nothing and opened nothing.
func (q *Queue) Register(c *cont.C, fd int, events Events) (ID, error) {
	if err := events.Check(); err != nil {
		return 0, fmt.Errorf("eventq: register %v: %w", events, err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.admit(c); err != nil {
		return 0, err
	}
	if fd < 0 {
		return 0, fmt.Errorf("eventq: register fd %d: %w", fd, unix.EBADF)
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("eventq: register fd %d: %w", fd, err)
	}
	r := &reg{c: c, kind: kindFD, fd: dup, events: events, kev: kernelEvents(events)}
	if err := q.add(r); err != nil {
		unix.Close(dup)
		return 0, fmt.Errorf("eventq: register fd %d: %w", fd, err)
	}
	return r.id, nil
}

// admit checks that c may be registered now. q.mu is held.
func (q *Queue) admit(c *cont.C) error {
	switch {
	case c == nil:
		return ErrNilCont
	case q.closed:
		return ErrClosed
	}
	if _, ok := q.conts[c]; ok {
		return ErrRegistered
	}
	return nil
}

// add issues r an id and adds r.fd to epoll (a timer has none: the
// caller pushes it on the heap). q.mu is held.
func (q *Queue) add(r *reg) error {
	q.last++
	r.id = q.last
	if r.kind != kindTimer {
		if err := ctl(q.epfd, unix.EPOLL_CTL_ADD, r.fd, r.kev, r.id); err != nil {
			return err
		}
	}
	q.regs[r.id] = r
	q.conts[r.c] = r.id
	return nil
}

// end ends r: out of the table, a timer out of the heap (the caller sets
// the timerfd again, with retime, if it must), its signal watcher stopped,
// its fd out of epoll and closed. q.mu is held.
func (q *Queue) end(r *reg) {
	delete(q.regs, r.id)
	delete(q.conts, r.c)
	if r.kind == kindTimer {
		if r.hidx >= 0 {
			q.remove(r)
		}
		return
	}
	if r.sig != nil {
		r.sig.stop() // before closing the eventfd the watcher writes
	}
	unix.EpollCtl(q.epfd, unix.EPOLL_CTL_DEL, r.fd, nil) // ENOENT if disarmed by DEL
	unix.Close(r.fd)
}

// Cancel ends the registration id and reports whether it was still
// registered: false if it was cancelled already, was a one-shot that
// fired, was never issued, or the queue is closed. It never fires after
// Cancel reports true. If its continuation is lent, it stays with whoever
// holds it.
func (q *Queue) Cancel(id ID) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	r := q.regs[id]
	if q.closed || r == nil {
		return false
	}
	q.end(r)
	if r.kind == kindTimer {
		q.retime(mono()) // fails only for arguments it never passes
	}
	return true
}

// Rearm hands back the continuation of a registration that fired and is
// not one-shot: the registration fires again at its next readiness (see
// the package comment). Rearm of a registration that is armed already
// does nothing. It fails with ErrUnknownID if id has ended, ErrClosed
// after Close, or the kernel's error (the registration then stays lent).
func (q *Queue) Rearm(id ID) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	r := q.regs[id]
	if r == nil {
		return ErrUnknownID
	}
	if !r.lent {
		return nil
	}
	if err := q.arm(r); err != nil {
		return fmt.Errorf("eventq: rearm %d: %w", id, err)
	}
	r.lent = false
	return nil
}

// arm arms r in the kernel again (or, for an edge registration with an
// arrival pending, marks it due for the next Wait, waking a Wait in
// progress; for a timer, puts it back in the heap, setting the timerfd if
// it is now the earliest, due at once if its deadline has passed). q.mu is
// held.
func (q *Queue) arm(r *reg) error {
	switch {
	case r.kind == kindTimer:
		q.push(r)
		if err := q.retime(mono()); err != nil {
			q.remove(r)
			return err
		}
		return nil
	case r.edge():
		if r.pending != 0 {
			q.due = append(q.due, r.id)
			if q.waiting {
				q.poke()
			}
		}
		return nil
	case r.byDel():
		return ctl(q.epfd, unix.EPOLL_CTL_ADD, r.fd, r.kev, r.id)
	}
	return ctl(q.epfd, unix.EPOLL_CTL_MOD, r.fd, r.kev, r.id)
}

// Wake makes the Wait in progress return, or, if none is, the next one:
// a wake-up is kept until a Wait takes it. A Wait broken by Wake returns
// what else was ready, often nothing. Any goroutine may call it.
func (q *Queue) Wake() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	return q.poke()
}

// poke writes the wake-up eventfd. q.mu is held, so the fd is open.
func (q *Queue) poke() error {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	if _, err := unix.Write(q.wakefd, one[:]); err != nil && err != unix.EAGAIN {
		return fmt.Errorf("eventq: wake: %w", err)
	}
	return nil // EAGAIN: the counter is full, a wake-up is pending anyway
}

// Len returns the number of live registrations, armed or lent.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.regs)
}

// Poll is Wait(dst, 0): it hands out what is ready now, without blocking.
func (q *Queue) Poll(dst []Ready) ([]Ready, error) { return q.Wait(dst, 0) }

// Wait sleeps (see park) until a registration fires, a Wake comes, or
// timeout passes (timeout < 0: no limit; 0: do not block), and appends to
// dst what fired and returns it. A firing of an fd or timer that comes
// with nothing to hand out (a registration cancelled meanwhile) does not
// end the wait. A Wait broken by Wake may return nothing; so may one whose
// timeout passed. An interrupted epoll_wait (EINTR) is retried with what
// is left of timeout. A Wait that sleeps holds no thread and no processor:
// its goroutine is parked, as one reading a socket is.
//
// One goroutine at a time may Wait: a second concurrent Wait fails with
// ErrBusy. After Close, or when Close breaks it, Wait fails with ErrClosed
// and hands out nothing: Close hands back the continuations instead.
func (q *Queue) Wait(dst []Ready, timeout time.Duration) ([]Ready, error) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return dst, ErrClosed
	}
	if q.waiting {
		q.mu.Unlock()
		return dst, ErrBusy
	}
	q.waiting = true
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	n0 := len(dst)
	for {
		ms := waitMillis(timeout, deadline)
		if len(q.due) > 0 || q.timersDue() {
			ms = 0
		}
		q.mu.Unlock()
		var (
			n   int
			err error
		)
		if ms == 0 {
			n, err = unix.EpollWait(q.epfd, q.evs[:], 0)
		} else {
			n, err = q.park(deadline) // it looks without blocking first
		}
		q.mu.Lock()
		if q.closed {
			q.waiting = false
			q.left.Broadcast()
			q.mu.Unlock()
			return dst[:n0], ErrClosed
		}
		if err != nil && err != unix.EINTR {
			q.waiting = false
			q.mu.Unlock()
			return dst, fmt.Errorf("eventq: epoll_wait: %w", err)
		}
		woke := false
		for i := range n {
			var w bool
			dst, w = q.fire(dst, &q.evs[i])
			woke = woke || w
		}
		dst = q.fireDue(dst)
		dst = q.fireTimers(dst)
		if len(dst) > n0 || woke || timeout == 0 || timeout > 0 && !time.Now().Before(deadline) {
			q.waiting = false
			q.mu.Unlock()
			return dst, nil
		}
	}
}

// park waits until the epoll fd has events to report, or deadline passes
// (zero: no deadline), and then takes them; it looks first, with a
// non-blocking epoll_wait, and parks only if nothing is there. It does not
// block in
// epoll_wait: that would hold the goroutine's processor (Go hands it on
// only tens of microseconds into a blocking system call), and goroutines
// made ready meanwhile, a step's channel partner or a client of a server
// run by continuations, would wait that long. Instead the goroutine parks
// in Go's netpoller, which watches the epoll fd like any socket, and looks
// again when it is woken. Only the
// waiting goroutine calls it, without q.mu.
func (q *Queue) park(deadline time.Time) (n int, err error) {
	if !deadline.Equal(q.parkDeadline) {
		if err := q.ep.SetReadDeadline(deadline); err != nil {
			return 0, nil // closed under us: the caller sees q.closed
		}
		q.parkDeadline = deadline
	}
	if q.take == nil { // made once: a closure per park would be an allocation
		q.take = func(fd uintptr) bool {
			q.taken, q.takeErr = unix.EpollWait(int(fd), q.evs[:], 0)
			return q.taken > 0 || q.takeErr != nil
		}
	}
	q.taken, q.takeErr = 0, nil
	if rerr := q.epRaw.Read(q.take); rerr != nil {
		return 0, nil // the deadline passed, or Close: the caller sees which
	}
	return q.taken, q.takeErr
}

// waitMillis returns how long a Wait may sleep: -1 for no limit, else
// what is left until deadline in milliseconds, rounded up (so that a
// short wait does not become a busy poll) and capped; 0: it must not.
func waitMillis(timeout time.Duration, deadline time.Time) int {
	switch {
	case timeout < 0:
		return -1
	case timeout == 0:
		return 0
	}
	left := time.Until(deadline)
	if left <= 0 {
		return 0
	}
	ms := (left + time.Millisecond - 1) / time.Millisecond
	return int(min(ms, math.MaxInt32))
}

// fire handles one epoll event: it drains the wake-up eventfd, or hands
// out the registration's continuation (appending to dst), or records an
// edge arrival while lent. The timerfd's expiry needs nothing here:
// fireTimers, after, hands out the timers due and sets the timerfd again,
// since the deadline it was set to has passed, which also resets its count
// (there is nothing to read). It reports whether the event was a wake-up.
// q.mu is held.
func (q *Queue) fire(dst []Ready, ev *unix.EpollEvent) ([]Ready, bool) {
	id := eventID(ev)
	switch id {
	case wakeID:
		drain(q.wakefd)
		return dst, true
	case timerID:
		return dst, false
	}
	r := q.regs[id]
	if r == nil {
		return dst, false // cancelled after epoll_wait saw it
	}
	rd := Ready{ID: id, C: r.c, Events: Read}
	switch r.kind {
	case kindFD:
		got := userEvents(ev.Events)
		if r.lent {
			r.pending |= got // only an edge registration fires while lent
			return dst, false
		}
		rd.Events = got | r.pending
		r.pending = 0
		if r.byDel() {
			unix.EpollCtl(q.epfd, unix.EPOLL_CTL_DEL, r.fd, nil)
		}
	case kindSignal:
		drain(r.fd)
		rd.Signals = r.sig.take()
		rd.Count = uint64(len(rd.Signals))
		if rd.Count == 0 {
			q.arm(r)
			return dst, false
		}
	}
	if r.oneShot() {
		rd.Ended = true
		q.end(r)
	} else {
		r.lent = true
	}
	return append(dst, rd), false
}

// fireDue hands out the edge registrations handed back with an arrival
// pending. q.mu is held.
func (q *Queue) fireDue(dst []Ready) []Ready {
	for _, id := range q.due {
		r := q.regs[id]
		if r == nil || r.lent || r.pending == 0 {
			continue // cancelled, or handed out by fire meanwhile
		}
		dst = append(dst, Ready{ID: id, C: r.c, Events: r.pending})
		r.pending = 0
		r.lent = true
	}
	q.due = q.due[:0]
	return dst
}

// drain reads an eventfd's counter, resetting it, and returns
// it: 0 if there was nothing to read.
func drain(fd int) uint64 {
	var b [8]byte
	for {
		n, err := unix.Read(fd, b[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n != 8 {
			return 0
		}
		return binary.NativeEndian.Uint64(b[:])
	}
}

// Close ends every registration, closes every fd the queue opened, and
// returns the continuations of the registrations that were armed (not
// lent), in registration order. A Wait in progress is woken and fails with
// ErrClosed; Close waits until it has stopped sleeping before closing the
// epoll fd. A second Close returns nil and ErrClosed.
func (q *Queue) Close() ([]*cont.C, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, ErrClosed
	}
	q.closed = true
	if q.waiting {
		q.poke()
		for q.waiting {
			q.left.Wait()
		}
	}
	ids := make([]ID, 0, len(q.regs))
	for id := range q.regs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var held []*cont.C
	for _, id := range ids {
		r := q.regs[id]
		if !r.lent {
			held = append(held, r.c)
		}
		q.end(r)
	}
	q.due = nil
	q.heap = nil
	var errs []error
	if q.tfd >= 0 {
		if err := unix.Close(q.tfd); err != nil {
			errs = append(errs, fmt.Errorf("eventq: close timerfd: %w", err))
		}
		q.tfd = -1
	}
	if err := unix.Close(q.wakefd); err != nil {
		errs = append(errs, fmt.Errorf("eventq: close eventfd: %w", err))
	}
	if err := q.ep.Close(); err != nil {
		errs = append(errs, fmt.Errorf("eventq: close epoll fd: %w", err))
	}
	return held, errors.Join(errs...)
}

// holds reports whether c is in a live registration.
func (q *Queue) holds(c *cont.C) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.conts[c]
	return ok
}

// ContextKey is the key under which a step's context holds the event
// queue of whoever runs the step: the *Queue itself (RunReady's steps), or
// a Source that makes it on first use (a polling runtime's).
type ContextKey struct{}

// A Source gives the event queue of whoever runs a step, making it on
// first use.
type Source interface {
	EventQueue() (*Queue, error)
}

// NewContext returns a context that holds q, for a runner that steps
// continuations by hand (those RunReady returns in rest, say): their
// Await, Sleep and Watch then wait in q.
func NewContext(ctx context.Context, q *Queue) context.Context {
	return context.WithValue(ctx, ContextKey{}, q)
}

// FromContext returns the event queue of whoever runs the step whose
// context ctx is, or ErrNoQueue if there is none.
func FromContext(ctx context.Context) (*Queue, error) {
	if ctx == nil {
		return nil, ErrNoQueue
	}
	switch v := ctx.Value(ContextKey{}).(type) {
	case *Queue:
		return v, nil
	case Source:
		return v.EventQueue()
	}
	return nil, ErrNoQueue
}

// Await returns the step that ends a step waiting for fd: a step ends with
// return eventq.Await(ctx, c, fd, eventq.Read, next). Once the step has
// returned, c is registered, one-shot, for events on fd in the event queue
// of whoever runs it (FromContext), and next runs when fd is ready: the
// runner is free meanwhile. If it cannot be registered (no queue, a bad fd
// or event set), c stays and next runs at once, with the error in
// cont.MoveErr of its context.
func Await(ctx context.Context, c *cont.C, fd int, events Events, next cont.Step) cont.Step {
	return c.Away(Giving(ctx, func(q *Queue, c *cont.C) (ID, error) { return q.Register(c, fd, events|OneShot) }), next)
}

// Sleep returns the step that ends a step sleeping for d: a step ends with
// return eventq.Sleep(ctx, c, d, next), and next runs d later, on a
// one-shot timer of the queue of whoever runs it, which is free
// meanwhile. If there is no queue, c stays and next runs at once, with the
// error in cont.MoveErr of its context.
func Sleep(ctx context.Context, c *cont.C, d time.Duration, next cont.Step) cont.Step {
	return c.Away(Giving(ctx, func(q *Queue, c *cont.C) (ID, error) { return q.After(d, c) }), next)
}

// Giving returns the give of a cont.C.Away (or of seq's K.Away) that hands
// the continuation to the event queue of whoever runs the step whose
// context is ctx (FromContext): register registers it there. It is what
// Await, Sleep and Watch are made of, for a wait of another shape.
func Giving(ctx context.Context, register func(q *Queue, c *cont.C) (ID, error)) func(c *cont.C) error {
	return func(c *cont.C) error {
		q, err := FromContext(ctx)
		if err != nil {
			return err
		}
		_, err = register(q, c)
		return err
	}
}

// stepCtx is the context RunReady gives a step: its queue, and the firing.
type stepCtx struct {
	context.Context
	q  *Queue
	rd Ready
}

type readyKey struct{}

func (s *stepCtx) Value(key any) any {
	switch key.(type) {
	case ContextKey:
		return s.q
	case readyKey:
		return s.rd
	}
	return s.Context.Value(key)
}

// Fired returns the firing that RunReady is stepping a continuation for,
// from the context of that step: which events held, which signals came.
func Fired(ctx context.Context) (Ready, bool) {
	r, ok := ctx.Value(readyKey{}).(Ready)
	return r, ok
}

// RunReady waits as Wait does (ctx ending breaks the wait too), then runs
// one step of each continuation handed out, with a context that Fired
// reads and that holds q (FromContext, for Await and Sleep), and settles
// it:
//
//   - a lent continuation (its registration repeats) is handed back with
//     Rearm if its step left it unfinished; if the step finished it or
//     moved it away (Step reported done), its registration is cancelled:
//     the continuation is no longer the queue's to resume;
//   - a continuation left unfinished and in no registration (a one-shot's
//     whose step did not register it again, a lent one whose step
//     cancelled its registration, or the queue closed meanwhile) is
//     returned in rest, for the caller to run on: none disappears.
//
// It returns Wait's error, or ctx's if ctx ended and nothing was ready. A
// panic in a step reaches the caller; the continuations handed out by the
// same Wait and not stepped yet are then lost to the queue, so a runner
// that must outlive panics steps what Wait returns itself.
func (q *Queue) RunReady(ctx context.Context, timeout time.Duration) (rest []*cont.C, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { q.Wake() })
		defer stop()
	}
	ready, err := q.Wait(nil, timeout)
	for _, rd := range ready {
		done := rd.C.Step(&stepCtx{ctx, q, rd})
		switch {
		case done && !rd.Ended:
			q.Cancel(rd.ID)
		case done:
		case !rd.Ended && q.Rearm(rd.ID) == nil:
		case !q.holds(rd.C):
			rest = append(rest, rd.C)
		}
	}
	if err == nil && len(ready) == 0 {
		err = ctx.Err()
	}
	return rest, err
}
