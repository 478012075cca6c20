package fuzz

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// The event queue's input format (see doc.go): every byte, up to
// eqMaxSteps, is one step: its low five bits an entry of the table below
// (eqStep.String names them), its top three bits the entry's parameter p.
// Every byte string is a valid input. The same bytes, read as choices of
// eventqtest.GenRound, also make one concurrent round of the campaign.
const (
	eqMaxSteps = 64
	// eqPatience bounds how long the replay waits for a timer that is due
	// to fire, and for a Wait broken by Wake to return; a correct queue
	// takes microseconds.
	eqPatience = 2 * time.Second
	// eqWakePatience is how long a Wait after a Wake may take before the
	// wake-up counts as lost.
	eqWakePatience = 500 * time.Millisecond
	// eqNoFD is the fd the model is given for a timer or a signal
	// registration, which has none of the caller's: any fd the model
	// accepts.
	eqNoFD = 1 << 20
	// eqNeverID is an id no queue of a fuzz input ever issues.
	eqNeverID spec.EventID = 1 << 40
)

// The table of steps, by the low five bits of a byte.
const (
	eqOpRegister      = 0  // 0, 1, 2: Register(fresh c, fd, events) of eventqtest.Targets[(entry*8+p) % len]
	eqOpRegisterBad   = 3  // Register with the bad event set eqBadEvents[p] on end p%6
	eqOpRegisterNeg   = 4  // Register on fd -1 (EBADF), events of eventqtest.Targets[p]
	eqOpRegisterShut  = 5  // Register on the number of an end of ours we closed (EBADF), if no fd took it since
	eqOpRegisterAgain = 6  // Register the continuation of the last registration again (ErrRegistered while it lives)
	eqOpRegisterNil   = 7  // Register a nil continuation (ErrNilCont)
	eqOpAfter         = 8  // After(eqAfter[p], fresh c)
	eqOpEvery         = 9  // Every(eqEvery[p], fresh c); 0 and negative periods fail (ErrBadDuration)
	eqOpSignal        = 10 // Signal(fresh c, ...): p 0 no signal, 1 a nil one (ErrNoSignal), else SIGUSR1 or SIGUSR2 (never sent)
	eqOpAfterAgain    = 11 // After(eqAfter[p]) of the last continuation again
	eqOpCancel        = 12 // 12, 13, 14: Cancel(pick p)
	eqOpRearm         = 15 // 15, 16, 17: Rearm(pick p)
	eqOpWrite         = 18 // 18, 19, 20: write 1+p/4 bytes to eqWritable[p%4]
	eqOpRead          = 21 // 21, 22: read eqReadable[p%4] empty
	eqOpCloseEnd      = 23 // close our end p%6 (the queue's duplicates keep the file open)
	eqOpShutdown      = 24 // shutdown(SHUT_WR) of socket end sa or sb (p%2): NoPeer and HangUp
	eqOpPoll          = 25 // 25, 26: Poll
	eqOpWait          = 27 // Wait(1ms)
	eqOpWake          = 28 // Wake, then Wait(-1), which the kept wake-up ends at once
	eqOpClose         = 29 // Close the queue
	eqOpRearmAll      = 30 // Rearm every lent registration
	eqOpFill          = 31 // write to eqWritable[p%4] until it would block (no room: Write is not ready)
	eqOps             = 32
)

var (
	eqAfter     = [8]time.Duration{0, time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, -time.Millisecond, 2 * time.Millisecond}
	eqEvery     = [8]time.Duration{time.Millisecond, 0, -time.Millisecond, 500 * time.Microsecond, 2 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, time.Millisecond}
	eqBadEvents = [8]spec.Events{
		0, spec.EvRead | spec.EvEdge | spec.EvLevel, spec.EvOneShot, spec.EvRead | spec.EvExclusive | spec.EvOneShot,
		spec.EvExclusive | spec.EvNoPeer, spec.EvRead | 1<<14, spec.EvExclusive | spec.EvPriority, spec.EvLevel | spec.EvEdge,
	}
	eqWritable = [4]eventqtest.End{eventqtest.Pipe0W, eventqtest.Pipe1W, eventqtest.SockA, eventqtest.SockB}
	eqReadable = [4]eventqtest.End{eventqtest.Pipe0R, eventqtest.Pipe1R, eventqtest.SockA, eventqtest.SockB}
)

