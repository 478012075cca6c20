package verify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// verdictLine returns the last line of out, where verify's verdict goes.
func verdictLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// A run whose share is too short for a round is INCOMPLETE, not a pass.
// The bug this catches: -duration 1ns -only queue ran no round and exited
// 0, a pass that checked nothing.
func TestVerifyNoRound(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	code, out, _ := invoke(t, t.Context(), campaign.All(), "verify", "-duration", "1ns", "-only", "queue", "-report-dir", t.TempDir())
	if code != exitIncomplete {
		t.Errorf("exit %d, want %d", code, exitIncomplete)
	}
	if got, want := verdictLine(out), "verify: INCOMPLETE: queue ran no round"; got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}

	// So is a campaign that returns with no round among ones that pass.
	a, b := &fake{name: "a"}, &fake{name: "b", idle: true}
	code, out, _ = invoke(t, t.Context(), []campaign.Campaign{a.campaign(), b.campaign()}, "verify", "-duration", "1s")
	if code != exitIncomplete || verdictLine(out) != "verify: INCOMPLETE: b ran no round" {
		t.Errorf("exit %d, verdict %q; want %d and b's missing round", code, verdictLine(out), exitIncomplete)
	}
}

// Every run ends with a verdict line that tallies campaigns, rounds and
// failures. The bug this catches: a run that ended without saying whether
// it passed, leaving the reader to scan the table.
func TestVerifyVerdict(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	a := &fake{name: "a", sum: linearize.Summary{Rounds: 2}}
	b := &fake{name: "b", sum: linearize.Summary{Rounds: 3}}
	code, out, _ := invoke(t, t.Context(), []campaign.Campaign{a.campaign(), b.campaign()}, "verify", "-duration", "1s")
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	if got, want := verdictLine(out), "verify: PASS: 2 campaigns, 5 rounds, 0 failures"; got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}
	bad := &fake{name: "bad", sum: linearize.Summary{Rounds: 4, Hangs: 1}}
	code, out, _ = invoke(t, t.Context(), []campaign.Campaign{a.campaign(), bad.campaign(), b.campaign()}, "verify", "-duration", "1s")
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	if got, want := verdictLine(out), "verify: FAIL: bad: 1 hang; 2 campaigns, 6 rounds, 1 failure"; got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}
}

// The header gives each campaign's share rounded. The bug this catches:
// "1.666666666s each".
func TestVerifyHeaderRoundsShare(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	fakes := []campaign.Campaign{(&fake{name: "a"}).campaign(), (&fake{name: "b"}).campaign(), (&fake{name: "c"}).campaign()}
	_, _, errs := invoke(t, t.Context(), fakes, "verify", "-duration", "5s")
	if !strings.Contains(errs, "3 campaign(s), 1.667s each, schedule ") {
		t.Errorf("header does not give the share as 1.667s")
	}
}

// A campaign whose round runs past its share takes the time from the
// next one, so that the run keeps to -duration, but leaves it a quarter
// of its share at least. The bugs this catches: every campaign got its full
// share whatever the ones before it took, and a 3 s run took 10.8 s; and,
// the other way, one slow round (a collection, a loaded machine) leaving
// the next campaign no time for a round, a short run INCOMPLETE for it.
func TestVerifyOverrunShortensNext(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		over     time.Duration // how long the first campaign runs past its 1s share
		min, max time.Duration // the second's share
	}{
		{300 * time.Millisecond, 0, 800 * time.Millisecond},
		{1200 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond},
	} {
		slow := &fake{name: "slow"}
		slow.before = func() { time.Sleep(slow.deadline + tc.over) }
		next := &fake{name: "next"}
		code, _, _ := invoke(t, t.Context(), []campaign.Campaign{slow.campaign(), next.campaign()}, "verify", "-duration", "2s")
		if code != exitPass {
			t.Fatalf("exit %d, want %d", code, exitPass)
		}
		if next.deadline < tc.min || next.deadline > tc.max {
			t.Errorf("the campaign after one that ran %v over got %v, want %v to %v", tc.over, next.deadline, tc.min, tc.max)
		}
	}
}

