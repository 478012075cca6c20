package linearize

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// maxFutileReleases bounds the Releases in a row after which no call has
// returned: the round hangs.
const maxFutileReleases = 3

// quietSteps is a controlled round's Quiet: when goroutines that never
// block (a runtime stepping for ever) keep the round from going idle, this
// many switch points with no call returning stand for stillness.
const quietSteps = 5000

// RunScheduled runs p once on a fresh system under impl/seam's controlled
// scheduler (a build with -tags sched), with ch choosing who goes at every
// switch point: a client per goroutine, started through seam.Go, then
// Finally, then the check. It returns the round's result and the
// scheduler's.
//
// Release and Stuck need no clock here. Whenever every client still
// running is blocked, the round asks Stuck first: a call asleep though the
// state would let it proceed is a lost wake-up at once, since nothing else
// can move. Then it calls Release; three Releases in a row after which no
// call returns make the round a hang.
func (sc *Scenario[S, In, Out]) RunScheduled(p Program, ch seam.Chooser) (RoundResult, seam.Result) {
	return sc.runScheduledWith(p, ch, nil, nil)
}

// runScheduledWith is RunScheduled; if lockFree is not nil, lockFree[c]
// is true while client c is inside a call of a LockFree op, and ids[c] is
// client c's goroutine id in the run once it has started.
func (sc *Scenario[S, In, Out]) runScheduledWith(p Program, ch seam.Chooser, lockFree []atomic.Bool, ids []atomic.Int64) (RoundResult, seam.Result) {
	c := sc.mustDefaults()
	inputs, err := c.inputs(p)
	if err != nil {
		return RoundResult{Checked: Checked{Verdict: Unknown, Err: err}}, seam.Result{}
	}
	most := 0
	for _, steps := range p {
		most = max(most, len(steps))
	}
	rec := NewRecorder(len(p)+2, most)
	var (
		panicked atomic.Pointer[string]
		stuck    string
		hung     string
	)
	catch := func(who string) {
		if v := recover(); v != nil {
			msg := fmt.Sprintf("%s: %v\n%s", who, v, debug.Stack())
			panicked.CompareAndSwap(nil, &msg)
		}
	}
	sr, err := seam.Run(ch, func() {
		defer catch("the round")
		s := c.New()
		var ended, returned atomic.Int64 // the harness's: no switch points
		for cl, steps := range p {
			seam.Go(func() {
				defer ended.Add(1)
				defer catch(fmt.Sprintf("client %d", cl))
				client := rec.Client(cl)
				if ids != nil {
					ids[cl].Store(int64(seam.ID()))
				}
				for i, st := range steps {
					op, in := &c.Ops[st.Op], inputs[cl][i]
					var current any = in
					client.current.Store(&current)
					call := client.Call()
					if lockFree != nil && op.LockFree {
						lockFree[cl].Store(true)
					}
					out := op.Run(s, in)
					if lockFree != nil {
						lockFree[cl].Store(false)
					}
					client.Return(call, in, out)
					client.current.Store(nil)
					returned.Add(1)
				}
			})
		}
		futile, before := 0, int64(-1)
		for {
			idle := seam.AwaitIdleFor(quietSteps)
			if ended.Load() == int64(len(p)) || panicked.Load() != nil {
				break
			}
			// As in a free round: Release only once every client still
			// running is inside a call and none returned for a while.
			if !idle && (returned.Load() != before || int64(len(rec.inProgress())) < int64(len(p))-ended.Load()) {
				before, futile = returned.Load(), 0
				continue
			}
			if returned.Load() == before {
				if futile++; futile >= maxFutileReleases {
					hung = fmt.Sprintf("every client still running is inside a call, and %d Releases in a row ended none", futile)
					return
				}
			} else {
				futile = 0
			}
			before = returned.Load()
			if idle && c.Stuck != nil {
				if what := c.Stuck(s, typedInputs[In](rec.inProgress())); what != "" {
					stuck = what
					return
				}
			}
			if c.Release == nil {
				hung = "every client still running is blocked, and the scenario has no Release"
				return
			}
			c.Release(s, Caller[In, Out]{rec.Client(len(p))})
		}
		if c.Finally != nil && panicked.Load() == nil {
			c.Finally(s, Caller[In, Out]{rec.Client(len(p) + 1)})
		}
	}, seam.Options{Trace: true})
	switch {
	case err != nil:
		return RoundResult{Checked: Checked{Verdict: Unknown, Err: err}}, sr
	case sr.Outcome == seam.Deadlock:
		return RoundResult{Stuck: sr.Failure}, sr
	case sr.Outcome != seam.Finished:
		return RoundResult{Hung: true, Sched: sr.Failure}, sr
	case panicked.Load() != nil:
		return RoundResult{Panic: *panicked.Load()}, sr
	case stuck != "":
		return RoundResult{Stuck: stuck, Sched: "every goroutine of the round was blocked"}, sr
	case hung != "":
		return RoundResult{Hung: true, Sched: hung}, sr
	}
	h := rec.History()
	return RoundResult{Checked: check[In, Out](c.Model, h, c.CheckTimeout), History: h}, sr
}

