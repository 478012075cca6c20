package eventqtest

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	"github.com/insideout-go/insideout/linearize"
)

// Check is the event-queue campaign's configuration: rounds of
// GenRound programs, run by RunRound.
type Check struct {
	Name      string        // in failures and report files (default "eventq")
	New       func() Queue  // nil: NewQueue
	Clients   int           // clients per round (default 3)
	Ops       int           // steps per client (default 8)
	Rounds    int           // rounds (default 100); negative: until the context ends
	Seed      uint64        // 0: INSIDEOUT_SEED, else random
	NoAudit   bool          // see Options
	NoFDCheck bool          // see Options
	ReportDir string        // default linearize.DefaultReportDir()
	Deadline  time.Duration // see Options
	// CheckTimeout is porcupine's limit per history (see Options).
	CheckTimeout time.Duration
}

// Run runs the rounds until they are done, ctx ends or one fails; it
// returns the seed, the summary (a round is a history; the audit's
// problems count as Illegal, a hang as a hang, a panic as a panic) and an
// *linearize.Failure for a failed round. INSIDEOUT_ROUND makes every round replay
// that one.
func (c Check) Run(ctx context.Context, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
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
		er := GenRound(linearize.NewGen(seed, uint64(round)).Intn, clients, ops)
		mix := linearize.ChaosSeed(seed, round)
		res := RunRound(er, Options{New: c.New, NoAudit: c.NoAudit, NoFDCheck: c.NoFDCheck, Deadline: c.Deadline, CheckTimeout: c.CheckTimeout,
			ChaosSeed: mix, KernelSeed: mix ^ 0x5bd1e995})
		out := linearize.RoundOutcome{Ops: res.Ops, Hung: res.Hung, Panicked: res.Panic != ""}
		switch {
		case res.Verdict == linearize.Illegal, res.Verdict == linearize.Ok && len(res.Problems) > 0:
			out.Illegal = 1
		case res.Verdict == linearize.Unknown:
			out.Unknown = 1
		}
		if res.Failed() {
			out.Fail = func() error {
				f := &linearize.Failure{Scenario: name, Seed: seed, Round: round, Verdict: res.Verdict,
					Hung: res.Hung, Panic: res.Panic, Problems: res.Problems, Dump: res.Dump, Program: er.String()}
				if res.Verdict == linearize.Illegal && !res.Hung && res.Panic == "" {
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
func (c Check) Test(t linearize.TB) {
	t.Helper()
	linearize.RunTest(t, c.name(), c.Seed, func(seed uint64) (linearize.Summary, error) {
		c.Seed = seed
		_, sum, err := c.Run(context.Background(), nil)
		return sum, err
	})
}

// name returns the campaign's name, Name or its default.
func (c Check) name() string {
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
