package campaign

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// The event-queue campaign drives an event queue (impl/eventq, or any
// EventQueue) on real fds: two pipes and a socketpair, opened for each
// round. Clients register continuations on them (one-shot, level, edge,
// exclusive; one-shot and periodic timers; now and then a bad event set),
// cancel and rearm registrations, write to the fds (making their peers
// readable), read them empty, poll and wake the queue, all at once. A
// waiting client, the kernel client, runs Wait and Poll over and over and
// records each firing it is handed as a model.EqFire operation, with the
// interval of the Wait that handed it out, and hands some lent
// continuations straight back with Rearm; a client's own Poll records its
// firings likewise. The history is checked against model.EventQ
// (partitioned per registration), and the ids against their real-time
// order, which the partitioned model leaves out.
//
// The round then ends with everything released: once every client has
// returned, the waiter polls until nothing more is ready (first letting
// every timer that is due expire), the queue is closed, and every fd of the
// round is closed. The audit then accounts for every registration: a
// one-shot was handed out exactly once, or cancelled (Cancel true), or
// handed back by Close, exactly one of the three; a repeating registration
// cancelled is not handed back by Close, one known to be lent is not, one
// known to be armed is; one armed at Close while its fd was ready, or its
// timer due, is a lost firing. Every firing must hand out the very
// continuation registered under its id, say Ended exactly for a one-shot,
// and report only the conditions asked for (and Error and HangUp); Close
// hands back continuations in registration order; no call fails where it
// cannot (a good Register on an open fd, Wake, Wait, Close); and the
// process has as many fds open after the round as before it.

// EventQueue is the system under test of the event-queue campaign: the
// calls of *eventq.Queue the campaign makes.
type EventQueue interface {
	Register(c *cont.C, fd int, events spec.Events) (spec.EventID, error)
	After(d time.Duration, c *cont.C) (spec.EventID, error)
	Every(d time.Duration, c *cont.C) (spec.EventID, error)
	Cancel(id spec.EventID) bool
	Rearm(id spec.EventID) error
	Wake() error
	Wait(dst []eventq.Ready, timeout time.Duration) ([]eventq.Ready, error)
	Close() ([]*cont.C, error)
}

var _ EventQueue = (*eventq.Queue)(nil)

// NewEventQueue makes an impl/eventq queue. It panics if the kernel
// refuses (no fds left): the campaign cannot run without one.
func NewEventQueue() EventQueue {
	q, err := eventq.New()
	if err != nil {
		panic(fmt.Sprintf("campaign: an event queue: %v", err))
	}
	return q
}

// EqEnd names an fd of a round: the two ends of two pipes and of a
// socketpair (AF_UNIX, SOCK_STREAM), all non-blocking.
type EqEnd uint8

const (
	EqPipe0R EqEnd = iota // read end of pipe 0
	EqPipe0W              // write end of pipe 0
	EqPipe1R
	EqPipe1W
	EqSockA // one end of the socketpair
	EqSockB // the other
	EqEnds
)

var eqEndNames = [EqEnds]string{"p0r", "p0w", "p1r", "p1w", "sa", "sb"}

func (e EqEnd) String() string {
	if e < EqEnds {
		return eqEndNames[e]
	}
	return "end" + strconv.Itoa(int(e))
}

// EqPeer returns the end that data written to e is read from.
func EqPeer(e EqEnd) EqEnd {
	switch e {
	case EqPipe0W:
		return EqPipe0R
	case EqPipe1W:
		return EqPipe1R
	case EqSockA:
		return EqSockB
	case EqSockB:
		return EqSockA
	}
	return e
}

// EqTarget is what a register step watches: an fd of the round, and the
// events asked for.
type EqTarget struct {
	End    EqEnd
	Events spec.Events
}

func (t EqTarget) String() string { return fmt.Sprintf("%v %v", t.End, t.Events) }

// EqTargets are the registrations clients make: one-shot, level
// (implicit and explicit), edge and exclusive ones, for reading and for
// writing (a pipe's write end and a socket are writable at once, so those
// fire at once, again and again), and three bad event sets.
var EqTargets = []EqTarget{
	{EqPipe0R, spec.EvRead | spec.EvOneShot},
	{EqPipe0R, spec.EvRead},
	{EqPipe0R, spec.EvRead | spec.EvEdge},
	{EqPipe1R, spec.EvRead | spec.EvLevel | spec.EvOneShot},
	{EqPipe1R, spec.EvRead | spec.EvLevel},
	{EqPipe1R, spec.EvRead | spec.EvEdge},
	{EqPipe0W, spec.EvWrite | spec.EvOneShot},
	{EqPipe1W, spec.EvWrite | spec.EvEdge},
	{EqSockA, spec.EvRead | spec.EvNoPeer | spec.EvOneShot},
	{EqSockB, spec.EvRead | spec.EvEdge},
	{EqSockA, spec.EvRead | spec.EvExclusive},
	{EqSockB, spec.EvWrite | spec.EvLevel},
	{EqPipe0R, spec.EvRead | spec.EvEdge | spec.EvLevel},                   // bad: Edge and Level
	{EqPipe1R, spec.EvOneShot},                                             // bad: no condition
	{EqSockA, spec.EvRead | spec.EvExclusive | spec.EvOneShot},             // bad: Exclusive with OneShot
	{EqSockB, spec.EvRead | spec.EvWrite | spec.EvPriority | spec.EvEdge},  // good: Priority never comes
	{EqPipe0W, spec.EvWrite | spec.EvError | spec.EvHangUp | spec.EvLevel}, // good, level
	{EqSockA, spec.EvRead | spec.EvNoPeer},                                 // level; stands in for a second exclusive one
}

