// Package eventqtest checks event queues, such as impl/eventq's: Check
// drives an event queue (any Queue) on real fds: two pipes and a socketpair, opened for each
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
//
// Free rounds also deliver real signals (signal.go): about half of them
// get signal steps (AddSignals), registrations for SIGUSR1, SIGUSR2 or
// both and kills of the process itself, recorded as deliveries; the model
// checks what each firing hands out against them, and the end of the
// round that every delivery to a live registration was handed out. A
// round with signal steps holds both signals for the process
// (HoldSignals) while it runs. Controlled rounds have none: signals are
// free under the controlled scheduler (os/signal hands them on outside
// the run), so such a round would not replay.
//
// With Check.Schedule set (a build with -tags sched), every round runs
// under impl/seam's controlled scheduler (RunRoundScheduled): the queue
// is made inside the run, so its Waits park through the seam and the
// kernel's firings are steps of its kernel goroutine (impl/eventq's
// kernel_sched.go), the clients and the kernel client are goroutines of
// the run, timers keep virtual time, and a failure carries a token that
// replays its schedule exactly (Check.Replay, insideout replay).
//
// `insideout verify` runs Check as the event-queue campaign.
package eventqtest

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/spec"
)

// Queue is the system under test of the event-queue campaign: the
// calls of *eventq.Queue the campaign makes.
type Queue interface {
	Register(fd int, events spec.Events, c *cont.C) (spec.EventID, error)
	After(d time.Duration, c *cont.C) (spec.EventID, error)
	Every(d time.Duration, c *cont.C) (spec.EventID, error)
	Signal(c *cont.C, sigs ...os.Signal) (spec.EventID, error)
	Cancel(id spec.EventID) bool
	Rearm(id spec.EventID) error
	Wake() error
	Wait(dst []eventq.Ready, timeout time.Duration) ([]eventq.Ready, error)
	Close() ([]*cont.C, error)
}

var _ Queue = (*eventq.Queue)(nil)

// NewQueue makes an impl/eventq queue. It panics if the kernel
// refuses (no fds left): the campaign cannot run without one.
func NewQueue() Queue {
	q, err := eventq.New()
	if err != nil {
		panic(fmt.Sprintf("campaign: an event queue: %v", err))
	}
	return q
}

// End names an fd of a round: the two ends of two pipes and of a
// socketpair (AF_UNIX, SOCK_STREAM), all non-blocking.
type End uint8

const (
	Pipe0R End = iota // read end of pipe 0
	Pipe0W            // write end of pipe 0
	Pipe1R
	Pipe1W
	SockA // one end of the socketpair
	SockB // the other
	Ends
)

var eqEndNames = [Ends]string{"p0r", "p0w", "p1r", "p1w", "sa", "sb"}

func (e End) String() string {
	if e < Ends {
		return eqEndNames[e]
	}
	return "end" + strconv.Itoa(int(e))
}

// Peer returns the end that data written to e is read from.
func Peer(e End) End {
	switch e {
	case Pipe0W:
		return Pipe0R
	case Pipe1W:
		return Pipe1R
	case SockA:
		return SockB
	case SockB:
		return SockA
	}
	return e
}

// Target is what a register step watches: an fd of the round, and the
// events asked for.
type Target struct {
	End    End
	Events spec.Events
}

func (t Target) String() string { return fmt.Sprintf("%v %v", t.End, t.Events) }

