// Package eventq is the event queue: continuations registered to be
// resumed when an fd is ready, a timer expires or a process signal
// arrives, handed out by a Wait that sleeps until one is ready (parked in
// Go's netpoller, which watches the epoll fd). The rules are
// spec.EventQueue's; this comment says how they are kept on Linux.
//
//	q, err := eventq.New()
//	id, err := q.Register(fd, eventq.Read|eventq.OneShot, c)
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
// Timers (After, Every, and the step Sleep, which uses After where the
// step has a queue; see Sleep for where it has none) have no fd
// each. A queue keeps its armed timers in a min-heap ordered by deadline
// (time.Now's monotonic reading, which is CLOCK_MONOTONIC; ties in
// registration order), and one timerfd
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
// Register, After, Every, Signal, Cancel, Rearm, Wake, Len and Close
// may be called from any goroutine at any time. One goroutine at a
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
//
// # Under the controlled scheduler
//
// In a build with -tags sched, a queue made by a goroutine of a
// controlled run (impl/seam's Run) never sleeps in the kernel: a Wait
// that would block parks through the seam, the kernel's firings are steps
// of a goroutine of the run (the queue's kernel goroutine), and timers
// keep a virtual clock, so that a schedule replays exactly
// (kernel_sched.go says how). Signals stay outside the run.
package eventq

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
	"golang.org/x/sys/unix"
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
	// ErrClosed: the queue is closed; nothing more can be registered or
	// handed out.
	ErrClosed = spec.ErrClosed
	// ErrBadEvents: the event set breaks a rule of Events.Check.
	ErrBadEvents = spec.ErrBadEvents
	// ErrUnknownID: no live registration has this id.
	ErrUnknownID = spec.ErrUnknownID
	// ErrNilCont: a registration was given a nil continuation.
	ErrNilCont = spec.ErrNilCont
	// ErrRegistered: the continuation is already in a live registration.
	ErrRegistered = spec.ErrRegistered
	// ErrBusy: Wait was called while another Wait was in progress.
	ErrBusy = spec.ErrBusy
	// ErrBadDuration: Every was given a period that is not positive.
	ErrBadDuration = spec.ErrBadDuration
	// ErrNoSignal: Signal was given no signal, or a nil one.
	ErrNoSignal = spec.ErrNoSignal
	// ErrNoQueue: a step asked to wait for an event, but whoever runs it
	// has no event queue.
	ErrNoQueue = spec.ErrNoQueue
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
	// handed out, in order, for a signal registration: none only if the
	// kernel refused to arm the registration again (Rearm it).
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

// perturb marks a place where another goroutine's call matters, just
// before a call takes q.mu: a chaos point (impl/chaos). Built with -tags
// chaos it sometimes yields or pauses, so that concurrent calls meet in
// every order; in every other build it is empty and inlined away. It is
// not seam.Point: under -tags sched the q.mu.Lock that follows is a switch
// point already, and a second one beside it would only dilute the
// controlled scheduler's choices. Where no switch point follows (Wait's
// windows without q.mu), the queue calls seam.Point.
func perturb() { chaos.Point() }

// Queue is an event queue. Make one with New; release it with Close.
type Queue struct {
	sys     sys // the way to the kernel (sys.go); set by New
	mu      seam.Mutex
	left    seam.Cond // signalled when a Wait leaves, for Close; its Mutex is mu
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
	// k is the queue's part under impl/seam's controlled scheduler
	// (kernel_sched.go); empty in an ordinary build (kernel_plain.go).
	k      kernel
	heap   []*reg
	tfd    int
	tarmed bool
	tset   int64
}

// New returns an event queue: an epoll instance and a wake-up eventfd
// (the timerfd comes with the first timer). It fails with the kernel's
// error wrapped (EMFILE, ENOMEM...), and has then left nothing open.
func New() (*Queue, error) { return newQueue(sys{}) }