// eqExclusive is the index in EqTargets of the exclusive registration,
// and eqExclusiveStandIn that of the registration a round makes instead of
// a second one while eqExclusiveTwice is off.
const (
	eqExclusive        = 10
	eqExclusiveStandIn = 17
)

// eqExclusiveTwice lets a round make more than one exclusive registration
// of the same socket. The campaign found a bug of impl/eventq there while
// a blocked Wait slept in epoll_wait on the queue's epoll fd:
// two exclusive registrations of one file in one queue (each a duplicate
// of the fd, so two entries on the file's wait queue, both exclusive) were
// not both woken: an arrival woke the first only, and the other, armed and
// with its fd ready, never fired (a lost firing). A Wait now parks in Go's
// netpoller and calls epoll_wait only without blocking, so nothing sleeps
// on the epoll fd's own wait queue and the kernel wakes every entry;
// TestEventQueueExclusiveRegistrationsEachFire keeps it so. Turn this off
// to bisect without that part of the language.
const eqExclusiveTwice = true

// EqAfter are the delays of the one-shot timers clients set (After), and
// EqEvery the period of the periodic ones (Every). The campaign waits for
// timers that are due at the end of a round, so they stay short.
var (
	EqAfter = []time.Duration{0, 10 * time.Microsecond, 200 * time.Microsecond, time.Millisecond}
	EqEvery = time.Millisecond
)

// EqKind is what one step of a client does.
type EqKind uint8

const (
	EqRegisterStep EqKind = iota // Register(c, fd, events) of EqTargets[Arg]
	EqAfterStep                  // After(EqAfter[Arg], c)
	EqEveryStep                  // Every(EqEvery, c)
	EqCancelStep                 // Cancel(an id chosen by Arg: see below)
	EqRearmStep                  // Rearm(an id chosen by Arg)
	EqWriteStep                  // write a byte to end Arg
	EqReadStep                   // read end Arg empty
	EqPollStep                   // Poll: hand out what is ready, as the kernel client does (or ErrBusy)
	EqWakeStep                   // Wake
	EqKinds
)

var eqKindNames = [EqKinds]string{"register", "after", "every", "cancel", "rearm", "write", "read", "poll", "wake"}

// eqWeights are the kinds' relative frequencies.
var eqWeights = [EqKinds]int{7, 2, 1, 5, 4, 4, 2, 1, 1}

// eqPicks is the range of a cancel's or rearm's Arg. Arg%8 == 7 names an
// id never issued; otherwise the id is one of the four issued last (for
// a rearm, every other time one of the four handed out last, lent),
// resolved as the step runs: the program fixes which, not the number.
const eqPicks = 16

// The ends a write step writes to and a read step reads from.
var (
	eqWritable = []EqEnd{EqPipe0W, EqPipe1W, EqSockA, EqSockB}
	eqReadable = []EqEnd{EqPipe0R, EqPipe1R, EqSockA, EqSockB}
)

// EqStep is one step of a client's program.
type EqStep struct {
	Kind EqKind
	Arg  int
}

func (s EqStep) String() string {
	switch s.Kind {
	case EqRegisterStep:
		return fmt.Sprintf("register(%v)", EqTargets[s.Arg%len(EqTargets)])
	case EqAfterStep:
		return fmt.Sprintf("after(%v)", EqAfter[s.Arg%len(EqAfter)])
	case EqEveryStep:
		return fmt.Sprintf("every(%v)", EqEvery)
	case EqCancelStep, EqRearmStep:
		return fmt.Sprintf("%s(#%d)", eqKindNames[s.Kind], s.Arg)
	case EqWriteStep, EqReadStep:
		return fmt.Sprintf("%s(%v)", eqKindNames[s.Kind], EqEnd(s.Arg))
	case EqPollStep, EqWakeStep:
		return eqKindNames[s.Kind] + "()"
	}
	return fmt.Sprintf("step(%d, %d)", s.Kind, s.Arg)
}

// EqRound is one round: each client's program.
type EqRound struct {
	Clients [][]EqStep
}

// Ops returns the number of steps of the round.
func (r EqRound) Ops() int {
	n := 0
	for _, p := range r.Clients {
		n += len(p)
	}
	return n
}

