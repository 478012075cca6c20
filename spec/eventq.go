package spec

import (
	"errors"
	"strings"
)

// The errors of the event queue. Implementations return these very values,
// or errors that wrap them (test with errors.Is); an error from the kernel
// (an fd it refuses, such as EBADF or EPERM) is wrapped as it is.
var (
	// ErrClosed: the event queue is closed; nothing more can be
	// registered, waited for or handed back.
	ErrClosed = errors.New("eventq: closed")
	// ErrBadEvents: the event set breaks a rule of Events.Check.
	ErrBadEvents = errors.New("eventq: bad event set")
	// ErrUnknownID: no live registration has this id: it was never
	// issued, or it was cancelled, or it was a one-shot that fired.
	ErrUnknownID = errors.New("eventq: unknown registration id")
	// ErrNilCont: a registration was given a nil continuation.
	ErrNilCont = errors.New("eventq: nil continuation")
	// ErrRegistered: the continuation is already in a live registration
	// of this queue; a continuation may be in one registration at a time,
	// so that the queue never hands it out twice at once.
	ErrRegistered = errors.New("eventq: continuation already registered")
	// ErrBusy: Wait was called while another Wait was in progress; one
	// goroutine at a time may wait.
	ErrBusy = errors.New("eventq: another Wait is in progress")
	// ErrBadDuration: a periodic timer was asked for a period that is not
	// positive.
	ErrBadDuration = errors.New("eventq: the period of a timer must be positive")
	// ErrNoSignal: Signal was given no signal, or a nil one.
	ErrNoSignal = errors.New("eventq: no signal to wait for")
	// ErrNoQueue: a step asked to wait for an event, but nothing that runs
	// it has an event queue (a polling runtime, or RunReady).
	ErrNoQueue = errors.New("eventq: no event queue runs this step")
)

// EventID names a registration of an event queue. Ids are issued in
// increasing order from 1 and never reused by the same queue, so an id
// that has ended stays unknown for ever. Zero is never an id.
type EventID uint64

// Events is a set of readiness conditions and trigger modes, what a
// registration waits for and what a firing reports. Each bit maps to one
// epoll flag, except Level, which is epoll's default (the absence of
// EPOLLET) made explicit.
//
// Conditions, what an fd can be ready for (a firing reports those that
// hold, among the ones asked for, plus Error and HangUp, which epoll
// always reports):
//
//   - EvRead (EPOLLIN): data to read, or a peer to accept.
//   - EvWrite (EPOLLOUT): room to write.
//   - EvError (EPOLLERR): an error condition; always reported.
//   - EvHangUp (EPOLLHUP): hang-up (the other end of a pipe closed, a
//     socket shut down both ways); always reported.
//   - EvNoPeer (EPOLLRDHUP): the peer of a stream socket closed its end or
//     shut down writing.
//   - EvPriority (EPOLLPRI): an exceptional condition (out-of-band data).
//   - EvMessage (EPOLLMSG): kept from the Nim original; Linux accepts it
//     and never reports it, so a registration waiting for it alone never
//     fires.
//
// Modes, how a registration fires:
//
//   - EvLevel (the default): fires while the fd is ready.
//   - EvEdge (EPOLLET): fires when the fd becomes ready (an arrival), once
//     per arrival however long the data stays unread.
//   - EvOneShot (EPOLLONESHOT): fires once, then the registration ends.
//   - EvExclusive (EPOLLEXCLUSIVE): of several event queues waiting on one
//     file, wake one rather than all.
//   - EvWakeUp (EPOLLWAKEUP): keep the system from suspending while the
//     event is handled (the kernel ignores it without CAP_BLOCK_SUSPEND).
type Events uint16

const (
	EvRead Events = 1 << iota
	EvWrite
	EvError
	EvHangUp
	EvNoPeer
	EvPriority
	EvMessage
	EvOneShot
	EvEdge
	EvLevel
	EvExclusive
	EvWakeUp
	evEnd
)

// EvConditions is the set of conditions: an event set needs at least one.
const EvConditions = EvRead | EvWrite | EvError | EvHangUp | EvNoPeer | EvPriority | EvMessage

// EvExclusiveWith is what EvExclusive may be combined with (as Linux
// says): no OneShot, NoPeer, Priority or Message.
const EvExclusiveWith = EvRead | EvWrite | EvError | EvHangUp | EvWakeUp | EvEdge | EvLevel | EvExclusive

var evNames = [...]string{"Read", "Write", "Error", "HangUp", "NoPeer", "Priority", "Message", "OneShot", "Edge", "Level", "Exclusive", "WakeUp"}

