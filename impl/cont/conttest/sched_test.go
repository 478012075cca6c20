//go:build sched

package conttest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont/conttest"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/pool/pooltest"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Rounds run under the controlled scheduler end as the scheduler sees
// them: finished, with every goroutine of the round a goroutine of the
// run (no seam call from outside it, no blocking outside the seam), and
// they pass; and a schedule run again with the same choices takes the
// same steps. The bugs: a wait of the engine or of impl/seq outside the
// seam (reported as uncontrolled blocking, or counted as outside), a map
// iterated, or the collector's timing, in the steps of a schedule.
func TestRoundsUnderControlledScheduler(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, s := range []string{"random", "pct:3", "dfs:1"} {
		st, _ := schedule.Parse(s)
		schedules := 0
		for round := range 12 {
			programs, instrs := 4, 4
			if s == "dfs:1" {
				programs, instrs = 2, 2
			}
			r := conttest.GenRound(linearize.NewGen(0x5eed, uint64(round)).Intn, programs, instrs)
			ex := st.Explore(0x5eed, round)
			var prev *seam.Result
			// At most 20 of DFS's schedules of each round.
			for n, ch := 0, ex.Next(nil); ch != nil && n < 20; n, ch = n+1, ex.Next(prev) {
				res, sr, err := conttest.RunRoundScheduled(r, conttest.Options{}, ch)
				if err != nil {
					t.Fatal(err)
				}
				if sr.Outcome != seam.Finished || sr.Outside != 0 || res.Failed() {
					t.Fatalf("%s, round %d: %v, %d seam calls outside the run: %s\n%s\n%s", s, round, sr.Outcome, sr.Outside, sr.Failure, strings.Join(res.Problems, "\n"), r)
				}
				if schedules%4 == 0 {
					_, again, _ := conttest.RunRoundScheduled(r, conttest.Options{}, &schedule.Replay{Choices: sr.Choices})
					if again.Hash != sr.Hash || again.Outcome != seam.Finished {
						t.Fatalf("%s, round %d: the same %d choices: %v, hash %#x, then %v, %#x (%s)\n%s", s, round, len(sr.Choices), sr.Outcome, sr.Hash, again.Outcome, again.Hash, again.Failure, r)
					}
				}
				schedules++
				prev = &sr
			}
		}
		t.Logf("%s: %d schedules", s, schedules)
	}
}

// Check under a Schedule counts schedules, and with Recheck runs each
// twice: a short run of each strategy passes.
func TestCheckUnderSchedule(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, s := range []string{"random", "pct:3", "dfs:1"} {
		st, _ := schedule.Parse(s)
		c := conttest.Check{Seed: 0x5eed, Rounds: 10, Programs: 3, Instrs: 4, Schedule: st, Recheck: true}
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		_, sum, err := c.Run(ctx, nil)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if sum.Schedules == 0 || sum.Rounds == 0 {
			t.Fatalf("%s: %+v", s, sum)
		}
		t.Logf("%s: %d rounds, %d schedules, %d exhausted", s, sum.Rounds, sum.Schedules, sum.Exhausted)
	}
}

// A known-bad dispatcher that steps a continuation once more after it
// moved is caught under pct:3, and the failure's token replays the same
// failure by the same steps 10 times in 10. (pooltest.StepsOnTwoWorkers
// would not replay: it waits on the wall clock, time.Now, for another
// worker to start.)
func TestKnownBadFoundAndReplayed(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	st, _ := schedule.Parse("pct:3")
	c := conttest.Check{Seed: 0x5eed, Rounds: 300, Programs: 4, Schedule: st,
		Dispatcher: func() pool.Dispatcher { return pooltest.BadDispatcher(pooltest.StepsAfterMove) }}
	_, sum, err := c.Run(t.Context(), nil)
	var f *linearize.Failure
	if !errors.As(err, &f) || f.Token == "" {
		t.Fatalf("pct:3 passed a known-bad dispatcher (a step after a move) for %d rounds: %v", sum.Rounds, err)
	}
	msg := err.Error()
	for _, want := range []string{"program ", "token: " + f.Token, "replay exactly: go run -tags sched ./cmd/insideout replay " + f.Token, "schedule: "} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure lacks %q:\n%s", want, msg)
		}
	}
	tok, err := schedule.ParseToken(f.Token)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Scenario != conttest.Scenario || tok.Clients != 4 || tok.Ops != 6 || tok.Strategy != "pct:3" {
		t.Fatalf("token %+v", tok)
	}
	for i := range 10 {
		err := c.Replay(tok)
		var again *linearize.Failure
		if !errors.As(err, &again) || again.Token != f.Token || again.Hung != f.Hung || (again.Panic == "") != (f.Panic == "") ||
			strings.Join(again.Problems, "\n") != strings.Join(f.Problems, "\n") {
			t.Fatalf("replay %d of 10 differs from the failure:\n%v\nthe failure:\n%v", i+1, err, msg)
		}
	}
	t.Logf("caught in round %d, replayed 10 of 10 (%s): %s", f.Round, f.Schedule, f.Problems[0])

	// A token whose decisions no longer fit is stale, never a pass.
	tok.Choices = tok.Choices[:len(tok.Choices)/2]
	if err := c.Replay(tok); err == nil || !strings.Contains(err.Error(), "stale token") {
		t.Fatalf("a cut token: %v", err)
	}
	tok.Scenario = "queue"
	if err := c.Replay(tok); err == nil || errors.As(err, &f) {
		t.Fatalf("another scenario's token: %v", err)
	}
}

// The continuation campaign is controlled, and its Replay takes the
// continuation's tokens: a schedule that passed replays to a pass, the
// same decisions with another hash are a stale token, and a token of
// another scenario is not its own.
func TestCampaignReplays(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var cp campaign.Campaign
	for _, c := range campaign.All() {
		if c.Name == "continuation" {
			cp = c
		}
	}
	if !cp.Controlled || cp.Replay == nil {
		t.Fatalf("the continuation campaign: Controlled %v, Replay %v", cp.Controlled, cp.Replay != nil)
	}
	st, _ := schedule.Parse("pct:3")
	r := conttest.GenRound(linearize.NewGen(0x5eed, 3).Intn, 3, 4)
	res, sr, err := conttest.RunRoundScheduled(r, conttest.Options{}, st.Explore(0x5eed, 3).Next(nil))
	if err != nil || res.Failed() || sr.Outcome != seam.Finished {
		t.Fatalf("%v %v %v", err, res.Problems, sr.Failure)
	}
	tok := schedule.Token{Scenario: conttest.Scenario, Seed: 0x5eed, Round: 3, Clients: 3, Ops: 4, Strategy: "pct:3", Choices: sr.Choices, Hash: sr.Hash}
	if err := cp.Replay(tok); err != nil {
		t.Fatalf("a schedule that passed: %v", err)
	}
	if err := campaign.Replay(campaign.All(), tok); err != nil {
		t.Fatalf("campaign.Replay of a schedule that passed: %v", err)
	}
	tok.Hash++
	if err := cp.Replay(tok); err == nil || !strings.Contains(err.Error(), "stale token") {
		t.Fatalf("another hash: %v", err)
	}
	tok.Scenario = "queue"
	if err := cp.Replay(tok); !errors.Is(err, campaign.ErrNotMine) {
		t.Fatalf("a queue token: %v", err)
	}
}