// String renders the round, one client per line.
func (r EqRound) String() string {
	var b strings.Builder
	for i, p := range r.Clients {
		fmt.Fprintf(&b, "    client %d:", i)
		for _, s := range p {
			fmt.Fprintf(&b, " %v;", s)
		}
		if i < len(r.Clients)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// GenEqRound draws a round of clients programs of ops steps each, every
// choice from intn (which returns a number in [0, n)): linearize.Gen's
// Intn for seeded and rapid programs, a byte decoder for fuzzing.
func GenEqRound(intn func(n int) int, clients, ops int) EqRound {
	total := 0
	for _, w := range eqWeights {
		total += w
	}
	r := EqRound{Clients: make([][]EqStep, clients)}
	exclusive := false
	for c := range r.Clients {
		steps := make([]EqStep, 0, ops)
		for range ops {
			k, kind := intn(total), EqKind(0)
			for k >= eqWeights[kind] {
				k -= eqWeights[kind]
				kind++
			}
			s := EqStep{Kind: kind}
			switch kind {
			case EqRegisterStep:
				s.Arg = intn(len(EqTargets))
				if s.Arg == eqExclusive {
					if exclusive && !eqExclusiveTwice {
						s.Arg = eqExclusiveStandIn
					}
					exclusive = true
				}
			case EqAfterStep:
				s.Arg = intn(len(EqAfter))
			case EqCancelStep, EqRearmStep:
				s.Arg = intn(eqPicks)
			case EqWriteStep:
				s.Arg = int(eqWritable[intn(len(eqWritable))])
			case EqReadStep:
				s.Arg = int(eqReadable[intn(len(eqReadable))])
			}
			steps = append(steps, s)
		}
		r.Clients[c] = steps
	}
	return r
}

// EqOptions tune one run of a round.
type EqOptions struct {
	// New makes the queue under test; nil means NewEventQueue.
	New func() EventQueue
	// NoAudit leaves out everything but the linearizability check and the
	// ids' order: what the history alone betrays.
	NoAudit bool
	// NoFDCheck leaves out the count of the process's open fds before and
	// after the round, for callers that open or close fds meanwhile
	// (rounds run side by side).
	NoFDCheck bool
	// Deadline bounds the round; a call still running then is a hang
	// (default 10 s).
	Deadline time.Duration
	// Patience bounds how long the end of a round waits for timers that
	// are due to fire (default 250 ms); a correct queue hands them out in
	// microseconds.
	Patience time.Duration
	// CheckTimeout is porcupine's limit (default 10 s).
	CheckTimeout time.Duration
	// ChaosSeed seeds impl/chaos (in -tags chaos builds); KernelSeed the
	// kernel client's choices (which lent continuations it hands back at
	// once, whether it polls or waits).
	ChaosSeed, KernelSeed uint64
}

func (o EqOptions) withDefaults() EqOptions {
	if o.New == nil {
		o.New = NewEventQueue
	}
	if o.Deadline <= 0 {
		o.Deadline = 10 * time.Second
	}
	if o.Patience <= 0 {
		o.Patience = 250 * time.Millisecond
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 10 * time.Second
	}
	return o
}

// EqResult is what one run of a round found.
type EqResult struct {
	linearize.Checked                       // the history's verdict (not checked after a hang or a panic)
	History           []porcupine.Operation // the recorded history
	Problems          []string              // the audit's findings, one per line
	Hung              bool                  // a call did not return by the deadline
	Panic             string                // a call panicked: the value and the stack
	Dump              string                // every goroutine's stack, for a hang
	Ops               int                   // the calls the clients made, and the Close
	Fires             int                   // the firings recorded
}

// Failed reports whether the round failed.
func (r EqResult) Failed() bool {
	return r.Hung || r.Panic != "" || len(r.Problems) > 0 || r.Verdict != spec.Ok
}

// eqKernelRearms caps how many lent continuations the kernel client hands
// back in one round, so that a round's history stays short however long
// the round runs (a level registration on a readable fd fires again at
// every hand-back).
const eqKernelRearms = 200

// eqReg is one registration attempt, as the client that made it saw it.
type eqReg struct {
	c      *cont.C
	step   EqStep
	end    EqEnd // the fd's end, for Register
	timer  bool
	events spec.Events // as the model sees it (timers: Read, and OneShot for After)
	after  time.Duration
	id     spec.EventID
	err    error
	ret    time.Time // when the call returned
}

func (g *eqReg) oneShot() bool { return g.events&spec.EvOneShot != 0 }

// eqFire is one firing handed out, with the client that recorded it.
type eqFire struct {
	rd     eventq.Ready
	client int
}

// eqClient is what one client (or the kernel) gathered; it is its own
// until the round's goroutines have finished.
type eqClient struct {
	regs     []eqReg
	fires    []eqFire
	problems []string
}

func (c *eqClient) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// eqRun is one round being run.
type eqRun struct {
	q       EventQueue
	fds     [EqEnds]int
	rec     *linearize.Recorder
	clients []eqClient // the program's, then the kernel's
	kernel  int        // the kernel client's number

	mu     sync.Mutex
	issued []spec.EventID // ids of successful Registers, in the order they returned
	lent   []spec.EventID // ids of repeating registrations handed out, latest last
}

// pick resolves a cancel's or rearm's Arg to an id (see eqPicks).
func (run *eqRun) pick(arg int, rearm bool) spec.EventID {
	never := spec.EventID(1<<40 + arg)
	if arg%8 == 7 {
		return never
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	ids := run.issued
	if rearm && len(run.lent) > 0 && arg%2 == 0 {
		ids = run.lent
	}
	if len(ids) == 0 {
		return never
	}
	return ids[len(ids)-1-(arg/2)%min(len(ids), 4)]
}

func (run *eqRun) issue(id spec.EventID) {
	run.mu.Lock()
	run.issued = append(run.issued, id)
	run.mu.Unlock()
}

func (run *eqRun) lend(id spec.EventID) {
	run.mu.Lock()
	run.lent = append(run.lent, id)
	run.mu.Unlock()
}

// idleCont is a continuation that never finishes; each registration gets
// one of its own, so that a firing names the registration it came from.
func idleCont() *cont.C {
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step { return c.Next() })
}

// record records the firings of one Wait (called at call) on client cl.
func (run *eqRun) record(cl int, call int64, ready []eventq.Ready) {
	rc, st := run.rec.Client(cl), &run.clients[cl]
	for _, rd := range ready {
		rc.Return(call, model.EventQInput{Op: model.EqFire, ID: rd.ID}, model.EventQOutput{})
		rd.Signals = slices.Clone(rd.Signals)
		st.fires = append(st.fires, eqFire{rd: rd, client: cl})
	}
}

// step runs one step of client cl.
func (run *eqRun) step(cl int, s EqStep, buf *[]eventq.Ready) {
	rc, st := run.rec.Client(cl), &run.clients[cl]
	register := func(g eqReg, fd int, f func() (spec.EventID, error)) {
		in := model.EventQInput{Op: model.EqRegister, FD: fd, Events: g.events}
		call := rc.Call()
		g.id, g.err = f()
		g.ret = time.Now()
		rc.Return(call, in, model.EventQOutput{ID: g.id, Err: g.err})
		st.regs = append(st.regs, g)
		if g.err == nil {
			run.issue(g.id)
		}
	}
	switch s.Kind {
	case EqRegisterStep:
		t := EqTargets[s.Arg%len(EqTargets)]
		g := eqReg{c: idleCont(), step: s, end: t.End, events: t.Events}
		fd := run.fds[t.End]
		register(g, fd, func() (spec.EventID, error) { return run.q.Register(g.c, fd, t.Events) })
	case EqAfterStep:
		d := EqAfter[s.Arg%len(EqAfter)]
		g := eqReg{c: idleCont(), step: s, timer: true, events: spec.EvRead | spec.EvOneShot, after: d}
		register(g, -1, func() (spec.EventID, error) { return run.q.After(d, g.c) })
	case EqEveryStep:
		g := eqReg{c: idleCont(), step: s, timer: true, events: spec.EvRead}
		register(g, -1, func() (spec.EventID, error) { return run.q.Every(EqEvery, g.c) })
	case EqCancelStep:
		id := run.pick(s.Arg, false)
		rc.Do(model.EventQInput{Op: model.EqCancel, ID: id}, func() any {
			return model.EventQOutput{Bool: run.q.Cancel(id)}
		})
	case EqRearmStep:
		id := run.pick(s.Arg, true)
		rc.Do(model.EventQInput{Op: model.EqRearm, ID: id}, func() any {
			return model.EventQOutput{Err: run.q.Rearm(id)}
		})
	case EqWriteStep:
		if _, err := unix.Write(run.fds[EqEnd(s.Arg)], []byte{'x'}); err != nil && err != unix.EAGAIN {
			st.problem("client %d: write to %v: %v", cl, EqEnd(s.Arg), err)
		}
	case EqReadStep:
		if err := drainFD(run.fds[EqEnd(s.Arg)]); err != nil {
			st.problem("client %d: read from %v: %v", cl, EqEnd(s.Arg), err)
		}
	case EqPollStep:
		call := rc.Call()
		ready, err := run.q.Wait((*buf)[:0], 0)
		*buf = ready
		run.record(cl, call, ready)
		for _, rd := range ready {
			if !rd.Ended {
				run.lend(rd.ID)
			}
		}
		if err != nil && !errors.Is(err, spec.ErrBusy) {
			st.problem("client %d: poll: %v, want nil or ErrBusy", cl, err)
		}
	case EqWakeStep:
		if err := run.q.Wake(); err != nil {
			st.problem("client %d: wake: %v", cl, err)
		}
	}
}

// drainFD reads fd until it would block (or reads end of file).
func drainFD(fd int) error {
	var buf [256]byte
	for {
		n, err := unix.Read(fd, buf[:])
		switch {
		case err == unix.EINTR:
		case err == unix.EAGAIN || err == nil && n == 0:
			return nil
		case err != nil:
			return err
		}
	}
}

// kernelLoop is the kernel client: it waits (or polls) over and over,
// recording every firing, and hands back some of the lent continuations
// at once, until done is set; then it waits once more.
func (run *eqRun) kernelLoop(done *atomic.Bool, rng *rand.Rand) {
	k := run.kernel
	rc, st := run.rec.Client(k), &run.clients[k]
	var buf []eventq.Ready
	rearms := 0
	for {
		last := done.Load()
		timeout := time.Millisecond
		if rng.IntN(4) == 0 {
			timeout = 0
		}
		call := rc.Call()
		ready, err := run.q.Wait(buf[:0], timeout)
		buf = ready
		run.record(k, call, ready)
		if err != nil && !errors.Is(err, spec.ErrBusy) { // ErrBusy: a client polls
			st.problem("kernel: wait: %v, want nil or ErrBusy", err)
			return
		}
		for _, rd := range ready {
			switch {
			case rd.Ended:
			case rearms < eqKernelRearms && rng.IntN(3) != 0:
				rearms++
				rc.Do(model.EventQInput{Op: model.EqRearm, ID: rd.ID}, func() any {
					return model.EventQOutput{Err: run.q.Rearm(rd.ID)}
				})
			default:
				run.lend(rd.ID)
			}
		}
		if last {
			return
		}
	}
}

// RunEqRound runs r once on a fresh queue and fresh fds, and checks it
// (see the campaign's comment above).
func RunEqRound(r EqRound, o EqOptions) (res EqResult) {
	o = o.withDefaults()
	chaos.SetSeed(o.ChaosSeed)
	fdsBefore := -1
	if !o.NoFDCheck {
		fdWarmUp.Do(func() {
			// Whatever the Go runtime opens for itself once (its poller),
			// it opens before the first count.
			countFDs()
			time.NewTimer(time.Hour).Stop()
			time.Sleep(time.Microsecond)
		})
		fdsBefore = countFDs()
	}
	run := &eqRun{kernel: len(r.Clients), clients: make([]eqClient, len(r.Clients)+1)}
	if err := run.open(); err != nil {
		return EqResult{Problems: []string{"opening the round's fds: " + err.Error()}}
	}
	run.q = o.New()
	most := 0
	for _, p := range r.Clients {
		most = max(most, len(p))
	}
	run.rec = linearize.NewRecorder(len(r.Clients)+1, most)
	res.Ops = r.Ops() + 1

	var (
		panicked atomic.Pointer[string]
		done     atomic.Bool
		clients  sync.WaitGroup
		kernel   sync.WaitGroup
		start    = make(chan struct{})
	)
	guard := func(who string) {
		if v := recover(); v != nil {
			msg := fmt.Sprintf("%s: %v\n%s", who, v, stacks())
			panicked.CompareAndSwap(nil, &msg)
		}
	}
	for cl, steps := range r.Clients {
		clients.Go(func() {
			defer guard(fmt.Sprintf("client %d", cl))
			var buf []eventq.Ready
			<-start
			for _, s := range steps {
				run.step(cl, s, &buf)
			}
		})
	}
	kernel.Go(func() {
		defer guard("kernel")
		<-start
		run.kernelLoop(&done, rand.New(rand.NewPCG(o.KernelSeed, 0x6b65726e656c)))
	})
	close(start)
	finished := make(chan struct{})
	go func() {
		clients.Wait()
		done.Store(true)
		kernel.Wait()
		close(finished)
	}()
	timer := time.NewTimer(o.Deadline)
	defer timer.Stop()
	select {
	case <-finished:
	case <-timer.C:
		// A hang: report it; closing the queue breaks a Wait, and the fds
		// stay open for the calls that may still use them.
		res.Hung, res.Dump = true, stacks()
		if p := panicked.Load(); p != nil {
			res.Panic = *p
		}
		run.q.Close()
		return res
	}
	if p := panicked.Load(); p != nil {
		res.Panic = *p
		run.q.Close()
		run.close()
		return res
	}

	ix := run.index()
	run.settle(ix, o.Patience)
	ready := run.readiness()
	held, closeErr := run.q.Close()
	run.close()
	if closeErr != nil {
		run.clients[run.kernel].problem("close: %v", closeErr)
	}

	res.History = run.rec.History()
	res.Checked = linearize.Check(model.EventQ(), res.History, o.CheckTimeout)
	ix = run.index()
	res.Fires = len(ix.fires)
	res.Problems = append(res.Problems, ix.idOrder()...)
	if !o.NoAudit {
		for i := range run.clients {
			res.Problems = append(res.Problems, run.clients[i].problems...)
		}
		res.Problems = append(res.Problems, ix.audit(held, ready)...)
	}
	if fdsBefore >= 0 {
		if p := fdsBack(fdsBefore); p != "" {
			res.Problems = append(res.Problems, p)
		}
	}
	return res
}

// open opens the round's pipes and socketpair.
func (run *eqRun) open() error {
	for i := range run.fds {
		run.fds[i] = -1
	}
	var p [2]int
	for _, ends := range [][2]EqEnd{{EqPipe0R, EqPipe0W}, {EqPipe1R, EqPipe1W}} {
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			run.close()
			return err
		}
		run.fds[ends[0]], run.fds[ends[1]] = p[0], p[1]
	}
	s, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		run.close()
		return err
	}
	run.fds[EqSockA], run.fds[EqSockB] = s[0], s[1]
	return nil
}

