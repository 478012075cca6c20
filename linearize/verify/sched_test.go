//go:build sched

package verify

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/schedule"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// lateTailCampaign is a campaign of queuetest's ClaimsTailLate queue,
// which loses an item when two pushes read the same tail: the controlled
// scheduler finds it in the first rounds. Its model is the queue's, or,
// with anything, one that accepts every history: the same steps, checked
// by a model that finds nothing wrong.
func lateTailCampaign(anything bool) campaign.Campaign {
	return campaign.FromScenario("bad-queue", "queuetest's ClaimsTailLate queue: must fail",
		func() linearize.Scenario[spec.Queue[int], model.QueueInput, model.QueueOutput] {
			sc := queuetest.Scenario("bad-queue", func() spec.Queue[int] { return queuetest.BadQueue[int](queuetest.ClaimsTailLate, 0) })
			if anything {
				sc.Model = linearize.Model[struct{}, model.QueueInput, model.QueueOutput]{
					Init: func() struct{} { return struct{}{} },
					Step: func(struct{}, model.QueueInput, model.QueueOutput) (bool, struct{}) { return true, struct{}{} },
				}
			}
			return sc
		})
}

// verify -sched pct finds the lost item of a known-bad queue, prints a
// token that it has checked replays exactly, and insideout replay
// reproduces the failure from the token alone; a token whose hash no
// longer fits the steps is stale, one of no campaign's scenario unknown,
// both exit status 2; and a schedule that now passes says so. The bugs
// this catches: a failure under -sched with no token or a token that does
// not replay; replay answering PASS (or REPRODUCED) without running the
// token's schedule; and a stale token replayed as if it still named the
// failing schedule.
func TestVerifyFindsAndReplayReproduces(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	dir := t.TempDir()
	// Replays write their reports where the scenario's default puts them.
	t.Setenv("INSIDEOUT_REPORT_DIR", t.TempDir())
	bad := []campaign.Campaign{lateTailCampaign(false)}
	begin := time.Now()
	code, out, errs := invokeWithin(t, 10*time.Second, t.Context(), bad,
		"verify", "-sched", "pct", "-seed", "0x2a", "-duration", "5s", "-report-dir", dir)
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("verify took %v to find the bug", took)
	}
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	if !strings.Contains(errs, "not linearizable (Illegal)") {
		t.Errorf("stderr lacks the failure")
	}
	m := regexp.MustCompile(`(?m)^  token: (io1\.\S+)$`).FindStringSubmatch(errs)
	if m == nil {
		t.Fatalf("stderr lacks the token")
	}
	token := m[1]
	if want := "\n  replay exactly: go run -tags sched ./cmd/insideout replay " + token + "\n"; !strings.Contains(errs, want) {
		t.Errorf("stderr lacks %q", want)
	}
	tok, err := schedule.ParseToken(token)
	if err != nil {
		t.Fatal(err)
	}
	if want := "\nreplays exactly: same steps (trace hash " + "0x" + strconv.FormatUint(tok.Hash, 16) + ")\n"; !strings.Contains(errs, want) {
		t.Errorf("stderr lacks %q", want)
	}
	if strings.Contains(errs, "DOES NOT REPLAY") {
		t.Errorf("the token does not replay")
	}
	if want := "replay this round: INSIDEOUT_ROUND=" + strconv.Itoa(tok.Round) + " go run -tags sched ./cmd/insideout verify -seed 0x2a -sched pct:3 -only bad-queue\n"; !strings.Contains(errs, want) {
		t.Errorf("stderr lacks %q", want)
	}
	if r := row(out, "bad-queue"); r == nil || r["illegal"] != "1" || r["schedules"] != r["rounds"] {
		t.Errorf("row %v, want one Illegal and a schedule a round (PCT)", r)
	}
	if !strings.HasPrefix(out, "seed 0x2a, schedule pct:3 (replay: go run -tags sched ./cmd/insideout verify -seed 0x2a -sched pct:3)\n") {
		t.Errorf("the header does not name the strategy and its replay")
	}

	code, out, errs = invokeWithin(t, 5*time.Second, t.Context(), bad, "replay", token)
	if code != exitFail {
		t.Fatalf("replay: exit %d, want %d", code, exitFail)
	}
	if verdictLine(out) != "REPRODUCED" {
		t.Errorf("replay: last line %q, want REPRODUCED", verdictLine(out))
	}
	if !strings.Contains(errs, "replay: bad-queue FAILED\n") || !strings.Contains(errs, "not linearizable (Illegal)") || !strings.Contains(errs, "  token: "+token+"\n") {
		t.Errorf("replay: stderr lacks the reproduced failure")
	}

	// The same steps, checked by a model that accepts them: the schedule
	// no longer fails.
	code, out, _ = invokeWithin(t, 5*time.Second, t.Context(), []campaign.Campaign{lateTailCampaign(true)}, "replay", token)
	if code != exitPass || out != "PASS: the schedule no longer fails\n" {
		t.Errorf("replay of a schedule that passes: exit %d, stdout %q", code, out)
	}

	stale := tok
	stale.Hash++
	args := []string{"replay", stale.String()}
	code, out, errs = invokeWithin(t, 5*time.Second, t.Context(), bad, args...)
	if code != exitUsage || out != "" {
		t.Errorf("stale token: exit %d, stdout %q; want %d and nothing", code, out, exitUsage)
	}
	if !strings.HasPrefix(errs, "insideout replay: stale token: ") || strings.Count(errs, "\n") != 1 {
		t.Errorf("stale token: stderr %q, want one line saying it is stale", errs)
	}

	code, _, errs = invokeWithin(t, 5*time.Second, t.Context(), campaign.All(), "replay", token)
	if code != exitUsage {
		t.Errorf("a token of no campaign: exit %d, want %d", code, exitUsage)
	}
	oneLine(t, []string{"replay", token}, errs, `insideout replay: no campaign has a scenario named "bad-queue"`)
}