// newQueue is New, its system calls made through s (sys.go).
func newQueue(s sys) (*Queue, error) {
	epfd, err := s.epollCreate()
	if err != nil {
		return nil, fmt.Errorf("eventq: epoll_create1: %w", err)
	}
	wakefd, err := s.eventfd()
	if err != nil {
		s.close(epfd)
		return nil, fmt.Errorf("eventq: eventfd: %w", err)
	}
	// Level-triggered and never disarmed: a Wake always breaks a Wait.
	if err := s.ctl(epfd, unix.EPOLL_CTL_ADD, wakefd, unix.EPOLLIN, wakeID); err != nil {
		s.close(wakefd)
		s.close(epfd)
		return nil, fmt.Errorf("eventq: epoll_ctl: %w", err)
	}
	// Non-blocking, the epoll fd becomes a pollable os.File: Go's
	// netpoller watches it (an epoll fd is readable while it has events to
	// report) and parks a blocked Wait's goroutine, as it parks one
	// reading a socket. epoll_wait itself ignores the flag.
	if err := s.setNonblock(epfd); err != nil {
		s.close(wakefd)
		s.close(epfd)
		return nil, fmt.Errorf("eventq: epoll fd: %w", err)
	}
	ep := os.NewFile(uintptr(epfd), "eventq")
	raw, err := ep.SyscallConn()
	if err != nil {
		s.close(wakefd)
		s.closeFile(ep, epfd)
		return nil, fmt.Errorf("eventq: epoll fd: %w", err)
	}
	q := &Queue{sys: s, epfd: epfd, ep: ep, epRaw: raw, wakefd: wakefd, tfd: -1, regs: map[ID]*reg{}, conts: map[*cont.C]ID{}}
	q.left.Init(&q.mu)
	q.control()
	return q, nil
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
func (q *Queue) Register(fd int, events Events, c *cont.C) (ID, error) {
	if err := events.Check(); err != nil {
		return 0, fmt.Errorf("eventq: register %v: %w", events, err)
	}
	perturb()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.admit(c); err != nil {
		return 0, err
	}
	if fd < 0 {
		return 0, fmt.Errorf("eventq: register fd %d: %w", fd, unix.EBADF)
	}
	dup, err := q.sys.dup(fd)
	if err != nil {
		return 0, fmt.Errorf("eventq: register fd %d: %w", fd, err)
	}
	r := &reg{c: c, kind: kindFD, fd: dup, events: events, kev: kernelEvents(events)}
	if err := q.add(r); err != nil {
		q.sys.close(dup)
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
// caller pushes it on the heap). If epoll refuses it, the id is not
// issued: the next registration has it, as if this one had never been
// asked for (a failed Register adds nothing). q.mu is held.
func (q *Queue) add(r *reg) error {
	q.kick()
	r.id = q.last + 1
	if r.kind != kindTimer {
		if err := q.sys.ctl(q.epfd, unix.EPOLL_CTL_ADD, r.fd, r.kev, r.id); err != nil {
			return err
		}
	}
	q.last = r.id
	q.regs[r.id] = r
	q.conts[r.c] = r.id
	return nil
}

// end ends r: out of the table, a timer out of the heap (the caller sets
// the timerfd again, with retime, if it must), its signal watcher stopped,
// its fd out of epoll and closed. It returns the kernel's errors taking
// the fd out and closing it, which Close reports; the registration has
// ended whatever they are (Linux releases an fd whatever close returns).
// q.mu is held.
func (q *Queue) end(r *reg) error {
	delete(q.regs, r.id)
	delete(q.conts, r.c)
	if r.kind == kindTimer {
		if r.hidx >= 0 {
			q.remove(r)
		}
		return nil
	}
	if r.sig != nil {
		r.sig.stop() // before closing the eventfd the watcher writes
	}
	err := q.sys.ctl(q.epfd, unix.EPOLL_CTL_DEL, r.fd, 0, 0)
	if err == unix.ENOENT {
		err = nil // disarmed by DEL (byDel), lent
	}
	return errors.Join(err, q.sys.close(r.fd))
}

// Cancel ends the registration id and reports whether it was still
// registered: false if it was cancelled already, was a one-shot that
// fired, was never issued, or the queue is closed. It never fires after
// Cancel reports true. If its continuation is lent, it stays with whoever
// holds it. An error of the kernel's taking its fd out of epoll or
// closing it (never seen: the queue owns the fd) is not reported: the
// registration has ended all the same, and nothing stays open.
func (q *Queue) Cancel(id ID) bool {
	perturb()
	q.mu.Lock()
	defer q.mu.Unlock()
	r := q.regs[id]
	if q.closed || r == nil {
		return false
	}
	q.end(r)
	if r.kind == kindTimer {
		q.retime(q.now()) // a failure leaves the timerfd for the next Wait to set (retime)
	}
	return true
}

// Rearm hands back the continuation of a registration that fired and is
// not one-shot: the registration fires again at its next readiness (see
// the package comment). Rearm of a registration that is armed already
// does nothing. It fails with ErrUnknownID if id has ended, ErrClosed
// after Close, or the kernel's error (the registration then stays lent).
func (q *Queue) Rearm(id ID) error {
	perturb()
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
		q.kick()
		q.push(r)
		if err := q.retime(q.now()); err != nil {
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
		err := q.sys.ctl(q.epfd, unix.EPOLL_CTL_ADD, r.fd, r.kev, r.id)
		if err == unix.EEXIST {
			return nil // its disarm failed (fire): armed still
		}
		return err
	}
	return q.sys.ctl(q.epfd, unix.EPOLL_CTL_MOD, r.fd, r.kev, r.id)
}

// Len returns the number of live registrations, armed or lent.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.regs)
}