// close closes the round's own fds.
func (run *eqRun) close() {
	for i, fd := range run.fds {
		if fd >= 0 {
			unix.Close(fd)
			run.fds[i] = -1
		}
	}
}

// EqPollBits are the poll(2) flags of the conditions of an event set: how
// the campaign (and FuzzEventQueue) asks the kernel whether a registration
// ought to fire.
func EqPollBits(e spec.Events) int16 {
	var b int16 = unix.POLLERR | unix.POLLHUP
	if e&spec.EvRead != 0 {
		b |= unix.POLLIN
	}
	if e&spec.EvWrite != 0 {
		b |= unix.POLLOUT
	}
	if e&spec.EvNoPeer != 0 {
		b |= unix.POLLRDHUP
	}
	if e&spec.EvPriority != 0 {
		b |= unix.POLLPRI
	}
	return b
}

// readiness returns what poll(2) says each end of the round is ready for
// now.
func (run *eqRun) readiness() [EqEnds]int16 {
	var out [EqEnds]int16
	pfds := make([]unix.PollFd, EqEnds)
	for i, fd := range run.fds {
		pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN | unix.POLLOUT | unix.POLLRDHUP | unix.POLLPRI}
	}
	for {
		if _, err := unix.Poll(pfds, 0); err != unix.EINTR {
			break
		}
	}
	for i := range pfds {
		out[i] = pfds[i].Revents
	}
	return out
}

