package fuzz

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// FuzzEventQueue's sequential replay: a decoded program run step by step
// on an event queue, over real pipes and sockets, beside the reference
// model.EventQRef: the registrations, cancels and rearms, what is done to
// the fds, and the count of open fds before and after
// (checkEventQSequential). What the queue hands out is checked in
// eventq_firings_test.go.

// eqQueue is what the sequential replay calls: a eventqtest.Queue with
// Signal.
type eqQueue interface {
	eventqtest.Queue
	Signal(c *cont.C, sigs ...os.Signal) (spec.EventID, error)
}

var _ eqQueue = (*eventq.Queue)(nil)

func newEqQueue() eqQueue {
	q, err := eventq.New()
	if err != nil {
		panic(fmt.Sprintf("fuzz: an event queue: %v", err))
	}
	return q
}

// eqFuzzReg is a registration the replay made, as the reference has it.
type eqFuzzReg struct {
	id, mid spec.EventID // the queue's id, and the reference's
	c       *cont.C
	end     int // the end it watches; -1 for a timer, a signal or a bad fd
	events  spec.Events
	timer   bool
	signal  bool
	sigs    string        // a signal registration's signals (eventqtest.SigNums)
	owed    string        // signals sent since it last handed each out: it owes a firing with each
	period  time.Duration // Every's
	due     time.Time     // After's: when it is due at the latest
}

// eqReplay is the sequential replay of one program beside
// model.EventQRef.
type eqReplay struct {
	q      eqQueue
	ref    model.EventQRef
	fds    [eventqtest.Ends]int // -1 once closed by the program
	was    [eventqtest.Ends]int // the number each end had
	regs   []*eqFuzzReg
	byID   map[spec.EventID]*eqFuzzReg
	last   *cont.C                // the continuation of the last registration attempt
	hold   *eventqtest.SignalHold // the process's signals, for a program with signal steps
	closed bool
	done   []string // the steps so far, for the report
}

func eqIdle() *cont.C {
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step { return c.Next() })
}

// checkEventQSequential replays steps on a fresh queue from newQueue,
// beside model.EventQRef, and returns the first disagreement (see
// doc.go). Every fd it opens, and the queue, are closed before it
// returns, and the process must have as many fds open as before.
func checkEventQSequential(newQueue func() eqQueue, steps []eqStep) (err error) {
	countEqFDs() // the first read may make the runtime open its poller
	before := countEqFDs()
	r := &eqReplay{byID: map[spec.EventID]*eqFuzzReg{}}
	if slices.ContainsFunc(steps, func(s eqStep) bool { return s.op == eqOpSignal }) {
		r.hold = eventqtest.HoldSignals()
		defer r.hold.Release() // last: after the queue is closed
	}
	for i := range r.fds {
		r.fds[i], r.was[i] = -1, -1
	}
	defer func() {
		if !r.closed {
			r.q.Close()
		}
		for _, fd := range r.fds {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
		if err == nil {
			err = eqFDsBack(before)
		}
		if err != nil {
			err = fmt.Errorf("%w\n  steps: %s", err, strings.Join(r.done, "; "))
		}
	}()
	if err := r.open(); err != nil {
		return err
	}
	r.q = newQueue()
	for _, s := range steps {
		r.done = append(r.done, s.String())
		if err := r.step(s); err != nil {
			return err
		}
	}
	r.done = append(r.done, "(end)")
	if !r.closed {
		if err := r.settleTimers(); err != nil {
			return err
		}
		if err := r.settleSignals(); err != nil {
			return err
		}
		return r.closeQueue()
	}
	if held, err := r.q.Close(); held != nil || !errors.Is(err, spec.ErrClosed) {
		return fmt.Errorf("second Close: %d continuations, %v; want none and ErrClosed", len(held), err)
	}
	return nil
}

func (r *eqReplay) open() error {
	var p [2]int
	for _, ends := range [][2]eventqtest.End{{eventqtest.Pipe0R, eventqtest.Pipe0W}, {eventqtest.Pipe1R, eventqtest.Pipe1W}} {
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			return err
		}
		r.fds[ends[0]], r.fds[ends[1]] = p[0], p[1]
	}
	s, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return err
	}
	r.fds[eventqtest.SockA], r.fds[eventqtest.SockB] = s[0], s[1]
	r.was = r.fds
	return nil
}