// eqStep is one decoded step.
type eqStep struct{ op, p int }

func eqByte(op, p int) byte { return byte(op | p<<5) }

func (s eqStep) String() string {
	p := s.p
	switch op := s.op; {
	case op <= 2:
		return fmt.Sprintf("register(%v)", eventqtest.Targets[(op*8+p)%len(eventqtest.Targets)])
	case op == eqOpRegisterBad:
		return fmt.Sprintf("register(%v %v)", eventqtest.End(p%6), eqBadEvents[p])
	case op == eqOpRegisterNeg:
		return fmt.Sprintf("register(fd -1, %v)", eventqtest.Targets[p].Events)
	case op == eqOpRegisterShut:
		return fmt.Sprintf("register(closed %v)", eventqtest.End(p%6))
	case op == eqOpRegisterAgain:
		return fmt.Sprintf("register-again(%v)", eventqtest.Targets[p])
	case op == eqOpRegisterNil:
		return fmt.Sprintf("register-nil(%v)", eventqtest.Targets[p])
	case op == eqOpAfter:
		return fmt.Sprintf("after(%v)", eqAfter[p])
	case op == eqOpEvery:
		return fmt.Sprintf("every(%v)", eqEvery[p])
	case op == eqOpSignal:
		return fmt.Sprintf("signal(%d)", p)
	case op == eqOpAfterAgain:
		return fmt.Sprintf("after-again(%v)", eqAfter[p])
	case op >= eqOpCancel && op < eqOpRearm:
		return fmt.Sprintf("cancel(#%d)", p)
	case op >= eqOpRearm && op < eqOpWrite:
		return fmt.Sprintf("rearm(#%d)", p)
	case op >= eqOpWrite && op < eqOpRead:
		return fmt.Sprintf("write(%v, %d)", eqWritable[p%4], 1+p/4)
	case op >= eqOpRead && op < eqOpCloseEnd:
		return fmt.Sprintf("read(%v)", eqReadable[p%4])
	case op == eqOpCloseEnd:
		return fmt.Sprintf("close(%v)", eventqtest.End(p%6))
	case op == eqOpShutdown:
		return fmt.Sprintf("shutdown(%v)", []eventqtest.End{eventqtest.SockA, eventqtest.SockB}[p%2])
	case op == eqOpPoll || op == eqOpPoll+1:
		return "poll"
	case op == eqOpWait:
		return "wait(1ms)"
	case op == eqOpWake:
		return "wake+wait"
	case op == eqOpClose:
		return "close-queue"
	case op == eqOpRearmAll:
		return "rearm-all"
	case op == eqOpFill:
		return fmt.Sprintf("fill(%v)", eqWritable[p%4])
	}
	return "?"
}

// decodeEventQ turns data into a program, deterministically.
func decodeEventQ(data []byte) []eqStep {
	if len(data) > eqMaxSteps {
		data = data[:eqMaxSteps]
	}
	steps := make([]eqStep, len(data))
	for i, b := range data {
		steps[i] = eqStep{op: int(b) % eqOps, p: int(b) >> 5}
	}
	return steps
}

// decodeEventQRound reads data as the choices of a concurrent round of
// the campaign: byte 0 the clients (1 to 3), byte 1 the steps of each (1
// to 8), every further byte one choice of eventqtest.GenRound, modulo the
// number of options; 0 past the end.
func decodeEventQRound(data []byte) eventqtest.Round {
	next := func(n int) int {
		if n <= 1 || len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b) % n
	}
	clients := 1 + next(3)
	ops := 1 + next(8)
	return eventqtest.GenRound(next, clients, ops)
}

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
	last   *cont.C // the continuation of the last registration attempt
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
		mid, merr := r.ref.Register(modelFD, g.events)
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
	case op == eqOpSignal:
		c := eqIdle()
		var sigs []os.Signal
		var allowed []error
		switch p {
		case 0:
			allowed = []error{spec.ErrNoSignal}
		case 1:
			sigs, allowed = []os.Signal{nil}, []error{spec.ErrNoSignal}
		default:
			sigs = []os.Signal{[]os.Signal{syscall.SIGUSR1, syscall.SIGUSR2}[p%2]}
		}
		g := eqFuzzReg{end: -1, events: spec.EvRead, signal: true}
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