// eqLife is one successful registration, with every operation on its id.
type eqLife struct {
	reg      *eqReg
	fires    []porcupine.Operation
	cancels  []porcupine.Operation // Cancel that reported true
	rearms   []porcupine.Operation // Rearm that succeeded
	heldBack int                   // times Close handed its continuation back
}

// ended reports whether the registration is known to have ended: a
// one-shot that fired, or one cancelled.
func (l *eqLife) ended() bool {
	return len(l.cancels) > 0 || l.reg.oneShot() && len(l.fires) > 0
}

// armed returns whether a registration that has not ended is armed now,
// and whether that is known. The recorded intervals of firings may
// overlap (a Wait's interval is wider than the Wait), so: it is known
// armed if it never fired or a Rearm began after every firing returned,
// known lent if a firing began after every Rearm returned, and unknown
// otherwise.
func (l *eqLife) armed() (armed, known bool) {
	rearmedLast := len(l.fires) == 0
	for _, r := range l.rearms {
		after := true
		for _, f := range l.fires {
			after = after && r.Call > f.Return
		}
		rearmedLast = rearmedLast || after
	}
	if rearmedLast {
		return true, true
	}
	for _, f := range l.fires {
		after := true
		for _, r := range l.rearms {
			after = after && f.Call > r.Return
		}
		if after {
			return false, true
		}
	}
	return false, false
}