// live reports whether registration g has not ended, as the reference
// says.
func (r *eqReplay) live(g *eqFuzzReg) bool { return slices.Contains(r.ref.Live(), g.mid) }

// liveCont reports whether c is in a live registration.
func (r *eqReplay) liveCont(c *cont.C) bool {
	for _, g := range r.regs {
		if g.c == c && r.live(g) {
			return true
		}
	}
	return false
}

// oneOf checks err against the errors the contract allows: nil if none
// applies, else one of them.
func oneOf(what string, err error, allowed ...error) error {
	if len(allowed) == 0 {
		if err != nil {
			return fmt.Errorf("%s: %v, want success", what, err)
		}
		return nil
	}
	for _, a := range allowed {
		if errors.Is(err, a) {
			return nil
		}
	}
	return fmt.Errorf("%s: %v, want one of %v", what, err, allowed)
}

// register makes one registration attempt through call, which is
// expected to fail with one of allowed if any applies; modelFD < 0 tells
// the reference the fd is bad. It reports the attempt to the reference
// and records the registration made.
func (r *eqReplay) register(what string, c *cont.C, g eqFuzzReg, modelFD int, allowed []error, call func() (spec.EventID, error)) error {
	if r.closed {
		allowed = append(allowed, spec.ErrClosed)
	}
	if c == nil {
		allowed = append(allowed, spec.ErrNilCont)
	} else if r.liveCont(c) {
		allowed = append(allowed, spec.ErrRegistered)
	}
	r.last = c
	id, err := call()
	if !r.closed && c != nil && !r.liveCont(c) && !slices.Contains(allowed, spec.ErrBadDuration) && !slices.Contains(allowed, spec.ErrNoSignal) {
		// The reference decides events and fd.
		var mid spec.EventID
		var merr error
		if g.sigs != "" {
			mid = r.ref.RegisterSignals(g.sigs)
		} else {
			mid, merr = r.ref.Register(modelFD, g.events)
		}
		switch {
		case merr == nil && err == nil:
			g.id, g.mid, g.c = id, mid, c
			if r.byID[id] != nil || id == 0 {
				return fmt.Errorf("%s: id %d issued twice (or zero)", what, id)
			}
			if n := len(r.regs); n > 0 && id <= r.regs[n-1].id {
				return fmt.Errorf("%s: id %d after id %d: ids must increase", what, id, r.regs[n-1].id)
			}
			reg := g
			r.regs = append(r.regs, &reg)
			r.byID[id] = &reg
			return nil
		case errors.Is(merr, spec.ErrBadEvents):
			return oneOf(what, err, append(allowed, spec.ErrBadEvents)...)
		case merr != nil:
			return oneOf(what, err, append(allowed, unix.EBADF)...)
		}
		return fmt.Errorf("%s: %v; the reference registers it", what, err)
	}
	if err == nil {
		return fmt.Errorf("%s: succeeded (id %d); want one of %v", what, id, allowed)
	}
	// Several rules may apply at once: any of their errors will do, and
	// so will the reference's verdict on the event set and the fd.
	if g.events.Check() != nil {
		allowed = append(allowed, spec.ErrBadEvents)
	}
	if modelFD < 0 {
		allowed = append(allowed, unix.EBADF)
	}
	return oneOf(what, err, allowed...)
}

func (r *eqReplay) registerFD(what string, c *cont.C, end int, fd int, events spec.Events) error {
	g := eqFuzzReg{end: end, events: events}
	modelFD := fd
	return r.register(what, c, g, modelFD, nil, func() (spec.EventID, error) { return r.q.Register(fd, events, c) })
}