// An interrupt before the first campaign starts is INCOMPLETE too, and
// says how many campaigns ran. The bug this catches: an interrupt between
// campaigns (here, before the first) exiting 0 with an empty table.
func TestVerifyInterruptedBetween(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := &fake{name: "a"}
	code, out, _ := invoke(t, ctx, []campaign.Campaign{a.campaign(), (&fake{name: "b"}).campaign()}, "verify", "-duration", "1s")
	if code != exitIncomplete {
		t.Errorf("exit %d, want %d", code, exitIncomplete)
	}
	if got, want := verdictLine(out), "verify: INCOMPLETE: interrupted after 0 of 2 campaigns"; got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}
	if a.ran {
		t.Errorf("a campaign ran after the interrupt")
	}
}

// shortGrace sets overrunGrace to 100ms for the test, and returns a
// channel that the test's cleanup closes: a campaign that waits on it
// outlives its share, and ends when the test does.
func shortGrace(t *testing.T) <-chan struct{} {
	old := overrunGrace
	overrunGrace = 100 * time.Millisecond
	release := make(chan struct{})
	t.Cleanup(func() {
		overrunGrace = old
		close(release)
	})
	return release
}

// A campaign still in a round overrunGrace after its share ended is
// stopped: verify returns without waiting for it, runs no further
// campaign, shows what its progress last reported, writes the goroutines'
// stacks, and says INCOMPLETE. The bug this catches: a round whose check
// ran 10 s made a 3 s run take 10.8 s.
func TestVerifyStopsOverrun(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	release := shortGrace(t)
	dir := t.TempDir()
	stuck := campaign.Campaign{
		Name: "stuck",
		Run: func(ctx context.Context, o campaign.Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
			progress(linearize.Summary{Rounds: 7, Ops: 70})
			<-release // a round that outlives the share
			progress(linearize.Summary{Rounds: 8, Ops: 80})
			return o.Seed, linearize.Summary{Rounds: 8, Ops: 80}, nil
		},
	}
	after := &fake{name: "after"}
	code, out, errs := invokeWithin(t, 5*time.Second, t.Context(), []campaign.Campaign{stuck, after.campaign()},
		"verify", "-duration", "400ms", "-seed", "0x2a", "-report-dir", dir)
	if code != exitIncomplete {
		t.Fatalf("exit %d, want %d", code, exitIncomplete)
	}
	if after.ran || row(out, "after") != nil {
		t.Errorf("a campaign ran while a stopped one was still running")
	}
	if r := row(out, "stuck"); r == nil || r["rounds"] != "7" {
		t.Errorf("stuck's row %v, want the 7 rounds its progress reported", r)
	}
	if got, want := verdictLine(out), "verify: INCOMPLETE: stuck was stopped, still in a round 100ms after its share ended"; got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}
	if !strings.Contains(errs, "-clients or -ops, lower -check-timeout, or raise -duration") {
		t.Errorf("stderr does not say what to change")
	}
	dump := filepath.Join(dir, "stuck-seed-0x2a-stopped-goroutines.txt")
	if b, err := os.ReadFile(dump); err != nil || !strings.Contains(string(b), "TestVerifyStopsOverrun") {
		t.Errorf("no goroutine dump with the stuck round in %s: %v", dump, err)
	}
	if !strings.Contains(errs, dump) {
		t.Errorf("stderr does not name the dump %s", dump)
	}
}

// An interrupt stops waiting for a round in progress after overrunGrace
// too. The bug this catches: Ctrl-C left verify waiting for a round (and
// its check) to end, up to 10 s and more.
func TestVerifyInterruptStopsRound(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	release := shortGrace(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stuck := campaign.Campaign{
		Name: "stuck",
		Run: func(ctx context.Context, o campaign.Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
			cancel()
			<-release
			return o.Seed, linearize.Summary{Rounds: 1}, nil
		},
	}
	code, out, errs := invokeWithin(t, 5*time.Second, ctx, []campaign.Campaign{stuck}, "verify", "-duration", "1h", "-report-dir", t.TempDir())
	if code != exitIncomplete {
		t.Errorf("exit %d, want %d", code, exitIncomplete)
	}
	if got, want := verdictLine(out), "verify: INCOMPLETE: interrupted during stuck, campaign 1 of 1, its round left unfinished"; got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}
	if strings.Contains(errs, "STOPPED") {
		t.Errorf("stderr blames the share for what the interrupt did")
	}
}

