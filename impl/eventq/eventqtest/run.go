package eventqtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Options tune one run of a round.
type Options struct {
	// New makes the queue under test; nil means NewQueue.
	New func() Queue
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

func (o Options) withDefaults() Options {
	if o.New == nil {
		o.New = NewQueue
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

// Result is what one run of a round found.
type Result struct {
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
func (r Result) Failed() bool {
	return r.Hung || r.Panic != "" || len(r.Problems) > 0 || r.Verdict != linearize.Ok
}

// eqKernelRearms caps how many lent continuations the kernel client hands
// back in one round, so that a round's history stays short however long
// the round runs (a level registration on a readable fd fires again at
// every hand-back).
const eqKernelRearms = 200

// eqReg is one registration attempt, as the client that made it saw it.
type eqReg struct {
	c      *cont.C
	step   Step
	end    End // the fd's end, for Register
	timer  bool
	sigs   string      // a signal registration's signals (SigNums)
	events spec.Events // as the model sees it (timers and signals: Read, and OneShot for After)
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
	q       Queue
	fds     [Ends]int
	rec     *linearize.Recorder
	clients []eqClient // the program's, then the kernel's
	kernel  int        // the kernel client's number
	// controlled: the round runs under the controlled scheduler
	// (RunRoundScheduled).
	controlled bool
	hold       *SignalHold // a round with signal steps: its signals

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
		rc.Return(call, model.EventQInput{Op: model.EqFire, ID: rd.ID, Signals: SigNums(rd.Signals...)}, model.EventQOutput{})
		rd.Signals = slices.Clone(rd.Signals)
		st.fires = append(st.fires, eqFire{rd: rd, client: cl})
	}
}

// step runs one step of client cl.
func (run *eqRun) step(cl int, s Step, buf *[]eventq.Ready) {
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
	case RegisterStep:
		t := Targets[s.Arg%len(Targets)]
		g := eqReg{c: idleCont(), step: s, end: t.End, events: t.Events}
		fd := run.fds[t.End]
		register(g, fd, func() (spec.EventID, error) { return run.q.Register(fd, t.Events, g.c) })
	case AfterStep:
		d := AfterDelays[s.Arg%len(AfterDelays)]
		g := eqReg{c: idleCont(), step: s, timer: true, events: spec.EvRead | spec.EvOneShot, after: d}
		register(g, -1, func() (spec.EventID, error) { return run.q.After(d, g.c) })
	case EveryStep:
		g := eqReg{c: idleCont(), step: s, timer: true, events: spec.EvRead}
		register(g, -1, func() (spec.EventID, error) { return run.q.Every(EveryPeriod, g.c) })
	case CancelStep:
		id := run.pick(s.Arg, false)
		rc.Do(model.EventQInput{Op: model.EqCancel, ID: id}, func() any {
			return model.EventQOutput{Bool: run.q.Cancel(id)}
		})
	case RearmStep:
		id := run.pick(s.Arg, true)
		rc.Do(model.EventQInput{Op: model.EqRearm, ID: id}, func() any {
			return model.EventQOutput{Err: run.q.Rearm(id)}
		})
	case WriteStep:
		if _, err := unix.Write(run.fds[End(s.Arg)], []byte{'x'}); err != nil && err != unix.EAGAIN {
			st.problem("client %d: write to %v: %v", cl, End(s.Arg), err)
		}
	case ReadStep:
		if err := drainFD(run.fds[End(s.Arg)]); err != nil {
			st.problem("client %d: read from %v: %v", cl, End(s.Arg), err)
		}
	case PollStep:
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
	case WakeStep:
		if err := run.q.Wake(); err != nil {
			st.problem("client %d: wake: %v", cl, err)
		}
	case SignalStep, KillStep:
		if !run.controlled { // signals are free: a controlled round skips them
			run.signal(cl, s)
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
// at once, until done is set; then it waits once more. Its Waits have a
// timeout of a millisecond, but under the controlled scheduler, where
// they have none until done is set.
func (run *eqRun) kernelLoop(done *seam.Bool, rng *rand.Rand) {
	k := run.kernel
	rc, st := run.rec.Client(k), &run.clients[k]
	var buf []eventq.Ready
	rearms := 0
	for {
		last := done.Load()
		timeout := time.Millisecond
		if run.controlled && !last {
			// No limit: only a firing or a Wake ends the Wait, and the
			// driver's Wake once every client has returned (drive) ends
			// the last; a lost wake-up is then a deadlock.
			timeout = -1
		}
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

// RunRound runs r once on a fresh queue and fresh fds, and checks it
// (see the campaign's comment above).
func RunRound(r Round, o Options) (res Result) {
	o = o.withDefaults()
	chaos.SetSeed(o.ChaosSeed)
	var hold *SignalHold
	if r.HasSignals() {
		hold = HoldSignals()
		defer hold.Release()
	}
	fdsBefore := fdsNow(o)
	run, res, ok := prepare(r, o)
	if !ok {
		return res
	}
	run.q, run.hold = o.New(), hold

	var (
		panicked atomic.Pointer[string]
		done     seam.Bool
		clients  sync.WaitGroup
		kernel   sync.WaitGroup
		start    = make(chan struct{})
	)
	guard := guarding(&panicked)
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

	run.settle(run.index(), o.Patience, false)
	ready := run.readiness()
	held, closeErr := run.q.Close()
	run.close()
	return run.finish(res, o, held, ready, closeErr, fdsBefore)
}

// guarding returns the deferred guard of a round's goroutine named who:
// it records the first panic, with every goroutine's stack, in panicked.
func guarding(panicked *atomic.Pointer[string]) func(who string) {
	return func(who string) {
		if v := recover(); v != nil {
			msg := fmt.Sprintf("%s: %v\n%s", who, v, stacks())
			panicked.CompareAndSwap(nil, &msg)
		}
	}
}

// fdsNow counts the process's open fds before a round, or returns -1
// under NoFDCheck.
func fdsNow(o Options) int {
	if o.NoFDCheck {
		return -1
	}
	fdWarmUp.Do(func() {
		// Whatever the Go runtime opens for itself once (its poller),
		// it opens before the first count.
		countFDs()
		time.NewTimer(time.Hour).Stop()
		time.Sleep(time.Microsecond)
	})
	return countFDs()
}

// prepare opens a round's fds and makes its recorder; the queue is the
// caller's to make. It returns the round's result so far, and false if
// the fds could not be opened.
func prepare(r Round, o Options) (*eqRun, Result, bool) {
	run := &eqRun{kernel: len(r.Clients), clients: make([]eqClient, len(r.Clients)+1)}
	if err := run.open(); err != nil {
		return nil, Result{Problems: []string{"opening the round's fds: " + err.Error()}}, false
	}
	most := 0
	for _, p := range r.Clients {
		most = max(most, len(p))
	}
	run.rec = linearize.NewRecorder(len(r.Clients)+1, most)
	return run, Result{Ops: r.Ops() + 1}, true
}

// finish checks a round that ran to its end: its history, the ids'
// order, and (unless NoAudit) the audit and the fds.
func (run *eqRun) finish(res Result, o Options, held []*cont.C, ready [Ends]int16, closeErr error, fdsBefore int) Result {
	if closeErr != nil {
		run.clients[run.kernel].problem("close: %v", closeErr)
	}
	res.History = run.rec.History()
	res.Checked = linearize.Check(model.EventQ(), res.History, o.CheckTimeout)
	ix := run.index()
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
	for _, ends := range [][2]End{{Pipe0R, Pipe0W}, {Pipe1R, Pipe1W}} {
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
	run.fds[SockA], run.fds[SockB] = s[0], s[1]
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
