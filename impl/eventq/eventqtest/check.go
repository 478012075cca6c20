package eventqtest

import (
	"context"
	"runtime"
	"time"

	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Check is the event-queue campaign's configuration: rounds of
// GenRound programs, run by RunRound.
type Check struct {
	Name      string       // in failures, report files and tokens (default Scenario)
	New       func() Queue // nil: NewQueue
	Clients   int          // clients per round (default 3)
	Ops       int          // steps per client (default 8)
	Rounds    int          // rounds (default 100); negative: until the context ends
	Seed      uint64       // 0: INSIDEOUT_SEED, else random
	NoAudit   bool         // see Options
	NoFDCheck bool         // see Options
	// NoSignals leaves the signal steps (AddSignals) out of free rounds;
	// controlled rounds never have them.
	NoSignals bool
	ReportDir string        // default linearize.DefaultReportDir()
	Deadline  time.Duration // see Options
	// CheckTimeout is porcupine's limit per history (see Options).
	CheckTimeout time.Duration
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

// Run runs the rounds until they are done, ctx ends or one fails; it
// returns the seed, the summary (a round is a history; the audit's
// problems count as Illegal, a hang as a hang, a panic as a panic) and an
// *linearize.Failure for a failed round. INSIDEOUT_ROUND makes every round replay
// that one. Under a Schedule, ctx also ends a round's exploration between
// two schedules (a DFS cut short counts the schedules it ran).
func (c Check) Run(ctx context.Context, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
	clients, ops := c.sizes()
	return linearize.RunRounds(ctx, c.Seed, c.Rounds, 0, progress, func(seed uint64, round int) linearize.RoundOutcome {
		er := GenRound(linearize.NewGen(seed, uint64(round)).Intn, clients, ops)
		if c.Schedule == nil && !c.NoSignals {
			er = AddSignals(er, linearize.NewGen(seed^signalSalt, uint64(round)).Intn)
		}
		if c.Schedule != nil {
			return c.runScheduled(ctx, er, seed, round)
		}
		res := RunRound(er, c.RoundOptions(seed, round))
		out := outcome(res)
		if res.Failed() {
			out.Fail = func() error { return c.failure(seed, round, er, res) }
		}
		return out
	})
}

// signalSalt makes the choices of a round's signal steps a stream of their
// own, apart from GenRound's: a seed makes the same program of the other
// steps with or without them.
const signalSalt = 0x5167_6e61_6c73

// Test runs the rounds as part of a test, logging the seed before the
// first round and the summary after the last, and fails t with the
// failure's message. With INSIDEOUT_TOKEN set to a token of this
// campaign, it replays that schedule instead (a build with -tags sched).
func (c Check) Test(t linearize.TB) {
	t.Helper()
	if tok, ok, err := linearize.TokenFromEnv(); err != nil {
		t.Fatal(err)
	} else if ok && tok.Scenario == c.name() {
		if err := c.Replay(tok); err != nil {
			t.Fatal(err)
		}
		return
	}
	linearize.RunTest(t, c.name(), c.Seed, func(seed uint64) (linearize.Summary, error) {
		c.Seed = seed
		_, sum, err := c.Run(context.Background(), nil)
		return sum, err
	})
}

// reportDir is where a failure's report goes.
func (c Check) reportDir() string {
	if c.ReportDir == "" {
		return linearize.DefaultReportDir()
	}
	return c.ReportDir
}

// name returns the campaign's name, Name or its default.
func (c Check) name() string {
	if c.Name == "" {
		return Scenario
	}
	return c.Name
}

// stacks returns every goroutine's stack, up to 1 MiB.
func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
