//go:build sched

package backlog_test

import (
	"strings"
	"testing"

	"github.com/insideout-go/insideout/internal/rapidcheck"

	"github.com/insideout-go/insideout/impl/backlog/backlogtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
	"github.com/insideout-go/insideout/model"
	"pgregory.net/rapid"
)

type scenario = linearize.Scenario[*backlogtest.Logged, model.BacklogInput, model.BacklogOutput]

// controlled returns the scenario of config under strategy (DFS on 2
// clients of 3 operations, at most 1000 schedules a round), from seed 1.
func controlled(t *testing.T, name, config, strategy string, rounds int, newB backlogtest.New) scenario {
	st, err := schedule.Parse(strategy)
	if err != nil {
		t.Fatal(err)
	}
	sc := backlogtest.Scenario(name, backlogtest.Configs()[config], newB)
	if d, ok := st.(schedule.DFS); ok {
		// A round whose program cannot show a bug (no close among its
		// calls, say) would run 10000 schedules: 1000 keep the test short.
		d.Limit = 1000
		st = d
		sc.Clients, sc.OpsPerClient = 2, 3
	}
	sc.Schedule, sc.Seed, sc.Rounds, sc.ReportDir = st, 1, rounds, t.TempDir()
	return sc
}

// The bugs of backlogtest's known-bad backlogs (each bug's comment says
// how it fails): the controlled scheduler finds each under PCT of depth 3
// and under DFS of 2 preemptions on 2 clients of 3 operations, as an
// Illegal history, and the failure's token replays it exactly.
func TestScheduleCatchesKnownBads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, bug := range backlogtest.Bugs() {
		for _, strategy := range []string{"pct:3", "dfs:2"} {
			t.Run(bug.String()+"/"+strategy, func(t *testing.T) {
				sc := controlled(t, "backlog-"+bug.String(), bug.Config(), strategy, 300, backlogtest.Simple(bug))
				sc.TestFails(t, linearize.IsIllegal)
			})
		}
	}
}

// The control: impl/backlog passes the same scenario in every
// configuration under PCT (every schedule run twice, Recheck, to show that
// its steps are deterministic and so replay) and under DFS of 1
// preemption.
func TestScheduledBacklogPasses(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for config := range backlogtest.Configs() {
		sc := controlled(t, "backlog-"+config, config, "pct:3", 60, backlogtest.NewBacklog)
		sc.Recheck = true
		sc.Test(t)
		sc = controlled(t, "backlog-"+config, config, "dfs:1", 2, backlogtest.NewBacklog)
		sc.Test(t)
	}
}

// Rapid draws the program and the schedule (sc.Rapid with a Schedule) and
// shrinks both. The bug: a batch written last first
// (backlogtest.ReversesBatch), which rapid must find, while impl/backlog
// passes the same 40 drawn programs and schedules.
func TestRapid(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer rapidcheck.SetFlag(t, "rapid.nofailfile", "true")()
	defer rapidcheck.SetFlag(t, "rapid.checks", "40")()
	sc := controlled(t, "backlog", "block", "pct:3", 1, backlogtest.NewBacklog)
	sc.Clients, sc.OpsPerClient = 3, 4
	rapid.Check(t, sc.Rapid)
	bad := controlled(t, "backlog-reverses-batch", "block", "pct:3", 1, backlogtest.Simple(backlogtest.ReversesBatch))
	bad.Clients, bad.OpsPerClient = 3, 4
	defer rapidcheck.SetFlag(t, "rapid.seed", "1")()
	defer rapidcheck.SetFlag(t, "rapid.checks", "400")()
	fake := rapidcheck.NewRecorder(t.Name())
	rapid.Check(fake, bad.Rapid)
	if !fake.Failed() || !strings.Contains(fake.Message(), "Illegal") {
		t.Fatalf("rapid passed the reversed batch, or failed it otherwise: %q", fake.Message())
	}
	line, _, _ := strings.Cut(fake.Message(), "\n")
	t.Logf("rapid on the reversed batch: %s", line)
}