// pick resolves a cancel's or rearm's parameter to an id: 7 one never
// issued, 6 zero, else one of the registrations made, newest first.
func (r *eqReplay) pick(p int) spec.EventID {
	switch {
	case p == 7:
		return eqNeverID
	case p == 6:
		return 0
	case len(r.regs) == 0:
		return eqNeverID + spec.EventID(p)
	}
	return r.regs[len(r.regs)-1-p%len(r.regs)].id
}

func (r *eqReplay) step(s eqStep) error {
	what, p := s.String(), s.p
	switch op := s.op; {
	case op <= 2:
		t := eventqtest.Targets[(op*8+p)%len(eventqtest.Targets)]
		if r.fds[t.End] < 0 {
			return nil // we closed it: eqOpRegisterShut's business
		}
		return r.registerFD(what, eqIdle(), int(t.End), r.fds[t.End], t.Events)
	case op == eqOpRegisterBad:
		end := eventqtest.End(p % 6)
		if r.fds[end] < 0 {
			return nil
		}
		return r.registerFD(what, eqIdle(), int(end), r.fds[end], eqBadEvents[p])
	case op == eqOpRegisterNeg:
		return r.registerFD(what, eqIdle(), -1, -1, eventqtest.Targets[p].Events)
	case op == eqOpRegisterShut:
		end := eventqtest.End(p % 6)
		fd := r.was[end]
		if r.fds[end] >= 0 {
			return nil // still open
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
			return nil // the number was taken again since (by the queue, say)
		}
		c := eqIdle()
		events := spec.EvRead | spec.EvWrite
		return r.register(what, c, eqFuzzReg{end: -1, events: events}, -1, nil, func() (spec.EventID, error) { return r.q.Register(fd, events, c) })
	case op == eqOpRegisterAgain, op == eqOpRegisterNil:
		t := eventqtest.Targets[p]
		if r.fds[t.End] < 0 {
			return nil
		}
		var c *cont.C
		if op == eqOpRegisterAgain {
			if c = r.last; c == nil {
				c = eqIdle()
			}
		}
		return r.registerFD(what, c, int(t.End), r.fds[t.End], t.Events)
	case op == eqOpAfter, op == eqOpAfterAgain:
		c := eqIdle()
		if op == eqOpAfterAgain && r.last != nil {
			c = r.last
		}
		d := eqAfter[p]
		g := eqFuzzReg{end: -1, events: spec.EvRead | spec.EvOneShot, timer: true}
		err := r.register(what, c, g, eqNoFD, nil, func() (spec.EventID, error) { return r.q.After(d, c) })
		if n := len(r.regs); err == nil && n > 0 && r.regs[n-1].c == c && r.regs[n-1].timer && r.regs[n-1].due.IsZero() {
			r.regs[n-1].due = time.Now().Add(max(d, 0))
		}
		return err
	case op == eqOpEvery:
		c, d := eqIdle(), eqEvery[p]
		var allowed []error
		if d <= 0 {
			allowed = []error{spec.ErrBadDuration}
		}
		g := eqFuzzReg{end: -1, events: spec.EvRead, timer: true, period: d}
		return r.register(what, c, g, eqNoFD, allowed, func() (spec.EventID, error) { return r.q.Every(d, c) })
	case op == eqOpSignal && p >= eqKill:
		return r.kill(what, eqKills[p-eqKill])
	case op == eqOpSignal:
		c, sigs := eqIdle(), eqSignals[p]
		var allowed []error
		if p < 2 {
			allowed = []error{spec.ErrNoSignal}
		}
		g := eqFuzzReg{end: -1, events: spec.EvRead, signal: true, sigs: eventqtest.SigNums(sigs...)}
		return r.register(what, c, g, eqNoFD, allowed, func() (spec.EventID, error) { return r.q.Signal(c, sigs...) })
	case op >= eqOpCancel && op < eqOpRearm:
		id := r.pick(p)
		got := r.q.Cancel(id)
		want := false
		if g := r.byID[id]; g != nil && !r.closed {
			want = r.ref.Cancel(g.mid)
		}
		if got != want {
			return fmt.Errorf("%s: Cancel(%d) = %v, want %v", what, id, got, want)
		}
	case op >= eqOpRearm && op < eqOpWrite:
		return r.rearm(what, r.pick(p))
	case op >= eqOpWrite && op < eqOpRead:
		end := eqWritable[p%4]
		if fd := r.fds[end]; fd >= 0 {
			if _, err := unix.Write(fd, make([]byte, 1+p/4)); err != nil && err != unix.EAGAIN && err != unix.EPIPE && err != unix.ECONNRESET {
				return fmt.Errorf("%s: %v", what, err)
			}
		}
	case op >= eqOpRead && op < eqOpCloseEnd:
		if fd := r.fds[eqReadable[p%4]]; fd >= 0 {
			if err := eqDrain(fd); err != nil {
				return fmt.Errorf("%s: %v", what, err)
			}
		}
	case op == eqOpCloseEnd:
		if end := p % 6; r.fds[end] >= 0 {
			unix.Close(r.fds[end])
			r.fds[end] = -1
		}
	case op == eqOpShutdown:
		if fd := r.fds[[]eventqtest.End{eventqtest.SockA, eventqtest.SockB}[p%2]]; fd >= 0 {
			if err := unix.Shutdown(fd, unix.SHUT_WR); err != nil && err != unix.ENOTCONN {
				return fmt.Errorf("%s: %v", what, err)
			}
		}
	case op == eqOpPoll || op == eqOpPoll+1:
		return r.wait(what, 0)
	case op == eqOpWait:
		return r.wait(what, time.Millisecond)
	case op == eqOpWake:
		return r.wake(what)
	case op == eqOpClose:
		if r.closed {
			if held, err := r.q.Close(); held != nil || !errors.Is(err, spec.ErrClosed) {
				return fmt.Errorf("%s: second Close: %d continuations, %v; want none and ErrClosed", what, len(held), err)
			}
			return nil
		}
		return r.closeQueue()
	case op == eqOpRearmAll:
		for _, g := range r.regs {
			if !r.closed && r.live(g) && !r.ref.CanFire(g.mid) {
				if err := r.rearm(what, g.id); err != nil {
					return err
				}
			}
		}
	case op == eqOpFill:
		if fd := r.fds[eqWritable[p%4]]; fd >= 0 {
			buf := make([]byte, 4096)
			for range 1024 { // a pipe holds 64 KiB, a socket's buffer a few hundred
				if _, err := unix.Write(fd, buf); err != nil {
					break
				}
			}
		}
	}
	return nil
}

func (r *eqReplay) rearm(what string, id spec.EventID) error {
	err := r.q.Rearm(id)
	switch g := r.byID[id]; {
	case r.closed:
		return oneOf(what, err, spec.ErrClosed)
	case g == nil:
		return oneOf(what, err, spec.ErrUnknownID)
	default:
		if werr := r.ref.Rearm(g.mid); werr != nil {
			return oneOf(what, err, werr)
		}
		return oneOf(what, err)
	}
}

func eqDrain(fd int) error {
	var buf [512]byte
	for {
		n, err := unix.Read(fd, buf[:])
		switch {
		case err == unix.EINTR:
		case err == unix.EAGAIN || err == nil && n == 0 || err == unix.ECONNRESET:
			return nil
		case err != nil:
			return err
		}
	}
}

func countEqFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// eqFDsBack compares the open fds with before, allowing a moment for a
// difference to go (none should: everything was closed synchronously).
func eqFDsBack(before int) error {
	now := countEqFDs()
	for range 20 {
		if now == before {
			return nil
		}
		time.Sleep(time.Millisecond)
		now = countEqFDs()
	}
	return fmt.Errorf("%d fds open before, %d after: an fd leaked", before, now)
}
