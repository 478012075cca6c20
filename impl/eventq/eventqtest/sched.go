package eventqtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Scenario is the event-queue campaign's name, its failures' and tokens'
// scenario unless Check.Name says otherwise.
const Scenario = "eventq"

// RunRoundScheduled runs r once, as RunRound does, as the main function
// of a run of impl/seam's controlled scheduler (a build with -tags
// sched), with ch choosing who goes at every switch point, and returns the
// round's result and the scheduler's. The queue is made inside the run,
// so that it is a controlled one (see impl/eventq's kernel_sched.go): its
// Waits park through the seam, the kernel's firings are steps of the
// queue's kernel goroutine, and its timers keep virtual time. The clients
// and the kernel client are goroutines of the run, each client step
// begins at a switch point of its own (seam.Point), so that a write to an
// fd is a step the scheduler places, and Options.Deadline does not apply:
// a round that cannot go on is a deadlock, and one that goes on for ever
// meets the step limit. A run that the scheduler ends is a hung round
// whose Problems say why; the history is checked, and the audit made,
// after the run. The error is seam.ErrDisabled in a build without the
// tag.
func RunRoundScheduled(r Round, o Options, ch seam.Chooser) (Result, seam.Result, error) {
	if !seam.Enabled {
		return Result{}, seam.Result{}, seam.ErrDisabled
	}
	o = o.withDefaults()
	chaos.SetSeed(o.ChaosSeed)
	fdsBefore := fdsNow(o)
	run, res, ok := prepare(r, o)
	if !ok {
		return res, seam.Result{}, nil
	}
	var (
		panicked atomic.Pointer[string]
		held     []*cont.C
		ready    [Ends]int16
		closeErr error
	)
	sr, err := seam.Run(ch, func() {
		defer func() {
			if v := recover(); v != nil {
				msg := fmt.Sprintf("the round's driver: %v\n%s", v, debug.Stack())
				panicked.CompareAndSwap(nil, &msg)
			}
		}()
		run.q = o.New()
		run.controlled = true
		run.drive(r, o, guarding(&panicked))
		if panicked.Load() != nil {
			return
		}
		run.settle(run.index(), o.Patience, true)
		ready = run.readiness()
		held, closeErr = run.q.Close()
	}, seam.Options{Trace: true})
	if err != nil {
		run.close()
		return Result{}, sr, err
	}
	p := panicked.Load()
	if sr.Outcome != seam.Finished || p != nil {
		if sr.Outcome != seam.Finished {
			res.Hung = true
			res.Problems = []string{"the controlled run ended the round: " + sr.Failure}
		}
		if p != nil {
			res.Panic = *p
		}
		if run.q != nil {
			run.q.Close() // made in the run, it does not wait for a Wait the run left parked
		}
		run.close()
		return res, sr, nil
	}
	run.close()
	return run.finish(res, o, held, ready, closeErr, fdsBefore), sr, nil
}

// drive runs the round's clients and its kernel client as goroutines of
// the controlled run, and returns once every one has returned.
func (run *eqRun) drive(r Round, o Options, guard func(who string)) {
	var (
		done       seam.Bool
		left       seam.Int32
		allDone    = make(chan struct{})
		kernelDone = make(chan struct{})
	)
	left.Store(int32(len(r.Clients)))
	if len(r.Clients) == 0 {
		seam.Close(allDone)
	}
	for cl, steps := range r.Clients {
		seam.Go(func() {
			defer func() {
				if left.Add(-1) == 0 {
					seam.Close(allDone)
				}
			}()
			defer guard(fmt.Sprintf("client %d", cl))
			var buf []eventq.Ready
			for _, s := range steps {
				seam.Point()
				run.step(cl, s, &buf)
			}
		})
	}
	seam.Go(func() {
		defer seam.Close(kernelDone)
		defer guard("kernel")
		run.kernelLoop(&done, rand.New(rand.NewPCG(o.KernelSeed, 0x6b65726e656c)))
	})
	seam.Await(allDone)
	done.Store(true)
	if err := run.q.Wake(); err != nil { // the kernel client's last Wait(-1) ends
		run.clients[run.kernel].problem("wake at the end: %v", err)
	}
	seam.Await(kernelDone)
}

// sizes returns the clients per round and the steps per client.
func (c Check) sizes() (clients, ops int) {
	clients, ops = c.Clients, c.Ops
	if clients <= 0 {
		clients = 3
	}
	if ops <= 0 {
		ops = 8
	}
	return clients, ops
}

// RoundOptions returns the Options with which Run and Replay run round
// of seed (each schedule of it): c's New, audit, fd check, deadline and
// checker's limit, and the chaos and kernel client's seeds of the round.
func (c Check) RoundOptions(seed uint64, round int) Options {
	mix := linearize.ChaosSeed(seed, round)
	return Options{New: c.New, NoAudit: c.NoAudit, NoFDCheck: c.NoFDCheck, Deadline: c.Deadline, CheckTimeout: c.CheckTimeout,
		ChaosSeed: mix, KernelSeed: mix ^ 0x5bd1e995}
}