// Under a controlled strategy the campaigns that cannot be controlled
// run free beside the rest, and verify says which; the schedules column
// counts each controlled campaign's schedules (DFS adds how many programs
// it exhausted) and says free for the others; the verdict counts the
// schedules. The bugs this catches: continuation and eventq silently
// left out, or silently counted as explored.
func TestSchedControlledAndFree(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	ctl := &fake{name: "ctl", sum: linearize.Summary{Rounds: 4, Schedules: 40, Exhausted: 3}}
	kern := &fake{name: "kern", sum: linearize.Summary{Rounds: 2}}
	c := ctl.campaign()
	c.Controlled = true
	code, out, _ := invoke(t, t.Context(), []campaign.Campaign{c, kern.campaign()}, "verify", "-duration", "1s", "-sched", "dfs:1")
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	if ctl.opts.Schedule != (schedule.DFS{Preemptions: 1}) || kern.opts.Schedule != (schedule.DFS{Preemptions: 1}) {
		t.Errorf("Options.Schedule %v and %v, want dfs:1 for both (the campaign decides)", ctl.opts.Schedule, kern.opts.Schedule)
	}
	if want := "\nkern: not under the controlled scheduler (their engines wait outside impl/seam, so dfs:1 cannot drive them); they ran free\n\nprimitive "; !strings.Contains(out, want) {
		t.Errorf("stdout lacks, before the table, %q", want)
	}
	if r := row(out, "ctl"); r == nil || r["schedules"] != "40" || r["exhausted"] != "3" {
		t.Errorf("ctl's row %v, want 40 schedules, 3 exhausted", r)
	}
	if r := row(out, "kern"); r == nil || r["schedules"] != "free" || r["exhausted"] != "-" {
		t.Errorf("kern's row %v, want schedules free", r)
	}
	if got, want := verdictLine(out), "verify: PASS: 2 campaigns, 6 rounds, 40 schedules of dfs:1, 0 failures"; got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}

	// No exhausted column but under DFS.
	code, out, _ = invoke(t, t.Context(), []campaign.Campaign{c}, "verify", "-duration", "1s", "-sched", "random")
	if r := row(out, "ctl"); code != exitPass || r == nil || r["schedules"] != "40" || strings.Contains(out, "exhausted") || strings.Contains(out, "not under") {
		t.Errorf("-sched random: exit %d, row %v", code, r)
	}
}

// INSIDEOUT_TOKEN would make every controlled campaign replay it instead
// of exploring: verify refuses in one line and says how to replay it.
func TestSchedRefusesInsideoutToken(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	t.Setenv("INSIDEOUT_TOKEN", "io1.x")
	f := &fake{name: "a"}
	code, _, errs := invoke(t, t.Context(), []campaign.Campaign{f.campaign()}, "verify", "-duration", "1s")
	if code != exitUsage || f.ran {
		t.Errorf("exit %d, ran %v; want %d, nothing run", code, f.ran, exitUsage)
	}
	oneLine(t, []string{"verify"}, errs, `insideout verify: INSIDEOUT_TOKEN is set, which makes every controlled campaign replay it instead of exploring: unset it, or replay the token with go run -tags sched ./cmd/insideout replay "$INSIDEOUT_TOKEN"`)
	// Run free, it is no matter.
	if code, _, _ := invoke(t, t.Context(), []campaign.Campaign{f.campaign()}, "verify", "-duration", "1s", "-sched", "free"); code != exitPass {
		t.Errorf("-sched free: exit %d, want %d", code, exitPass)
	}
}
