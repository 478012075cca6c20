package conttest

import (
	"context"
	"fmt"
	"time"

	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Scenario is the continuation campaign's name: its failures' and tokens'
// scenario.
const Scenario = "continuation"

// workers' errors as a panic, the programs that ran wrong as problems.
func contFailure(seed uint64, round int, r Round, res Result) *linearize.Failure {
	f := &linearize.Failure{Scenario: Scenario, Seed: seed, Round: round, Hung: res.Lost,
		Problems: res.Problems, Dump: res.Dump, Program: r.String()}
	if res.Errors != "" {
		f.Panic = "workers' errors:\n" + res.Errors
	}
	return f
}

// Check is the continuation campaign's configuration: rounds of
// GenRound programs, run by RunRound.
type Check struct {
	Programs int    // programs per round (default 6)
	Instrs   int    // top-level instructions per program (default 6)
	Rounds   int    // rounds (default 100); negative: until the context ends
	Seed     uint64 // 0: INSIDEOUT_SEED, else random
	// Dispatcher returns the dispatcher of a round's pools, fresh for
	// each round (and for each schedule of a round); nil means
	// pool.Waiter.
	Dispatcher func() pool.Dispatcher
	Deadline   time.Duration // see Options
	// Schedule, if set, runs every round under impl/seam's controlled
	// scheduler (a build with -tags sched; RunRoundScheduled), under each
	// schedule the strategy hands out for the round's program: one for
	// random and PCT, every one within the preemption bound for DFS. A
	// failure then carries the token that replays its schedule exactly
	// (Replay, insideout replay).
	Schedule schedule.Strategy
	// Recheck runs every controlled schedule twice and fails a round whose
	// steps differ (nondeterminism outside the seam), as
	// linearize.Scenario.Recheck does.
	Recheck bool
}

// sizes returns the programs per round and the instructions per program.
func (c Check) sizes() (programs, instrs int) {
	programs, instrs = c.Programs, c.Instrs
	if programs <= 0 {
		programs = 6
	}
	if instrs <= 0 {
		instrs = 6
	}
	return programs, instrs
}

// options returns the Options of round's run (of one schedule of it).
func (c Check) options(seed uint64, round int) Options {
	o := Options{Deadline: c.Deadline, ChaosSeed: linearize.ChaosSeed(seed, round)}
	if c.Dispatcher != nil {
		o.Dispatcher = c.Dispatcher()
	}
	return o
}

// Run runs the rounds until they are done, ctx ends or one fails; it
// returns the seed, the summary (a round is a history; its wrong programs
// count as Illegal, a lost continuation as a hang, a worker's error as a
// panic) and a *linearize.Failure for a failed round. INSIDEOUT_ROUND makes
// every round replay that one. Under a Schedule, ctx also ends a round's
// exploration between two schedules (a DFS cut short counts the schedules
// it ran).
func (c Check) Run(ctx context.Context, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
	programs, instrs := c.sizes()
	return linearize.RunRounds(ctx, c.Seed, c.Rounds, 0, progress, func(seed uint64, round int) linearize.RoundOutcome {
		cr := GenRound(linearize.NewGen(seed, uint64(round)).Intn, programs, instrs)
		if c.Schedule != nil {
			return c.runScheduled(ctx, cr, seed, round)
		}
		res := RunRound(cr, c.options(seed, round))
		out := outcome(cr, res)
		if res.Failed() {
			out.Fail = func() error { return contFailure(seed, round, cr, res) }
		}
		return out
	})
}

// outcome counts one run of round cr that found res.
func outcome(cr Round, res Result) linearize.RoundOutcome {
	out := linearize.RoundOutcome{Ops: cr.Ops(), Hung: res.Lost, Panicked: res.Errors != "", Illegal: res.Wrong}
	if res.Wrong == 0 && len(res.Problems) > 0 {
		out.Illegal = 1 // a problem of the round's own (leftovers)
	}
	return out
}

// runScheduled runs round cr under every schedule c.Schedule hands out
// for it, until one fails or ctx ends.
func (c Check) runScheduled(ctx context.Context, cr Round, seed uint64, round int) linearize.RoundOutcome {
	programs, instrs := c.sizes()
	ex := c.Schedule.Explore(seed, round)
	var out linearize.RoundOutcome
	var prev *seam.Result
	for ch := ex.Next(nil); ch != nil; ch = ex.Next(prev) {
		if ctx.Err() != nil && out.Schedules > 0 {
			return out // a DFS cut short: its schedules so far count
		}
		res, sr, err := RunRoundScheduled(cr, c.options(seed, round), ch)
		if err != nil {
			out.Panicked = true
			out.Fail = func() error { return err }
			return out
		}
		if c.Recheck && !res.Failed() {
			if _, again, _ := RunRoundScheduled(cr, c.options(seed, round), &schedule.Replay{Choices: sr.Choices}); again.Hash != sr.Hash {
				res.Lost = true
				res.Problems = append(res.Problems, fmt.Sprintf("the schedule did not repeat: run again with the same %d choices, its steps hash to %#x, not %#x (nondeterminism outside the seam)", len(sr.Choices), again.Hash, sr.Hash))
			}
		}
		o := outcome(cr, res)
		out.Ops += o.Ops
		out.Schedules++
		if res.Failed() {
			out.Hung, out.Panicked, out.Illegal = o.Hung, o.Panicked, o.Illegal
			tok := schedule.Token{Scenario: Scenario, Seed: seed, Round: round, Clients: programs, Ops: instrs,
				Strategy: c.Schedule.String(), Choices: sr.Choices, Hash: sr.Hash}
			out.Fail = func() error { return scheduledFailure(seed, round, cr, res, tok, sr) }
			return out
		}
		prev = &sr
	}
	if schedule.Exhausted(ex) {
		out.Exhausted = 1
	}
	return out
}

// scheduledFailure is contFailure for a round run under the controlled
// scheduler: with the token that replays its schedule, the schedule
// summed up, and its steps.
func scheduledFailure(seed uint64, round int, cr Round, res Result, tok schedule.Token, sr seam.Result) *linearize.Failure {
	f := contFailure(seed, round, cr, res)
	f.SetSchedule(tok, sr)
	f.ReplayExact = "go run -tags sched ./cmd/insideout replay " + f.Token
	return f
}

// Replay runs the round and schedule of tok (a token of a failure of this
// campaign) once more, with c's Dispatcher and Deadline, and returns the
// round's failure, or nil if it passed. A token that does not fit is an
// error that says why: another scenario, or a run that leaves the token's
// decisions or its trace (the code changed: a stale token).
func (c Check) Replay(tok schedule.Token) error {
	if tok.Scenario != Scenario {
		return fmt.Errorf("the token is for scenario %q, not %q", tok.Scenario, Scenario)
	}
	if !seam.Enabled {
		return seam.ErrDisabled
	}
	cr := GenRound(linearize.NewGen(tok.Seed, uint64(tok.Round)).Intn, tok.Clients, tok.Ops)
	res, sr, err := RunRoundScheduled(cr, c.options(tok.Seed, tok.Round), &schedule.Replay{Choices: tok.Choices})
	if err != nil {
		return err
	}
	if err := tok.Check(sr); err != nil {
		return err
	}
	if !res.Failed() {
		return nil
	}
	return scheduledFailure(tok.Seed, tok.Round, cr, res, tok, sr)
}

// Test runs the rounds as part of a test, logging the seed before the
// first round and the summary after the last, and fails t with the
// failure's message. With INSIDEOUT_TOKEN set to a token of this
// campaign, it replays that schedule instead (a build with -tags sched).
func (c Check) Test(t linearize.TB) {
	t.Helper()
	if tok, ok, err := linearize.TokenFromEnv(); err != nil {
		t.Fatal(err)
	} else if ok && tok.Scenario == Scenario {
		if err := c.Replay(tok); err != nil {
			t.Fatal(err)
		}
		return
	}
	linearize.RunTest(t, Scenario, c.Seed, func(seed uint64) (linearize.Summary, error) {
		c.Seed = seed
		_, sum, err := c.Run(context.Background(), nil)
		return sum, err
	})
}