// Targets are the registrations clients make: one-shot, level
// (implicit and explicit), edge and exclusive ones, for reading and for
// writing (a pipe's write end and a socket are writable at once, so those
// fire at once, again and again), and three bad event sets.
var Targets = []Target{
	{Pipe0R, spec.EvRead | spec.EvOneShot},
	{Pipe0R, spec.EvRead},
	{Pipe0R, spec.EvRead | spec.EvEdge},
	{Pipe1R, spec.EvRead | spec.EvLevel | spec.EvOneShot},
	{Pipe1R, spec.EvRead | spec.EvLevel},
	{Pipe1R, spec.EvRead | spec.EvEdge},
	{Pipe0W, spec.EvWrite | spec.EvOneShot},
	{Pipe1W, spec.EvWrite | spec.EvEdge},
	{SockA, spec.EvRead | spec.EvNoPeer | spec.EvOneShot},
	{SockB, spec.EvRead | spec.EvEdge},
	{SockA, spec.EvRead | spec.EvExclusive},
	{SockB, spec.EvWrite | spec.EvLevel},
	{Pipe0R, spec.EvRead | spec.EvEdge | spec.EvLevel},                   // bad: Edge and Level
	{Pipe1R, spec.EvOneShot},                                             // bad: no condition
	{SockA, spec.EvRead | spec.EvExclusive | spec.EvOneShot},             // bad: Exclusive with OneShot
	{SockB, spec.EvRead | spec.EvWrite | spec.EvPriority | spec.EvEdge},  // good: Priority never comes
	{Pipe0W, spec.EvWrite | spec.EvError | spec.EvHangUp | spec.EvLevel}, // good, level
	{SockA, spec.EvRead | spec.EvNoPeer},                                 // level; stands in for a second exclusive one
}

// eqExclusive is the index in Targets of the exclusive registration,
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

// AfterDelays are the delays of the one-shot timers clients set (After), and
// EveryPeriod the period of the periodic ones (Every). The campaign waits for
// timers that are due at the end of a round, so they stay short.
var (
	AfterDelays = []time.Duration{0, 10 * time.Microsecond, 200 * time.Microsecond, time.Millisecond}
	EveryPeriod = time.Millisecond
)

// Kind is what one step of a client does.
type Kind uint8

const (
	RegisterStep Kind = iota // Register(fd, events, c) of Targets[Arg]
	AfterStep                // After(AfterDelays[Arg], c)
	EveryStep                // Every(EveryPeriod, c)
	CancelStep               // Cancel(an id chosen by Arg: see below)
	RearmStep                // Rearm(an id chosen by Arg)
	WriteStep                // write a byte to end Arg
	ReadStep                 // read end Arg empty
	PollStep                 // Poll: hand out what is ready, as the kernel client does (or ErrBusy)
	WakeStep                 // Wake
	SignalStep               // Signal(c, SignalSets[Arg]...)
	KillStep                 // send Kills[Arg] to the process (kill(2) of itself)
	Kinds
)

var eqKindNames = [Kinds]string{"register", "after", "every", "cancel", "rearm", "write", "read", "poll", "wake", "signal", "kill"}

// eqWeights are the relative frequencies of the kinds GenRound draws:
// all but the signal steps, which AddSignals adds (so that a seed makes
// the same program of the other kinds as before they came).
var eqWeights = [SignalStep]int{7, 2, 1, 5, 4, 4, 2, 1, 1}

// SignalSets are the signals a signal registration waits for, and Kills
// the signals a kill step sends: SIGUSR1 and SIGUSR2, which nothing else
// in a test process uses (a round that has any holds them: see
// HoldSignals).
var (
	SignalSets = [][]os.Signal{{syscall.SIGUSR1}, {syscall.SIGUSR2}, {syscall.SIGUSR1, syscall.SIGUSR2}}
	Kills      = []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2}
)

// eqPicks is the range of a cancel's or rearm's Arg. Arg%8 == 7 names an
// id never issued; otherwise the id is one of the four issued last (for
// a rearm, every other time one of the four handed out last, lent),
// resolved as the step runs: the program fixes which, not the number.
const eqPicks = 16

// The ends a write step writes to and a read step reads from.
var (
	eqWritable = []End{Pipe0W, Pipe1W, SockA, SockB}
	eqReadable = []End{Pipe0R, Pipe1R, SockA, SockB}
)

// Step is one step of a client's program.
type Step struct {
	Kind Kind
	Arg  int
}