// A failure's message keeps one replay line, the command's, and prints a
// long program's first lines, the whole program going to a file in
// -report-dir; an Unknown says which sizes to reduce or to raise
// -check-timeout. The bugs this catches: a second replay line ending
// "(same test)", meaningless on the command line; a hundred program lines
// burying the rest; and an Unknown on a correct queue with no word on
// what to change.
func TestVerifyFailureMessage(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	dir := t.TempDir()
	var prog strings.Builder
	for i := range 100 {
		fmt.Fprintf(&prog, "    client %d: push(%d); pop()\n", i, i)
	}
	undecided := &fake{
		name: "undecided",
		sum:  linearize.Summary{Rounds: 3, Histories: 3, Unknown: 1},
		err:  &linearize.Failure{Scenario: "undecided", Seed: 0x2a, Round: 2, Verdict: linearize.Unknown, Program: prog.String()},
	}
	code, _, errs := invoke(t, t.Context(), []campaign.Campaign{undecided.campaign()},
		"verify", "-duration", "1s", "-seed", "0x2a", "-clients", "100", "-ops", "100", "-check-timeout", "3s", "-report-dir", dir)
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	if strings.Contains(errs, "(same test)") {
		t.Errorf("stderr has the test's replay line")
	}
	if n := strings.Count(errs, "replay"); n != 1 {
		t.Errorf("%d replay lines, want 1", n)
	}
	run := "go run ./cmd/insideout verify -seed 0x2a" // a campaign not controlled ran free
	if chaos.Enabled && !seam.Enabled {
		run = "go run -tags chaos ./cmd/insideout verify -seed 0x2a -sched chaos"
	}
	if want := "replay this round: INSIDEOUT_ROUND=2 " + run + " -only undecided -clients 100 -ops 100 -check-timeout 3s\n"; !strings.Contains(errs, want) {
		t.Errorf("stderr lacks %q", want)
	}
	if n := strings.Count(errs, "    client "); n != maxProgramLines {
		t.Errorf("%d program lines printed, want %d", n, maxProgramLines)
	}
	file := filepath.Join(dir, "undecided-seed-0x2a-round-2-program.txt")
	if want := "    ... 80 more lines; the full program is in " + file + "\n"; !strings.Contains(errs, want) {
		t.Errorf("stderr lacks %q", want)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != prog.String() {
		t.Errorf("the program file does not hold the whole program: %v", err)
	}
	if want := "-check-timeout 3s; it found no fault. Make histories smaller with -clients or -ops (now 100 and 100), or raise -check-timeout"; !strings.Contains(errs, want) {
		t.Errorf("stderr lacks the advice %q", want)
	}
}

// -check-timeout reaches the checker: a history too large to check in 1ms
// is Unknown at once, not after the default 10 s. The bug this catches:
// no way to bound the checker's time from the command line, so a large
// round ran 10 s past a 3 s budget.
func TestVerifyCheckTimeoutReachesChecker(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	begin := time.Now()
	code, out, _ := invokeWithin(t, 20*time.Second, t.Context(), campaign.All(), "verify", "-only", "queue", "-duration", "5s",
		"-clients", "40", "-ops", "100", "-check-timeout", "1ms", "-seed", "0x2a", "-report-dir", t.TempDir())
	if took := time.Since(begin); took > 4*time.Second {
		t.Errorf("verify took %v; the checker's limit was 1ms", took)
	}
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	if r := row(out, "queue"); r == nil || r["unknown"] != "1" {
		t.Errorf("queue row %v, want one Unknown", r)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"verify", "-h"}, {"replay", "-h"}} {
		code, out, _ := invoke(t, t.Context(), campaign.All(), args...)
		if code != exitPass {
			t.Errorf("%q: exit %d, want %d", args, code, exitPass)
		}
		for _, want := range []string{"usage: insideout", "verify", "-duration", "-seed", "-only", "-report-dir", "-sched", "replay TOKEN", "Exit status of replay"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: usage lacks %q", args, want)
			}
		}
	}
}

