package conttest

import (
	"context"
	"time"

	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/linearize"
)

// workers' errors as a panic, the programs that ran wrong as problems.
func contFailure(seed uint64, round int, r Round, res Result) *linearize.Failure {
	f := &linearize.Failure{Scenario: "continuation", Seed: seed, Round: round, Hung: res.Lost,
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
	// each round; nil means pool.Waiter.
	Dispatcher func() pool.Dispatcher
	Deadline   time.Duration // see Options
}

// Run runs the rounds until they are done, ctx ends or one fails; it
// returns the seed, the summary (a round is a history; its wrong programs
// count as Illegal, a lost continuation as a hang, a worker's error as a
// panic) and a *linearize.Failure for a failed round. INSIDEOUT_ROUND makes
// every round replay that one.
func (c Check) Run(ctx context.Context, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
	programs, instrs := c.Programs, c.Instrs
	if programs <= 0 {
		programs = 6
	}
	if instrs <= 0 {
		instrs = 6
	}
	return linearize.RunRounds(ctx, c.Seed, c.Rounds, 0, progress, func(seed uint64, round int) linearize.RoundOutcome {
		cr := GenRound(linearize.NewGen(seed, uint64(round)).Intn, programs, instrs)
		o := Options{Deadline: c.Deadline, ChaosSeed: linearize.ChaosSeed(seed, round)}
		if c.Dispatcher != nil {
			o.Dispatcher = c.Dispatcher()
		}
		res := RunRound(cr, o)
		out := linearize.RoundOutcome{Ops: cr.Ops(), Hung: res.Lost, Panicked: res.Errors != "", Illegal: res.Wrong}
		if res.Wrong == 0 && len(res.Problems) > 0 {
			out.Illegal = 1 // a problem of the round's own (leftovers)
		}
		if res.Failed() {
			out.Fail = func() error { return contFailure(seed, round, cr, res) }
		}

		return out
	})
}

// Test runs the rounds as part of a test, logging the seed before the
// first round and the summary after the last, and fails t with the
// failure's message.
func (c Check) Test(t linearize.TB) {
	t.Helper()
	linearize.RunTest(t, "continuation", c.Seed, func(seed uint64) (linearize.Summary, error) {
		c.Seed = seed
		_, sum, err := c.Run(context.Background(), nil)
		return sum, err
	})
}