// String lists the events in the set, such as "Read|Edge", or "0".
func (e Events) String() string {
	var parts []string
	for i, name := range evNames {
		if e&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	if e >= evEnd {
		parts = append(parts, "?")
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// Check returns nil if e is an event set a registration may ask for, and
// ErrBadEvents otherwise: a set with an unknown bit, with no condition,
// with both Edge and Level, or with Exclusive and a flag outside
// EvExclusiveWith.
func (e Events) Check() error {
	switch {
	case e >= evEnd, e&EvConditions == 0, e&(EvEdge|EvLevel) == EvEdge|EvLevel,
		e&EvExclusive != 0 && e&^EvExclusiveWith != 0:
		return ErrBadEvents
	}
	return nil
}

// EventQueue is the contract of an event queue: continuations registered
// to be resumed when an fd is ready, a timer expires or a signal arrives,
// handed out by a Wait that blocks in epoll.
//
// # Sequential semantics
//
// The state is a set of registrations, each with an id, what it waits
// for, whether it is one-shot, and a state: armed, lent or ended.
//
//   - Register(fd, events, c) checks events (ErrBadEvents), c (ErrNilCont,
//     and ErrRegistered if c is in a live registration already) and fd
//     (the kernel's error, such as EBADF), then adds an armed
//     registration with a fresh id. A failed Register adds nothing.
//     Timers and signals are registrations too: a one-shot timer is
//     one-shot, a periodic timer and a signal registration are not.
//   - A firing is the queue handing the continuation of an armed
//     registration out of a Wait, because what it waits for happened. A
//     one-shot registration ends when it fires: it fires at most once. Any
//     other goes from armed to lent: its continuation is with the caller.
//   - Rearm(id) hands a lent continuation back: the registration is armed
//     again and fires at the next readiness (level: at once if the fd is
//     still ready; edge: if an arrival came while it was lent, else at the
//     next arrival; timer: if it expired meanwhile; signal: if a signal
//     arrived meanwhile). Rearm of an armed registration changes nothing;
//     of an ended or unknown one, ErrUnknownID.
//   - Cancel(id) ends a registration that has not ended and reports true;
//     it reports false for an id that has ended (cancelled, or a one-shot
//     that fired) or was never issued. A registration never fires after a
//     Cancel that reported true. Cancelling a lent registration leaves its
//     continuation with whoever holds it.
//   - Wake() makes the Wait in progress (or, if none, the next) return,
//     with whatever else is ready; with nothing ready, it returns none.
//   - Close() ends every registration and returns the continuations of
//     those that were armed (a lent continuation is its holder's), each
//     once; every other call then fails with ErrClosed (Cancel reports
//     false), a second Close too.
//   - A call that fails with the kernel's error (wrapped, so that
//     errors.Is finds the errno) has changed nothing: Register, Signal,
//     After and Every add no registration and use up no id, a failed Rearm
//     leaves the registration lent, a failed Wait hands nothing out and
//     leaves the queue free for the next Wait, and no fd stays open.
//
// # Concurrency
//
// Register, Cancel, Rearm, Wake and Close may be called from any
// goroutine, at any time, and are linearizable; a firing takes effect at
// one instant inside the Wait that hands it out. One goroutine at a time
// may Wait (another gets ErrBusy).
//
// Lending is what keeps a continuation with one runner at a time: a
// registration that fires again and again does not hand its continuation
// out again until it is handed back, so two runners never step it at once.
//
// # Sleep in any continuation
//
// The step Sleep(ctx, c, d, next) runs next no sooner than d after it was
// called, wherever c runs, and never loses c:
//
//   - where the step's context gives an event queue, c waits on a
//     one-shot timer of that queue (its runner is free meanwhile); handed
//     back before its time (by Close, among a runtime's leftovers), it
//     sleeps on for the time left when run again;
//   - else, where it gives a home mailbox (a pool's worker gives the
//     mailbox c came from), c waits on a timer that holds no goroutine and
//     is sent back to that mailbox when due; if the mailbox is closed for
//     writing by then, next runs at once where c woke, with the send's
//     failure in cont.MoveErr, and c runs on there;
//   - else c sleeps in place: the step waits until d has passed or its
//     context ends; ended first, it returns a step that sleeps for the time
//     left only (an interrupted sleep survives the interruption, and never
//     sleeps longer than d from the first call, but for the time its
//     runner takes to run it again).
//
// A queue that refuses the timer (closed), or a queue that cannot be had
// for a reason other than ErrNoQueue, leaves c where it is, next running at
// once with the error in cont.MoveErr.
//
// Where this differs from the Nim original: it resumes a repeating
// registration's continuation each time it fires; here it is lent, and
// fires again once handed back (RunReady does that after each step).
// Signals come through os/signal rather than signalfd (see the Go
// adaptation notes: Go owns the signal handlers).
type EventQueue[C any] interface {
	Register(fd int, events Events, c *C) (EventID, error)
	Cancel(id EventID) bool
	Rearm(id EventID) error
	Wake() error
}