// eqIndex joins a round's registrations, firings and history.
type eqIndex struct {
	run     *eqRun
	regs    []*eqReg // every attempt
	byID    map[spec.EventID]*eqLife
	byCont  map[*cont.C]*eqLife
	ids     []spec.EventID // successful ones, in id order
	fires   []eqFire
	history []porcupine.Operation
}

// index builds the index of what the round did so far. Call it only while
// no client and no kernel runs.
func (run *eqRun) index() *eqIndex {
	ix := &eqIndex{run: run, byID: map[spec.EventID]*eqLife{}, byCont: map[*cont.C]*eqLife{}, history: run.rec.History()}
	for i := range run.clients {
		for j := range run.clients[i].regs {
			g := &run.clients[i].regs[j]
			ix.regs = append(ix.regs, g)
			if g.err == nil {
				l := &eqLife{reg: g}
				ix.byID[g.id] = l
				ix.byCont[g.c] = l
				ix.ids = append(ix.ids, g.id)
			}
		}
		ix.fires = append(ix.fires, run.clients[i].fires...)
	}
	slices.Sort(ix.ids)
	for _, op := range ix.history {
		in, out := op.Input.(model.EventQInput), op.Output.(model.EventQOutput)
		l := ix.byID[in.ID]
		if l == nil {
			continue
		}
		switch {
		case in.Op == model.EqFire:
			l.fires = append(l.fires, op)
		case in.Op == model.EqCancel && out.Bool:
			l.cancels = append(l.cancels, op)
		case in.Op == model.EqRearm && out.Err == nil:
			l.rearms = append(l.rearms, op)
		}
	}
	return ix
}

// dueTimers returns the timers that have not ended and, as far as is
// known, are armed, and the time by which each is due to fire.
func (ix *eqIndex) dueTimers() (ids []spec.EventID, by time.Time) {
	for _, id := range ix.ids {
		l := ix.byID[id]
		if !l.reg.timer || l.ended() {
			continue
		}
		armed, known := l.armed()
		if !armed || !known {
			continue
		}
		due := time.Now().Add(EqEvery) // periodic: the next expiry, at the latest
		if l.reg.oneShot() {
			due = l.reg.ret.Add(l.reg.after)
		}
		if due.After(by) {
			by = due
		}
		ids = append(ids, id)
	}
	return ids, by
}

