//go:build sched

package eventqtest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// hangAfter ends the test binary with every goroutine's stack if the test
// has not finished within d: a round that waits in the kernel, outside
// the controlled scheduler, would hang it.
func hangAfter(t *testing.T, d time.Duration) {
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		panic(fmt.Sprintf("%s: still running after %v\n%s", t.Name(), d, buf[:runtime.Stack(buf, true)]))
	})
	t.Cleanup(func() { timer.Stop() })
}

func parse(t *testing.T, s string) schedule.Strategy {
	t.Helper()
	st, err := schedule.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func badQueue(bug eventqtest.Bug) func() eventqtest.Queue {
	return func() eventqtest.Queue { return eventqtest.BadQueue(bug) }
}

// The real queue passes rounds under every strategy, each run as a
// controlled run that finishes with every goroutine the run's own (no
// seam call from outside it, no blocking outside the seam), and every
// schedule, run again with the same choices, takes the same steps
// (Recheck). The bugs: a Wait that sleeps in the kernel or the netpoller
// (uncontrolled blocking), timers on the real clock or any other result
// that depends on more than the order of the steps (a schedule that does
// not repeat), a harness that fails a correct queue (a false alarm).
func TestScheduledRoundsPassAndRepeat(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	hangAfter(t, 60*time.Second)
	t.Cleanup(eventqtest.CloseLeaked)
	for _, s := range []string{"random", "pct:3", "dfs:1"} {
		c := eventqtest.Check{Seed: 0x5eed, Rounds: 60, Schedule: parse(t, s), Recheck: true, New: badQueue(eventqtest.Correct)}
		budget := 3 * time.Second
		if s == "dfs:1" {
			// Every schedule of even a small program is thousands: a
			// second of them, the exploration cut short.
			c.Rounds, c.Clients, c.Ops, budget = 1, 2, 2, time.Second
		}
		ctx, cancel := context.WithTimeout(t.Context(), budget)
		_, sum, err := c.Run(ctx, nil)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if sum.Schedules == 0 || sum.Rounds == 0 {
			t.Fatalf("%s: ran nothing: %+v", s, sum)
		}
		t.Logf("%s: %d rounds, %d schedules (each run twice), %d exhausted", s, sum.Rounds, sum.Schedules, sum.Exhausted)
	}
	// Outside and the outcome, which the round's result leaves out.
	r := eventqtest.GenRound(linearize.NewGen(0x5eed, 1).Intn, 3, 8)
	for seed := range uint64(20) {
		res, sr, err := eventqtest.RunRoundScheduled(r, eventqtest.Options{}, parse(t, "random").Explore(seed, 1).Next(nil))
		if err != nil || res.Failed() || sr.Outcome != seam.Finished || sr.Outside != 0 {
			t.Fatalf("schedule %d: %v, %v, %d seam calls outside the run: %s\n%s", seed, err, sr.Outcome, sr.Outside, sr.Failure, strings.Join(res.Problems, "\n"))
		}
	}
}

// The bugs of eventqtest.BadQueue, each caught by the campaign under PCT
// (depth 3) within a few rounds: cancel-race (a Cancel that races a
// firing), one-shot-twice, lent-twice, close-loses, deaf-rearm, fd-leak,
// cancel-true, wrong-events, wrong-error, and lost-wake, which free rounds
// cannot catch (a lost Wake only delays a Wait with a timeout) and a
// controlled one shows as a deadlock: the kernel client's last Wait has
// no timeout. The bug in the harness this catches: a known-bad queue
// passed by the controlled campaign.
func TestKnownBadsFoundByPCT(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	hangAfter(t, 60*time.Second)
	t.Cleanup(eventqtest.CloseLeaked)
	for bug := eventqtest.Correct + 1; !strings.HasPrefix(bug.String(), "Bug("); bug++ {
		if bug.FreeOnly() { // signals are free: see signal_test.go
			continue
		}
		c := eventqtest.Check{Name: "eventq-" + bug.String(), Seed: 0x5eed, Rounds: 100, Schedule: parse(t, "pct:3"),
			New: badQueue(bug), ReportDir: t.TempDir()}
		_, sum, err := c.Run(t.Context(), nil)
		var f *linearize.Failure
		if !errors.As(err, &f) || f.Token == "" {
			t.Errorf("%v: pct:3 passed it for %d rounds: %v", bug, sum.Rounds, err)
			continue
		}
		first := fmt.Sprintf("verdict %v, hung %v", f.Verdict, f.Hung)
		if len(f.Problems) > 0 {
			first = f.Problems[0]
		}
		t.Logf("%v: caught in round %d (%v): %.120s", bug, f.Round, f.Verdict, first)
	}
}

// Small programs, each of which some schedule within two preemptions
// turns into a failure of its known-bad queue.
var dfsPrograms = map[eventqtest.Bug][]eventqtest.Step{
	// A one-shot on a writable fd fires at once; its Cancel must come
	// while the Wait that read it holds it in flight.
	eventqtest.CancelRace:   {{Kind: eventqtest.RegisterStep, Arg: 6}, {Kind: eventqtest.CancelStep, Arg: 0}},
	eventqtest.OneShotTwice: {{Kind: eventqtest.RegisterStep, Arg: 6}},
	eventqtest.LentTwice:    {{Kind: eventqtest.RegisterStep, Arg: 11}},
	eventqtest.CloseLoses:   {{Kind: eventqtest.RegisterStep, Arg: 0}},
	eventqtest.DeafRearm:    {{Kind: eventqtest.RegisterStep, Arg: 16}, {Kind: eventqtest.RearmStep, Arg: 0}},
	eventqtest.LeaksFd:      {{Kind: eventqtest.RegisterStep, Arg: 0}},
	eventqtest.CancelTrue:   {{Kind: eventqtest.RegisterStep, Arg: 0}, {Kind: eventqtest.CancelStep, Arg: 0}, {Kind: eventqtest.CancelStep, Arg: 0}},
	eventqtest.WrongEvents:  {{Kind: eventqtest.RegisterStep, Arg: 6}},
	eventqtest.WrongError:   {{Kind: eventqtest.RegisterStep, Arg: 12}},
	eventqtest.LostWake:     {{Kind: eventqtest.RegisterStep, Arg: 0}},
}

// Every known-bad queue is caught by DFS (two preemptions) on a small
// program of its own (dfsPrograms), and the real queue passes every
// schedule of the same programs. The bugs: those of
// TestKnownBadsFoundByPCT; here a search that misses one of them, or
// fails the real queue, on a program where it cannot be missed.
func TestKnownBadsFoundByDFS(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	hangAfter(t, 60*time.Second)
	t.Cleanup(eventqtest.CloseLeaked)
	explore := func(bug eventqtest.Bug, r eventqtest.Round, most int) (schedules int, failed bool, why string) {
		ex := parse(t, "dfs:2").Explore(0x5eed, 0)
		var prev *seam.Result
		for ch := ex.Next(nil); ch != nil && schedules < most; ch = ex.Next(prev) {
			res, sr, err := eventqtest.RunRoundScheduled(r, eventqtest.Options{New: badQueue(bug), KernelSeed: 1}, ch)
			if err != nil {
				t.Fatal(err)
			}
			schedules++
			if res.Failed() {
				return schedules, true, fmt.Sprintf("%v %v %v", res.Verdict, res.Hung, res.Problems)
			}
			prev = &sr
		}
		return schedules, false, fmt.Sprintf("exhausted %v", schedule.Exhausted(ex))
	}
	for bug := eventqtest.Correct + 1; !strings.HasPrefix(bug.String(), "Bug("); bug++ {
		if bug.FreeOnly() {
			continue
		}
		prog, ok := dfsPrograms[bug]
		if !ok {
			t.Errorf("%v: no program", bug)
			continue
		}
		r := eventqtest.Round{Clients: [][]eventqtest.Step{prog}}
		begin := time.Now()
		n, failed, why := explore(bug, r, 2000)
		if !failed {
			t.Errorf("%v: dfs:2 passed %d schedules of %v (%s)", bug, n, r, why)
			continue
		}
		t.Logf("%v: caught at schedule %d (%v): %.150s", bug, n, time.Since(begin), why)
		begin = time.Now()
		n, failed, why = explore(eventqtest.Correct, r, 200)
		if failed || n == 0 {
			t.Errorf("the real queue, on %v's program: schedule %d: %s", bug, n, why)
		}
		t.Logf("the real queue passed %d schedules of it (%v): %s", n, time.Since(begin), why)
	}
}

// A failure found under PCT replays exactly from its token: the same
// failure, by the same steps (the token, hash and all, and the problems),
// 10 times in 10; a token cut short is stale, never a pass; one of
// another scenario is refused. The bugs: a failure whose token does not
// reproduce it (uncontrolled nondeterminism in the queue or the engine),
// and a Replay that passes a token it did not follow.
func TestFailureReplaysExactly(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	hangAfter(t, 60*time.Second)
	c := eventqtest.Check{Seed: 0x5eed, Rounds: 100, Schedule: parse(t, "pct:3"), New: badQueue(eventqtest.CancelRace), ReportDir: t.TempDir()}
	_, _, err := c.Run(t.Context(), nil)
	var f *linearize.Failure
	if !errors.As(err, &f) || f.Token == "" {
		t.Fatalf("pct:3 did not catch cancel-race: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"token: " + f.Token, "replay exactly: go run -tags sched ./cmd/insideout replay " + f.Token, "schedule: "} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure lacks %q:\n%s", want, msg)
		}
	}
	tok, err := schedule.ParseToken(f.Token)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Scenario != eventqtest.Scenario || tok.Clients != 3 || tok.Ops != 8 || tok.Strategy != "pct:3" {
		t.Fatalf("token %+v", tok)
	}
	for i := range 10 {
		err := c.Replay(tok)
		var again *linearize.Failure
		if !errors.As(err, &again) || again.Token != f.Token || again.Verdict != f.Verdict || again.Hung != f.Hung ||
			strings.Join(again.Problems, "\n") != strings.Join(f.Problems, "\n") {
			t.Fatalf("replay %d of 10 differs from the failure:\n%v\nthe failure:\n%v", i+1, err, msg)
		}
	}
	t.Logf("caught in round %d, replayed 10 of 10 (%s)", f.Round, f.Schedule)

	cut := tok
	cut.Choices = cut.Choices[:len(cut.Choices)/2]
	if err := c.Replay(cut); err == nil || !strings.Contains(err.Error(), "stale token") {
		t.Fatalf("a cut token: %v", err)
	}
	other := tok
	other.Scenario = "queue"
	if err := c.Replay(other); err == nil || errors.As(err, &f) {
		t.Fatalf("another scenario's token: %v", err)
	}
}