func TestList(t *testing.T) {
	code, out, _ := invoke(t, t.Context(), campaign.All(), "list")
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	for _, c := range campaign.All() {
		if !strings.Contains(out, c.Name) || !strings.Contains(out, c.Doc) {
			t.Errorf("list lacks %s and its doc", c.Name)
		}
	}
	for _, name := range []string{"queue", "mailbox", "runtime", "pool", "continuation", "eventq", "semaphore", "cubby", "backlog"} {
		if !strings.Contains(out, name) {
			t.Errorf("list lacks %s", name)
		}
	}
}

// held is what the keeping campaign of TestLiveHeapColumn keeps.
var held [][]byte

// The live-heap column shows what the campaigns hold after a collection:
// a campaign that keeps 64 MB shows it, one that only allocates 64 MB and
// lets go of it does not. It would catch a column that showed what was
// allocated, or the heap before a collection, or nothing.
func TestLiveHeapColumn(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const size = 64 << 20
	t.Cleanup(func() { held = nil })
	keeper := &fake{name: "keeper", calls: 1, before: func() { held = append(held, make([]byte, size)) }}
	churner := &fake{name: "churner", calls: 1, before: func() {
		for range 64 {
			b := make([]byte, 1<<20)
			b[0] = 1
		}
	}}
	code, out, _ := invoke(t, t.Context(), []campaign.Campaign{churner.campaign(), keeper.campaign()}, "verify", "-duration", "1s")
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	mb := func(name string) float64 {
		r := row(out, name)
		if r == nil {
			t.Fatalf("no %s row", name)
		}
		v, err := strconv.ParseFloat(strings.TrimSuffix(r["live-heap"], "MB"), 64)
		if err != nil || !strings.HasSuffix(r["live-heap"], "MB") {
			t.Fatalf("%s's live heap %q: not a number of MB", name, r["live-heap"])
		}
		return v
	}
	churned, kept := mb("churner"), mb("keeper")
	if churned > 32 {
		t.Errorf("a campaign that kept nothing shows %.1f MB live", churned)
	}
	if kept-churned < 60 {
		t.Errorf("a campaign that kept 64 MB shows %.1f MB live, after %.1f", kept, churned)
	}
}

// A campaign of a user's own (campaign.FromScenario) runs beside
// insideout's, in the same table, with the options applied. It would
// catch FromScenario ignoring the seed or the sizes, or a campaign of
// one's own that the table leaves out.
func TestOwnCampaignBesideInsideouts(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var seen []string
	mine := campaign.FromScenario("mine", "a queue of my own",
		func() linearize.Scenario[spec.Queue[int], model.QueueInput, model.QueueOutput] {
			sc := queuetest.Scenario("", queuetest.NewQueue)
			sc.Finally = func(q spec.Queue[int], c linearize.Caller[model.QueueInput, model.QueueOutput]) {
				seen = append(seen, "finally")
				queuetest.Drain(q, c)
			}
			return sc
		})
	code, out, _ := invoke(t, t.Context(), append(campaign.All(), mine),
		"verify", "-duration", "400ms", "-only", "queue,mine", "-seed", "0x2a", "-clients", "2", "-ops", "3", "-report-dir", t.TempDir())
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	r := row(out, "mine")
	if r == nil || row(out, "queue") == nil {
		t.Fatalf("the table lacks a row for queue or mine:\n%s", out)
	}
	rounds, _ := strconv.Atoi(r["rounds"])
	ops, _ := strconv.Atoi(r["operations"])
	if rounds == 0 || len(seen) != rounds {
		t.Fatalf("mine ran %s rounds, its Finally %d times", r["rounds"], len(seen))
	}
	// 2 clients x 3 ops, then the drain's Len and at least one pop.
	if per := ops / rounds; per < 8 || per > 8+6 {
		t.Errorf("%d operations a round, want 6 and the drain: -clients or -ops not applied", per)
	}
}