// wait runs one Wait and checks every firing against the reference; and,
// if the queue is open, that every level registration that was armed
// before the Wait on an fd that poll(2) then said was ready has fired.
func (r *eqReplay) wait(what string, timeout time.Duration) error {
	var due []*eqFuzzReg
	if !r.closed {
		due = r.readyLevels()
	}
	ready, err := r.q.Wait(nil, timeout)
	if r.closed {
		if len(ready) > 0 || !errors.Is(err, spec.ErrClosed) {
			return fmt.Errorf("%s after Close: %d firings, %v; want none and ErrClosed", what, len(ready), err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	if err := r.fired(what, ready); err != nil {
		return err
	}
	for _, g := range due {
		if !slices.ContainsFunc(ready, func(rd eventq.Ready) bool { return rd.ID == g.id }) {
			return fmt.Errorf("%s: id %d (%v on %v) was armed while poll(2) said ready, yet not handed out (%d firings)", what, g.id, g.events, eventqtest.End(g.end), len(ready))
		}
	}
	return nil
}

// fired checks and applies the firings of one Wait.
func (r *eqReplay) fired(what string, ready []eventq.Ready) error {
	for _, rd := range ready {
		g := r.byID[rd.ID]
		if g == nil {
			return fmt.Errorf("%s: fired id %d, never issued", what, rd.ID)
		}
		if !r.ref.Fire(g.mid) {
			return fmt.Errorf("%s: fired id %d (%v), which the reference says cannot fire now (cancelled, a one-shot that fired, or lent)", what, rd.ID, g.events)
		}
		switch {
		case rd.C != g.c:
			return fmt.Errorf("%s: firing of id %d handed out another continuation", what, rd.ID)
		case rd.Ended != (g.events&spec.EvOneShot != 0):
			return fmt.Errorf("%s: firing of id %d (%v) says Ended %v", what, rd.ID, g.events, rd.Ended)
		case g.signal:
			return fmt.Errorf("%s: signal registration %d fired, though no signal was sent", what, rd.ID)
		case g.timer:
			if rd.Events != spec.EvRead || rd.Count == 0 || rd.Signals != nil {
				return fmt.Errorf("%s: timer firing of id %d: events %v, count %d; want Read, at least 1", what, rd.ID, rd.Events, rd.Count)
			}
		default:
			if allowed := g.events&spec.EvConditions | spec.EvError | spec.EvHangUp; rd.Events == 0 || rd.Events&^allowed != 0 || rd.Count != 0 || rd.Signals != nil {
				return fmt.Errorf("%s: firing of id %d (%v): events %v, count %d", what, rd.ID, g.events, rd.Events, rd.Count)
			}
		}
	}
	return nil
}

// readyLevels returns the armed level (not edge) registrations of ends of
// ours that poll(2) says are ready for what they ask: a Wait must hand
// each out, since the kernel puts a ready fd on epoll's ready list as it
// becomes ready and a level one stays there. (Nothing makes such an fd
// unready meanwhile: the queue neither reads nor writes it; closing a
// duplicate it held can only add a hang-up.)
func (r *eqReplay) readyLevels() []*eqFuzzReg {
	var due []*eqFuzzReg
	for _, g := range r.regs {
		if g.end < 0 || g.events&spec.EvEdge != 0 || !r.ref.CanFire(g.mid) || r.fds[g.end] < 0 {
			continue
		}
		pfd := []unix.PollFd{{Fd: int32(r.fds[g.end]), Events: eventqtest.PollBits(g.events)}}
		for {
			if _, err := unix.Poll(pfd, 0); err != unix.EINTR {
				break
			}
		}
		if pfd[0].Revents&eventqtest.PollBits(g.events) != 0 {
			due = append(due, g)
		}
	}
	return due
}

// wake wakes the queue, then waits without a limit: the kept wake-up
// must end that Wait at once (a watchdog closes the queue after
// eqWakePatience, which breaks the Wait, to report a lost wake-up rather
// than hang).
func (r *eqReplay) wake(what string) error {
	err := r.q.Wake()
	if r.closed {
		return oneOf(what, err, spec.ErrClosed)
	}
	if err != nil {
		return fmt.Errorf("%s: Wake: %v", what, err)
	}
	dog := time.AfterFunc(eqWakePatience, func() { r.q.Close() })
	ready, err := r.q.Wait(nil, -1)
	if !dog.Stop() {
		r.closed = true
		return fmt.Errorf("%s: the Wait after a Wake slept until the watchdog closed the queue, %v later: the wake-up was lost", what, eqWakePatience)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	return r.fired(what, ready)
}

// settleTimers waits until every armed timer is due, and then until each
// has fired (up to eqPatience).
func (r *eqReplay) settleTimers() error {
	armed := map[spec.EventID]*eqFuzzReg{}
	var by time.Time
	for _, g := range r.regs {
		if !g.timer || !r.ref.CanFire(g.mid) {
			continue
		}
		due := g.due
		if g.period > 0 {
			due = time.Now().Add(g.period)
		}
		if due.After(by) {
			by = due
		}
		armed[g.id] = g
	}
	if len(armed) == 0 {
		return nil
	}
	time.Sleep(time.Until(by))
	giveUp := time.Now().Add(eqPatience)
	for len(armed) > 0 {
		if time.Now().After(giveUp) {
			var ids []spec.EventID
			for id := range armed {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			return fmt.Errorf("timers %v armed and due, not handed out in %v (a lost firing)", ids, eqPatience)
		}
		ready, err := r.q.Wait(nil, time.Millisecond)
		if err != nil {
			return fmt.Errorf("final wait: %v", err)
		}
		if err := r.fired("final wait", ready); err != nil {
			return err
		}
		for _, rd := range ready {
			delete(armed, rd.ID)
		}
	}
	return nil
}

// closeQueue closes the queue, which must hand back the continuations of
// the armed registrations, in registration order.
func (r *eqReplay) closeQueue() error {
	held, err := r.q.Close()
	r.closed = true
	if err != nil {
		return fmt.Errorf("Close: %v", err)
	}
	var want []*cont.C
	var ids []spec.EventID
	for _, g := range r.regs {
		if r.ref.CanFire(g.mid) {
			want = append(want, g.c)
			ids = append(ids, g.id)
		}
	}
	if !slices.Equal(held, want) {
		return fmt.Errorf("Close handed back %d continuations; want the %d of the armed registrations %v, in order", len(held), len(want), ids)
	}
	return nil
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

// checkEventQ checks one input: sequentially, beside the reference; then
// as one concurrent round of the campaign.
func checkEventQ(newQueue func() eqQueue, data []byte) error {
	if err := checkEventQSequential(newQueue, decodeEventQ(data)); err != nil {
		return fmt.Errorf("sequential: %w", err)
	}
	r := decodeEventQRound(data)
	seed := chaosSeed(data)
	res := eventqtest.RunRound(r, eventqtest.Options{
		New:       func() eventqtest.Queue { return newQueue() },
		Deadline:  10 * time.Second,
		ChaosSeed: seed, KernelSeed: seed,
	})
	if res.Failed() {
		return fmt.Errorf("concurrent: verdict %v, hung %v, panic %q\n  %s\n%s", res.Verdict, res.Hung, res.Panic, strings.Join(res.Problems, "\n  "), r)
	}
	return nil
}

// eqSeeds are inputs of the seed corpus that the self-checks below use
// too: each reaches what one broken queue gets wrong.
var eqSeeds = map[string][]byte{
	// A one-shot on a readable pipe, polled twice, cancelled: it fires
	// once, then Cancel reports false. A Wake first.
	"one-shot": {eqByte(eqOpWake, 0), eqByte(eqOpWrite, 0), eqByte(0, 0), eqByte(eqOpPoll, 0), eqByte(eqOpPoll, 0), eqByte(eqOpCancel, 0)},
	// A level registration, read empty, handed back, written again: it
	// fires, is lent, fires again once handed back.
	"level-rearm": {eqByte(0, 1), eqByte(eqOpWrite, 0), eqByte(eqOpPoll, 0), eqByte(eqOpPoll, 0), eqByte(eqOpRearm, 0),
		eqByte(eqOpPoll, 0), eqByte(eqOpRead, 0), eqByte(eqOpRearm, 0), eqByte(eqOpPoll, 0), eqByte(eqOpWrite, 0), eqByte(eqOpPoll, 0)},
	// Registrations left armed for Close (an edge one, a level one on an
	// empty pipe, a one-shot and a periodic timer, a signal), then every
	// call on a closed queue.
	"close-armed": {eqByte(0, 2), eqByte(0, 4), eqByte(eqOpAfter, 7), eqByte(eqOpEvery, 4), eqByte(eqOpSignal, 2), eqByte(eqOpClose, 0),
		eqByte(eqOpCancel, 0), eqByte(eqOpRearm, 1), eqByte(eqOpPoll, 0), eqByte(eqOpWake, 0), eqByte(0, 1), eqByte(eqOpClose, 0)},
	// Bad input: bad event sets, bad fds, nil and registered continuations,
	// bad periods, no signal.
	"bad-input": {eqByte(eqOpRegisterBad, 0), eqByte(eqOpRegisterBad, 1), eqByte(eqOpRegisterBad, 3), eqByte(eqOpRegisterBad, 5),
		eqByte(eqOpRegisterNeg, 0), eqByte(eqOpRegisterNil, 1), eqByte(0, 2), eqByte(eqOpRegisterAgain, 1), eqByte(eqOpAfterAgain, 0),
		eqByte(eqOpEvery, 1), eqByte(eqOpEvery, 2), eqByte(eqOpSignal, 0), eqByte(eqOpSignal, 1), eqByte(eqOpCancel, 7), eqByte(eqOpRearm, 7),
		eqByte(eqOpCancel, 6)},
	// Our own fds closed under registrations: the duplicates keep them;
	// a closed number registered; a write end closed (HangUp).
	"close-ends": {eqByte(0, 1), eqByte(eqOpCloseEnd, 0), eqByte(eqOpRegisterShut, 0), eqByte(eqOpWrite, 0), eqByte(eqOpPoll, 0),
		eqByte(eqOpCloseEnd, 1), eqByte(eqOpRearmAll, 0), eqByte(eqOpPoll, 0), eqByte(eqOpRegisterShut, 1), eqByte(eqOpClose, 0)},
	// Timers: one-shots of every delay, a periodic one handed back.
	"timers": {eqByte(eqOpAfter, 0), eqByte(eqOpAfter, 1), eqByte(eqOpAfter, 2), eqByte(eqOpAfter, 6), eqByte(eqOpEvery, 3),
		eqByte(eqOpWait, 0), eqByte(eqOpWait, 0), eqByte(eqOpRearmAll, 0), eqByte(eqOpWait, 0), eqByte(eqOpCancel, 0), eqByte(eqOpWait, 0)},
	// Sockets: edge, level, one-shot NoPeer and exclusive registrations;
	// data both ways, a shutdown (NoPeer), a full buffer (Write not
	// ready), drained, everything handed back.
	"sockets": {eqByte(1, 1), eqByte(1, 3), eqByte(2, 1), eqByte(1, 2), eqByte(1, 0), eqByte(1, 7),
		eqByte(eqOpWrite, 2), eqByte(eqOpPoll, 0), eqByte(eqOpRearmAll, 0), eqByte(eqOpWrite, 3), eqByte(eqOpPoll, 0),
		eqByte(eqOpShutdown, 1), eqByte(eqOpPoll, 0), eqByte(eqOpRearmAll, 0), eqByte(eqOpFill, 3), eqByte(eqOpPoll, 0),
		eqByte(eqOpRead, 2), eqByte(eqOpRearmAll, 0), eqByte(eqOpPoll, 0), eqByte(eqOpRead, 3), eqByte(eqOpRearmAll, 0), eqByte(eqOpPoll, 0)},
	// A full pipe: its write end's registrations wait for room.
	"fill-pipe": {eqByte(eqOpFill, 0), eqByte(0, 6), eqByte(2, 0), eqByte(eqOpPoll, 0), eqByte(eqOpRead, 0), eqByte(eqOpPoll, 0),
		eqByte(eqOpRearmAll, 0), eqByte(eqOpPoll, 0)},
}

func FuzzEventQueue(f *testing.F) {
	f.Add([]byte{})
	for _, in := range eqSeeds {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkEventQ(newEqQueue, data); err != nil {
			t.Fatalf("input %q:\n%v", data, err)
		}
	})
}

// The checks of FuzzEventQueue must be able to fail. Each known-bad queue
// of eventqtest below wraps a real one and gets one rule wrong; the
// self-check requires each to be caught on the seeds.

// newBrokenEq makes eventqtest's known-bad queues with bug.
func newBrokenEq(bug eventqtest.Bug) func() eqQueue {
	return func() eqQueue { return eventqtest.BadQueue(bug).(eqQueue) }
}

func TestEventQueueChecksCatchBrokenQueues(t *testing.T) {
	for _, c := range []struct {
		bug  eventqtest.Bug
		want string // in the failure
	}{
		{eventqtest.OneShotTwice, "cannot fire now"},  // the reference's Fire
		{eventqtest.CancelTrue, "Cancel("},            // Cancel's result
		{eventqtest.CloseLoses, "Close handed back"},  // Close's hand-back
		{eventqtest.DeafRearm, "yet not handed out"},  // a level registration's liveness
		{eventqtest.WrongEvents, "events"},            // a firing's conditions
		{eventqtest.WrongError, "want one of"},        // the documented errors
		{eventqtest.LeaksFd, "an fd leaked"},          // the fd count
		{eventqtest.LostWake, "the wake-up was lost"}, // Wake
	} {
		t.Run(c.bug.String(), func(t *testing.T) {
			t.Cleanup(eventqtest.CloseLeaked)
			for name, in := range eqSeeds {
				err := checkEventQSequential(newBrokenEq(c.bug), decodeEventQ(in))
				if err != nil && strings.Contains(err.Error(), c.want) {
					t.Logf("caught on %s: %.300s", name, err)
					return
				}
			}
			t.Fatalf("the checks passed a queue with bug %s on every seed", c.bug)
		})
	}
}

// The bug: a decoder that makes programs beyond the cap (so that one input
// no longer runs in milliseconds), that is not deterministic (so that a
// failing input does not replay), or that leaves out part of the table.
func TestDecodeEventQ(t *testing.T) {
	data := make([]byte, 400)
	for i := range data {
		data[i] = byte(i*37 + 11)
	}
	steps := decodeEventQ(data)
	if len(steps) != eqMaxSteps {
		t.Fatalf("%d steps from 400 bytes, want the cap %d", len(steps), eqMaxSteps)
	}
	if !slices.Equal(decodeEventQ(data), steps) {
		t.Fatal("one input, two programs")
	}
	seen := map[int]bool{}
	for b := range 256 {
		s := decodeEventQ([]byte{byte(b)})[0]
		if s.op < 0 || s.op >= eqOps || s.p < 0 || s.p > 7 || s.String() == "?" {
			t.Fatalf("byte %#x: step %+v out of the table", b, s)
		}
		seen[s.op] = true
	}
	if len(seen) != eqOps {
		t.Fatalf("%d of %d table entries reachable", len(seen), eqOps)
	}
	if r := decodeEventQRound(nil); len(r.Clients) != 1 || r.Ops() != 1 {
		t.Fatalf("empty input decoded to the round\n%s", r)
	}
	if a, b := decodeEventQRound(data).String(), decodeEventQRound(data).String(); a != b {
		t.Fatalf("one input, two rounds:\n%s\n%s", a, b)
	}
}