// The event-queue campaign is controlled, and its Replay takes the event
// queue's tokens: a schedule that passed replays to a pass, the same
// decisions with another hash are a stale token, and a token of another
// scenario is not its own. The bugs: the campaign left to run free under
// verify -sched, or its tokens unknown to insideout replay.
func TestCampaignControlledAndReplays(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	hangAfter(t, 60*time.Second)
	var cp campaign.Campaign
	for _, c := range campaign.All() {
		if c.Name == "eventq" {
			cp = c
		}
	}
	if !cp.Controlled || cp.Replay == nil {
		t.Fatalf("the eventq campaign: Controlled %v, Replay %v", cp.Controlled, cp.Replay != nil)
	}
	r := eventqtest.GenRound(linearize.NewGen(0x5eed, 3).Intn, 3, 4)
	res, sr, err := eventqtest.RunRoundScheduled(r, eventqtest.Check{}.RoundOptions(0x5eed, 3), parse(t, "pct:3").Explore(0x5eed, 3).Next(nil))
	if err != nil || res.Failed() || sr.Outcome != seam.Finished {
		t.Fatalf("%v %v %v", err, res.Problems, sr.Failure)
	}
	tok := schedule.Token{Scenario: eventqtest.Scenario, Seed: 0x5eed, Round: 3, Clients: 3, Ops: 4, Strategy: "pct:3", Choices: sr.Choices, Hash: sr.Hash}
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