func (s Step) String() string {
	switch s.Kind {
	case RegisterStep:
		return fmt.Sprintf("register(%v)", Targets[s.Arg%len(Targets)])
	case AfterStep:
		return fmt.Sprintf("after(%v)", AfterDelays[s.Arg%len(AfterDelays)])
	case EveryStep:
		return fmt.Sprintf("every(%v)", EveryPeriod)
	case CancelStep, RearmStep:
		return fmt.Sprintf("%s(#%d)", eqKindNames[s.Kind], s.Arg)
	case WriteStep, ReadStep:
		return fmt.Sprintf("%s(%v)", eqKindNames[s.Kind], End(s.Arg))
	case PollStep, WakeStep:
		return eqKindNames[s.Kind] + "()"
	case SignalStep:
		return fmt.Sprintf("signal(%v)", SignalSets[s.Arg%len(SignalSets)])
	case KillStep:
		return fmt.Sprintf("kill(%v)", Kills[s.Arg%len(Kills)])
	}
	return fmt.Sprintf("step(%d, %d)", s.Kind, s.Arg)
}

// Round is one round: each client's program.
type Round struct {
	Clients [][]Step
}

// Ops returns the number of steps of the round.
func (r Round) Ops() int {
	n := 0
	for _, p := range r.Clients {
		n += len(p)
	}
	return n
}

// String renders the round, one client per line.
func (r Round) String() string {
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

// GenRound draws a round of clients programs of ops steps each, every
// choice from intn (which returns a number in [0, n)): linearize.Gen's
// Intn for seeded and rapid programs, a byte decoder for fuzzing.
func GenRound(intn func(n int) int, clients, ops int) Round {
	total := 0
	for _, w := range eqWeights {
		total += w
	}
	r := Round{Clients: make([][]Step, clients)}
	exclusive := false
	for c := range r.Clients {
		steps := make([]Step, 0, ops)
		for range ops {
			k, kind := intn(total), Kind(0)
			for k >= eqWeights[kind] {
				k -= eqWeights[kind]
				kind++
			}
			s := Step{Kind: kind}
			switch kind {
			case RegisterStep:
				s.Arg = intn(len(Targets))
				if s.Arg == eqExclusive {
					if exclusive && !eqExclusiveTwice {
						s.Arg = eqExclusiveStandIn
					}
					exclusive = true
				}
			case AfterStep:
				s.Arg = intn(len(AfterDelays))
			case CancelStep, RearmStep:
				s.Arg = intn(eqPicks)
			case WriteStep:
				s.Arg = int(eqWritable[intn(len(eqWritable))])
			case ReadStep:
				s.Arg = int(eqReadable[intn(len(eqReadable))])
			}
			steps = append(steps, s)
		}
		r.Clients[c] = steps
	}
	return r
}

// HasSignals reports whether r has a signal step.
func (r Round) HasSignals() bool {
	for _, p := range r.Clients {
		for _, s := range p {
			if s.Kind == SignalStep || s.Kind == KillStep {
				return true
			}
		}
	}
	return false
}

// AddSignals returns r with signal steps added, every choice from intn:
// in about half the rounds, each client gets up to three, each a signal
// registration (one in three) or a kill, at places of their own in its
// program. Check adds them to its free rounds, never to controlled ones:
// signals are free under the controlled scheduler (os/signal hands them
// on from a goroutine of its own, outside the run), so a controlled round
// would not replay.
func AddSignals(r Round, intn func(n int) int) Round {
	if intn(2) == 0 {
		return r
	}
	out := Round{Clients: make([][]Step, len(r.Clients))}
	for c, p := range r.Clients {
		steps := slices.Clone(p)
		for range intn(4) {
			s := Step{Kind: KillStep, Arg: intn(len(Kills))}
			if intn(3) == 0 {
				s = Step{Kind: SignalStep, Arg: intn(len(SignalSets))}
			}
			steps = slices.Insert(steps, intn(len(steps)+1), s)
		}
		out.Clients[c] = steps
	}
	return out
}