// settle ends a round's activity: it lets the timers that are due expire,
// then has the kernel client poll until nothing more is ready and every
// timer that was due has fired (or patience runs out), handing nothing
// back.
func (run *eqRun) settle(ix *eqIndex, patience time.Duration) {
	timers, by := ix.dueTimers()
	if len(timers) > 0 {
		time.Sleep(time.Until(by))
	}
	waiting := map[spec.EventID]bool{}
	for _, id := range timers {
		waiting[id] = true
	}
	k := run.kernel
	rc, st := run.rec.Client(k), &run.clients[k]
	var buf []eventq.Ready
	giveUp := time.Now().Add(patience)
	for range 64 {
		timeout := time.Duration(0)
		if len(waiting) > 0 {
			timeout = time.Millisecond
		}
		call := rc.Call()
		ready, err := run.q.Wait(buf[:0], timeout)
		buf = ready
		run.record(k, call, ready)
		if err != nil {
			st.problem("kernel: final wait: %v", err)
			return
		}
		for _, rd := range ready {
			delete(waiting, rd.ID)
		}
		if len(ready) == 0 && (len(waiting) == 0 || time.Now().After(giveUp)) {
			return
		}
	}
}

// idOrder returns a problem for every two successful Registers whose ids
// are out of real-time order: the one that returned first must have the
// smaller id. The partitioned model checks each id alone, so this is
// checked here.
func (ix *eqIndex) idOrder() []string {
	var regs []porcupine.Operation
	for _, op := range ix.history {
		if in, out := op.Input.(model.EventQInput), op.Output.(model.EventQOutput); in.Op == model.EqRegister && out.Err == nil {
			regs = append(regs, op)
		}
	}
	var problems []string
	for _, a := range regs {
		for _, b := range regs {
			ida, idb := a.Output.(model.EventQOutput).ID, b.Output.(model.EventQOutput).ID
			if a.Return < b.Call && ida >= idb {
				problems = append(problems, fmt.Sprintf("id %d issued by a Register that began after the one that returned id %d had returned", idb, ida))
			}
		}
	}
	return problems
}

// audit accounts for every registration, given what Close handed back
// and what each end was ready for just before it (see the campaign's
// comment).
func (ix *eqIndex) audit(held []*cont.C, ready [EqEnds]int16) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, g := range ix.regs {
		switch {
		case g.err == nil:
		case g.events.Check() != nil:
			// The model checks that it is ErrBadEvents.
		default:
			add("%v failed: %v (every fd of the round is open, every timer fine)", g.step, g.err)
		}
	}
	for _, f := range ix.fires {
		rd := f.rd
		l := ix.byID[rd.ID]
		if l == nil {
			add("client %d was handed id %d, which no Register returned", f.client, rd.ID)
			continue
		}
		g := l.reg
		if rd.C != g.c {
			add("firing of id %d (%v) handed out another continuation than the one registered", rd.ID, g.step)
		}
		if rd.Ended != g.oneShot() {
			add("firing of id %d (%v) says Ended %v", rd.ID, g.step, rd.Ended)
		}
		if g.timer {
			if rd.Events != spec.EvRead || rd.Count == 0 {
				add("timer firing of id %d (%v): events %v, count %d; want Read and at least 1", rd.ID, g.step, rd.Events, rd.Count)
			}
			continue
		}
		allowed := g.events&spec.EvConditions | spec.EvError | spec.EvHangUp
		if rd.Events == 0 || rd.Events&^allowed != 0 || rd.Count != 0 || rd.Signals != nil {
			add("fd firing of id %d (%v): events %v, count %d, signals %v; want conditions among %v, count 0", rd.ID, g.step, rd.Events, rd.Count, rd.Signals, allowed)
		}
	}
	var lastID spec.EventID
	for i, c := range held {
		l := ix.byCont[c]
		if l == nil {
			add("Close handed back a continuation (#%d) that no successful Register registered", i)
			continue
		}
		if l.reg.id <= lastID {
			add("Close handed back id %d after id %d: not in registration order", l.reg.id, lastID)
		}
		lastID = l.reg.id
		l.heldBack++
	}
	for _, id := range ix.ids {
		l := ix.byID[id]
		g := l.reg
		what := fmt.Sprintf("id %d (%v): fired %d, cancelled %d, handed back by Close %d", id, g.step, len(l.fires), len(l.cancels), l.heldBack)
		if l.heldBack > 1 {
			add("%s: handed back more than once", what)
		}
		if g.oneShot() {
			if len(l.fires)+len(l.cancels)+l.heldBack != 1 {
				add("%s: a one-shot must be exactly one of the three", what)
			}
		} else if len(l.cancels) > 0 {
			if l.heldBack > 0 {
				add("%s: cancelled, yet handed back", what)
			}
		} else if armed, known := l.armed(); known && armed != (l.heldBack > 0) {
			add("%s: armed %v at Close, so it must be handed back exactly when armed", what, armed)
		}
		// A lost firing: armed at Close, handed back, while what it waits
		// for held (a timer due: the end of the round waited for it).
		if l.heldBack == 0 || g.events&spec.EvEdge != 0 {
			continue
		}
		if g.timer {
			if armed, known := l.armed(); known && armed {
				add("%s: a timer armed and due at the end, never handed out (a lost firing)", what)
			}
			continue
		}
		if ready[g.end]&EqPollBits(g.events) != 0 {
			add("%s: armed at Close while %v was ready (revents %#x), yet the final Poll did not hand it out (a lost firing)", what, g.end, ready[g.end])
		}
	}
	return problems
}