// runScheduled is RunContext under c.Schedule: each round's program runs
// under every schedule the strategy hands out for it, and a failure's
// report carries the token that replays it.
func (c *Scenario[S, In, Out]) runScheduled(seed uint64, round int) RoundOutcome {
	p := c.Generate(NewGen(seed, uint64(round)))
	ex := c.Schedule.Explore(seed, round)
	var out RoundOutcome
	var prev *seam.Result
	for ch := ex.Next(nil); ch != nil; ch = ex.Next(prev) {
		if c.ctx != nil && c.ctx.Err() != nil && out.Schedules > 0 {
			return out // a DFS cut short: its schedules so far count
		}
		res, sr := c.RunScheduled(p, ch)
		if c.Recheck && !res.Failed() {
			if _, again := c.RunScheduled(p, &schedule.Replay{Choices: sr.Choices}); again.Hash != sr.Hash {
				res = RoundResult{Hung: true, Sched: fmt.Sprintf("the schedule did not repeat: run again with the same %d choices, its steps hash to %#x, not %#x (nondeterminism outside the seam)", len(sr.Choices), again.Hash, sr.Hash)}
			}
		}
		out.Ops += res.Ops
		out.Schedules++
		if res.Failed() {
			out.Hung = res.Hung || res.Stuck != ""
			out.Panicked = res.Panic != "" || res.Err != nil
			if res.Verdict == Illegal {
				out.Illegal = 1
			} else if res.Verdict == Unknown {
				out.Unknown = 1
			}
			tok := c.token(seed, round, sr)
			out.Fail = func() error {
				f := c.Failure(p, res, seed, round)
				f.SetSchedule(tok, sr)
				writeScheduleReport(c.ReportDir, f)
				return f
			}
			return out
		}
		prev = &sr
	}
	if schedule.Exhausted(ex) {
		out.Exhausted = 1
	}
	return out
}

func (c *Scenario[S, In, Out]) token(seed uint64, round int, sr seam.Result) schedule.Token {
	return schedule.Token{Scenario: c.name(), Seed: seed, Round: round, Clients: c.Clients, Ops: c.OpsPerClient,
		Strategy: c.Schedule.String(), Choices: sr.Choices, Hash: sr.Hash}
}

// DescribeSchedule sums up a controlled run in one line: its goroutines,
// steps, decisions and preemptions, and any seam calls from outside it.
func DescribeSchedule(sr seam.Result) string {
	s := fmt.Sprintf("%d goroutines, %d steps, %d decisions, %d preemptions", sr.Goroutines, sr.Steps, len(sr.Choices), sr.Preemptions)
	if sr.Outside > 0 {
		s += fmt.Sprintf("; %d seam calls from goroutines outside the run (they may keep it from replaying)", sr.Outside)
	}
	return s
}

// SetSchedule records on f the controlled run sr in which it failed: tok,
// the token that replays it, the run summed up (DescribeSchedule), and its
// steps. A campaign with an engine of its own calls it for its failures as
// a Scenario does for its own.
func (f *Failure) SetSchedule(tok schedule.Token, sr seam.Result) {
	f.Token, f.Schedule, f.Trace = tok.String(), DescribeSchedule(sr), sr.Trace
}

// Replay runs the program and schedule of tok (a token from a failure of
// this scenario) once more, and returns the round's failure, or nil if it
// passed. A token that does not fit the scenario or the code is an error
// that says why: another scenario, other program sizes, or a run that
// leaves the token's decisions or its trace (the code changed).
func (sc *Scenario[S, In, Out]) Replay(tok schedule.Token) error {
	c, err := sc.withDefaults()
	if err != nil {
		return err
	}
	if tok.Scenario != c.name() {
		return fmt.Errorf("the token is for scenario %q, not %q", tok.Scenario, c.name())
	}
	if !seam.Enabled {
		return seam.ErrDisabled
	}
	c.Clients, c.OpsPerClient = tok.Clients, tok.Ops
	p := c.Generate(NewGen(tok.Seed, uint64(tok.Round)))
	res, sr := c.RunScheduled(p, &schedule.Replay{Choices: tok.Choices})
	if err := tok.Check(sr); err != nil {
		return err
	}
	if !res.Failed() {
		return nil
	}
	f := c.Failure(p, res, tok.Seed, tok.Round)
	f.SetSchedule(tok, sr)
	writeScheduleReport(c.ReportDir, f)
	return f
}

// TokenFromEnv returns the token in INSIDEOUT_TOKEN, if set: a test that
// finds one replays that schedule instead of exploring.
func TokenFromEnv() (schedule.Token, bool, error) {
	s := strings.TrimSpace(os.Getenv("INSIDEOUT_TOKEN"))
	if s == "" {
		return schedule.Token{}, false, nil
	}
	t, err := schedule.ParseToken(s)
	if err != nil {
		return t, false, errors.New("INSIDEOUT_TOKEN: " + err.Error())
	}
	return t, true, nil
}