// outcome counts one run of a round that found res.
func outcome(res Result) linearize.RoundOutcome {
	out := linearize.RoundOutcome{Ops: res.Ops, Hung: res.Hung, Panicked: res.Panic != ""}
	switch {
	case res.Verdict == linearize.Illegal, res.Verdict == linearize.Ok && len(res.Problems) > 0:
		out.Illegal = 1
	case res.Verdict == linearize.Unknown:
		out.Unknown = 1
	}
	return out
}

// failure is the failure of round er of seed, which found res.
func (c Check) failure(seed uint64, round int, er Round, res Result) *linearize.Failure {
	f := &linearize.Failure{Scenario: c.name(), Seed: seed, Round: round, Verdict: res.Verdict,
		Hung: res.Hung, Panic: res.Panic, Problems: res.Problems, Dump: res.Dump, Program: er.String()}
	if res.Verdict == linearize.Illegal && !res.Hung && res.Panic == "" {
		f.Report = filepath.Join(c.reportDir(), fmt.Sprintf("%s-seed-%#x-round-%d.html", c.name(), seed, round))
		if err := res.Checked.WriteReport(f.Report); err != nil {
			f.Report = "(could not write the visualization: " + err.Error() + ")"
		}
	}
	return f
}

// runScheduled runs round er under every schedule c.Schedule hands out
// for it, until one fails or ctx ends.
func (c Check) runScheduled(ctx context.Context, er Round, seed uint64, round int) linearize.RoundOutcome {
	clients, ops := c.sizes()
	ex := c.Schedule.Explore(seed, round)
	var out linearize.RoundOutcome
	var prev *seam.Result
	for ch := ex.Next(nil); ch != nil; ch = ex.Next(prev) {
		if ctx.Err() != nil && out.Schedules > 0 {
			return out // a DFS cut short: its schedules so far count
		}
		res, sr, err := RunRoundScheduled(er, c.RoundOptions(seed, round), ch)
		if err != nil {
			out.Panicked = true
			out.Fail = func() error { return err }
			return out
		}
		if c.Recheck && !res.Failed() {
			if _, again, _ := RunRoundScheduled(er, c.RoundOptions(seed, round), &schedule.Replay{Choices: sr.Choices}); again.Hash != sr.Hash {
				res.Hung = true
				res.Problems = append(res.Problems, fmt.Sprintf("the schedule did not repeat: run again with the same %d choices, its steps hash to %#x, not %#x (nondeterminism outside the seam)", len(sr.Choices), again.Hash, sr.Hash))
			}
		}
		o := outcome(res)
		out.Ops += o.Ops
		out.Schedules++
		if res.Failed() {
			out.Hung, out.Panicked, out.Illegal, out.Unknown = o.Hung, o.Panicked, o.Illegal, o.Unknown
			tok := schedule.Token{Scenario: c.name(), Seed: seed, Round: round, Clients: clients, Ops: ops,
				Strategy: c.Schedule.String(), Choices: sr.Choices, Hash: sr.Hash}
			out.Fail = func() error { return c.scheduledFailure(seed, round, er, res, tok, sr) }
			return out
		}
		prev = &sr
	}
	if schedule.Exhausted(ex) {
		out.Exhausted = 1
	}
	return out
}

// scheduledFailure is the failure of a round run under the controlled
// scheduler: with the token that replays its schedule, the schedule
// summed up, and its steps.
func (c Check) scheduledFailure(seed uint64, round int, er Round, res Result, tok schedule.Token, sr seam.Result) *linearize.Failure {
	f := c.failure(seed, round, er, res)
	f.SetSchedule(tok, sr)
	f.ReplayExact = "go run -tags sched ./cmd/insideout replay " + f.Token
	return f
}

// Replay runs the round and schedule of tok (a token of a failure of this
// campaign) once more, with c's New, and returns the round's failure, or
// nil if it passed. A token that does not fit is an error that says why:
// another scenario, or a run that leaves the token's decisions or its
// trace (the code changed: a stale token).
func (c Check) Replay(tok schedule.Token) error {
	if tok.Scenario != c.name() {
		return fmt.Errorf("the token is for scenario %q, not %q", tok.Scenario, c.name())
	}
	if !seam.Enabled {
		return seam.ErrDisabled
	}
	er := GenRound(linearize.NewGen(tok.Seed, uint64(tok.Round)).Intn, tok.Clients, tok.Ops)
	res, sr, err := RunRoundScheduled(er, c.RoundOptions(tok.Seed, tok.Round), &schedule.Replay{Choices: tok.Choices})
	if err != nil {
		return err
	}
	if err := tok.Check(sr); err != nil {
		return err
	}
	if !res.Failed() {
		return nil
	}
	return c.scheduledFailure(tok.Seed, tok.Round, er, res, tok, sr)
}