var fdWarmUp sync.Once

// countFDs returns the number of fds the process has open, or -1.
func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// fdsBack compares the open fds with before, and describes a difference
// that persists for a moment (so that an fd the runtime opens for itself,
// once, is told apart from one a round left open only by persisting).
func fdsBack(before int) string {
	if before < 0 {
		return ""
	}
	var now int
	for range 20 {
		if now = countFDs(); now == before {
			return ""
		}
		time.Sleep(time.Millisecond)
	}
	var open []string
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		open = append(open, e.Name()+"→"+target)
	}
	return fmt.Sprintf("%d fds open before the round, %d after it ended: %s", before, now, strings.Join(open, " "))
}

// EqCheck is the event-queue campaign's configuration: rounds of
// GenEqRound programs, run by RunEqRound.
type EqCheck struct {
	Name      string            // in failures and report files (default "eventq")
	New       func() EventQueue // nil: NewEventQueue
	Clients   int               // clients per round (default 3)
	Ops       int               // steps per client (default 8)
	Rounds    int               // rounds (default 100); negative: until the context ends
	Seed      uint64            // 0: INSIDEOUT_SEED, else random
	NoAudit   bool              // see EqOptions
	NoFDCheck bool              // see EqOptions
	ReportDir string            // default linearize.DefaultReportDir()
	Deadline  time.Duration     // see EqOptions
}

// Run runs the rounds until they are done, ctx ends or one fails; it
// returns the seed, the summary (a round is a history; the audit's
// problems count as Illegal, a hang as a hang, a panic as a panic) and an
// *linearize.Failure for a failed round. INSIDEOUT_ROUND makes every round replay
// that one.
func (c EqCheck) Run(ctx context.Context, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
	name, clients, ops, dir := c.name(), c.Clients, c.Ops, c.ReportDir
	if clients <= 0 {
		clients = 3
	}
	if ops <= 0 {
		ops = 8
	}
	if dir == "" {
		dir = linearize.DefaultReportDir()
	}
	return linearize.RunRounds(ctx, c.Seed, c.Rounds, 0, progress, func(seed uint64, round int) linearize.RoundOutcome {
		er := GenEqRound(linearize.NewGen(seed, uint64(round)).Intn, clients, ops)
		mix := linearize.ChaosSeed(seed, round)
		res := RunEqRound(er, EqOptions{New: c.New, NoAudit: c.NoAudit, NoFDCheck: c.NoFDCheck, Deadline: c.Deadline,
			ChaosSeed: mix, KernelSeed: mix ^ 0x5bd1e995})
		out := linearize.RoundOutcome{Ops: res.Ops, Hung: res.Hung, Panicked: res.Panic != ""}
		switch {
		case res.Verdict == spec.Illegal, res.Verdict == spec.Ok && len(res.Problems) > 0:
			out.Illegal = 1
		case res.Verdict == spec.Unknown:
			out.Unknown = 1
		}
		if res.Failed() {
			out.Fail = func() error {
				f := &linearize.Failure{Scenario: name, Seed: seed, Round: round, Verdict: res.Verdict,
					Hung: res.Hung, Panic: res.Panic, Problems: res.Problems, Dump: res.Dump, Program: er.String()}
				if res.Verdict == spec.Illegal && !res.Hung && res.Panic == "" {
					f.Report = filepath.Join(dir, fmt.Sprintf("%s-seed-%#x-round-%d.html", name, seed, round))
					if err := res.Checked.WriteReport(f.Report); err != nil {
						f.Report = "(could not write the visualization: " + err.Error() + ")"
					}
				}
				return f
			}
		}
		return out
	})
}

// Test runs the rounds as part of a test, logging the seed before the
// first round and the summary after the last, and fails t with the
// failure's message.
func (c EqCheck) Test(t linearize.TB) {
	t.Helper()
	seed, err := linearize.ResolveSeed(c.Seed)
	if err != nil {
		t.Fatal(err)
	}
	c.Seed = seed
	t.Logf("%s: seed %#x (replay: INSIDEOUT_SEED=%#x go test -run '^%s$')", c.name(), seed, seed, t.Name())
	_, sum, err := c.Run(context.Background(), nil)
	t.Logf("%s: %d rounds, %d ops, %d histories checked in %v", c.name(), sum.Rounds, sum.Ops, sum.Histories, sum.Elapsed.Round(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
}

// name returns the campaign's name, Name or its default.
func (c EqCheck) name() string {
	if c.Name == "" {
		return "eventq"
	}
	return c.Name
}

// stacks returns every goroutine's stack, up to 1 MiB.
func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
