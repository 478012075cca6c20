package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/spec"
	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// invoke runs the command with args against campaigns and returns its exit
// status, standard output and standard error.
func invoke(t *testing.T, ctx context.Context, campaigns []campaign.Campaign, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr, campaigns)
	t.Logf("insideout %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

// invokeWithin is invoke, failing the test if the command has not
// returned within limit: for the tests of how long verify waits. The
// command goes on in the background then, until the test's cleanups
// release what it waits for.
func invokeWithin(t *testing.T, limit time.Duration, ctx context.Context, campaigns []campaign.Campaign, args ...string) (int, string, string) {
	t.Helper()
	type ran struct {
		code        int
		out, errOut string
	}
	done := make(chan ran, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		code := run(ctx, args, &stdout, &stderr, campaigns)
		done <- ran{code, stdout.String(), stderr.String()}
	}()
	select {
	case r := <-done:
		t.Logf("insideout %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.out, r.errOut)
		return r.code, r.out, r.errOut
	case <-time.After(limit):
		t.Fatalf("insideout %s: still running after %v", strings.Join(args, " "), limit)
		return 0, "", ""
	}
}

// row returns the fields of the table row for primitive in out, or nil.
func row(out, primitive string) []string {
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) == 10 && f[0] == primitive {
			return f
		}
	}
	return nil
}

func TestVerifyQueue(t *testing.T) {
	code, out, _ := invoke(t, t.Context(), campaign.All(),
		"verify", "-duration", "500ms", "-report-dir", t.TempDir())
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	if !strings.Contains(out, "primitive") || !strings.Contains(out, "operations") {
		t.Errorf("no table header in output")
	}
	r := row(out, "queue")
	if r == nil {
		t.Fatalf("no queue row in output")
	}
	if n, err := strconv.Atoi(r[1]); err != nil || n == 0 {
		t.Errorf("queue rounds = %q, want a nonzero count", r[1])
	}
	if r[4] != "0" || r[5] != "0" || r[6] != "0" || r[7] != "0" {
		t.Errorf("queue row reports failures: %v", r)
	}
}

func TestVerifySeed(t *testing.T) {
	code, out, _ := invoke(t, t.Context(), campaign.All(),
		"verify", "-duration", "100ms", "-seed", "0x2a", "-report-dir", t.TempDir())
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	if !strings.Contains(out, "seed 0x2a") {
		t.Errorf("output does not give seed 0x2a")
	}
	if !strings.Contains(out, "go run ./cmd/insideout verify -seed 0x2a") {
		t.Errorf("output does not say how to replay seed 0x2a")
	}
}

// stack is a deliberately wrong spec.Queue[int]: Pop returns the newest
// item, not the oldest.
type stack struct {
	mu    sync.Mutex
	items []*int
}

func (s *stack) Push(v *int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, v)
}

func (s *stack) Pop() *int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) == 0 {
		return nil
	}
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v
}

func (s *stack) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// stackCampaign is a campaign that checks the stack against the queue
// model, and so fails.
func stackCampaign() campaign.Campaign {
	return campaign.Campaign{
		Name: "stack",
		Doc:  "a stack posing as a queue: must fail",
		Run: func(ctx context.Context, o campaign.Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
			sc := queuetest.Scenario("stack", func() spec.Queue[int] { return new(stack) })
			sc.Seed = o.Seed // verify resolves the seed once, for every campaign
			sc.ReportDir = o.ReportDir
			sc.Rounds = -1
			sum, err := sc.RunContext(ctx, progress)
			return sc.Seed, sum, err
		},
	}
}

// fake is a campaign that returns sum and err without running anything,
// after calling progress a few times; it records how it was run. Unless
// idle, its summary counts at least one round, as a campaign's does.
type fake struct {
	name   string
	sum    linearize.Summary
	err    error
	calls  int
	before func() // called first, if set
	idle   bool   // return sum as it is, even with no round

	opts     campaign.Options
	deadline time.Duration // left on the context when it was called
	ran      bool
}

func (f *fake) campaign() campaign.Campaign {
	return campaign.Campaign{
		Name: f.name,
		Doc:  "fake " + f.name,
		Run: func(ctx context.Context, o campaign.Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
			f.ran, f.opts = true, o
			if d, ok := ctx.Deadline(); ok {
				f.deadline = time.Until(d)
			}
			if f.before != nil {
				f.before()
			}
			for i := range f.calls {
				progress(linearize.Summary{Rounds: i + 1, Ops: 10 * (i + 1)})
			}
			sum := f.sum
			if !f.idle && sum.Rounds == 0 {
				sum.Rounds = 1
			}
			return o.Seed, sum, f.err
		},
	}
}

func TestVerifyFailure(t *testing.T) {
	dir := t.TempDir()
	after := &fake{name: "after"}
	code, out, errs := invoke(t, t.Context(), []campaign.Campaign{stackCampaign(), after.campaign()},
		"verify", "-duration", "20s", "-seed", "0x2a", "-report-dir", dir)
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	if !strings.Contains(errs, "not linearizable (Illegal)") {
		t.Errorf("stderr lacks the failure message")
	}
	if !strings.Contains(errs, "seed 0x2a") {
		t.Errorf("stderr lacks the replay seed")
	}
	m := regexp.MustCompile(`(?m)^violation: report at (.+)$`).FindStringSubmatch(errs)
	if m == nil {
		t.Fatalf("stderr lacks the line 'violation: report at <path>'")
	}
	if !strings.HasPrefix(m[1], dir) {
		t.Errorf("report %s is not in -report-dir %s", m[1], dir)
	}
	if fi, err := os.Stat(m[1]); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("report %s is not a file: %v", m[1], err)
	}
	r := row(out, "stack")
	if r == nil {
		t.Fatalf("no stack row in the table")
	}
	if r[4] != "1" {
		t.Errorf("stack row: illegal = %s, want 1", r[4])
	}
	if after.ran || row(out, "after") != nil {
		t.Errorf("a campaign ran after the failed one")
	}
}

func TestVerifyUnknownFails(t *testing.T) {
	unknown := &fake{
		name: "undecided",
		sum:  linearize.Summary{Rounds: 1, Histories: 1, Unknown: 1},
		err:  &linearize.Failure{Scenario: "undecided", Seed: 0x2a, Verdict: spec.Unknown},
	}
	code, _, errs := invoke(t, t.Context(), []campaign.Campaign{unknown.campaign()}, "verify", "-duration", "1s")
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	if !strings.Contains(errs, "Unknown, which is not a pass") {
		t.Errorf("stderr lacks the failure message")
	}
	if strings.Contains(errs, "violation: report at") {
		t.Errorf("stderr names a report, though the failure has none")
	}

	// A summary that counts failures fails even without an error.
	silent := &fake{name: "silent", sum: linearize.Summary{Rounds: 1, Hangs: 1}}
	if code, _, _ := invoke(t, t.Context(), []campaign.Campaign{silent.campaign()}, "verify", "-duration", "1s"); code != exitFail {
		t.Fatalf("exit %d for a summary with a hang, want %d", code, exitFail)
	}
}

func TestVerifyOptions(t *testing.T) {
	a, b := &fake{name: "a"}, &fake{name: "b"}
	dir := t.TempDir()
	code, _, _ := invoke(t, t.Context(), []campaign.Campaign{a.campaign(), b.campaign()},
		"verify", "-duration", "2s", "-seed", "42", "-clients", "5", "-ops", "7", "-check-timeout", "3s", "-report-dir", dir)
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	want := campaign.Options{Seed: 42, Clients: 5, OpsPerClient: 7, ReportDir: dir, CheckTimeout: 3 * time.Second}
	for _, f := range []*fake{a, b} {
		if f.opts != want {
			t.Errorf("%s got options %+v, want %+v", f.name, f.opts, want)
		}
		if f.deadline <= 500*time.Millisecond || f.deadline > time.Second {
			t.Errorf("%s got %v, want its share of 1s", f.name, f.deadline)
		}
	}
}

func TestVerifyRandomSeedShared(t *testing.T) {
	t.Setenv("INSIDEOUT_SEED", "")
	a, b := &fake{name: "a"}, &fake{name: "b"}
	code, out, _ := invoke(t, t.Context(), []campaign.Campaign{a.campaign(), b.campaign()}, "verify", "-duration", "1s")
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	if a.opts.Seed == 0 || a.opts.Seed != b.opts.Seed {
		t.Errorf("seeds %#x and %#x, want one nonzero seed for both", a.opts.Seed, b.opts.Seed)
	}
	if !strings.Contains(out, "seed "+"0x"+strconv.FormatUint(a.opts.Seed, 16)) {
		t.Errorf("output does not give the seed %#x", a.opts.Seed)
	}
}

func TestVerifyOnly(t *testing.T) {
	a, b := &fake{name: "a"}, &fake{name: "b"}
	code, out, _ := invoke(t, t.Context(), []campaign.Campaign{a.campaign(), b.campaign()},
		"verify", "-duration", "1s", "-only", "b")
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	if a.ran || !b.ran {
		t.Errorf("ran a: %v, b: %v; want only b", a.ran, b.ran)
	}
	if row(out, "a") != nil || row(out, "b") == nil {
		t.Errorf("table should have a row for b only")
	}
	if b.deadline <= 500*time.Millisecond {
		t.Errorf("b got %v, want all of 1s", b.deadline)
	}
}

// An interrupt during the first of two campaigns ends the run with the
// table of what ran, an INCOMPLETE verdict and exit status 3. The bug this
// catches: Ctrl-C after one of six campaigns exited 0, as if the run had
// passed.
func TestVerifyInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	first := &fake{name: "first", sum: linearize.Summary{Rounds: 3, Ops: 30, Histories: 3}, before: cancel}
	second := &fake{name: "second"}
	code, out, _ := invoke(t, ctx, []campaign.Campaign{first.campaign(), second.campaign()}, "verify", "-duration", "10s")
	if code != exitIncomplete {
		t.Fatalf("exit %d, want %d: an interrupted run is no pass", code, exitIncomplete)
	}
	if got, want := verdictLine(out), "verify: INCOMPLETE: interrupted during first, campaign 1 of 2"; got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}
	if r := row(out, "first"); r == nil || r[1] != "3" {
		t.Errorf("table lacks the interrupted campaign's row: %v", r)
	}
	if second.ran || row(out, "second") != nil {
		t.Errorf("a campaign ran after the interrupt")
	}
}

func TestVerifyProgress(t *testing.T) {
	old := progressInterval
	progressInterval = 0
	t.Cleanup(func() { progressInterval = old })
	f := &fake{name: "busy", calls: 3}
	code, _, errs := invoke(t, t.Context(), []campaign.Campaign{f.campaign()}, "verify", "-duration", "1s")
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	if !regexp.MustCompile(`(?m)^\[ +\d+s\] busy: 3 rounds, 30 ops, 0 illegal, 0 unknown, live heap \d+\.\dMB$`).MatchString(errs) {
		t.Errorf("stderr lacks the progress line")
	}
}

func TestProgressThrottled(t *testing.T) {
	var out bytes.Buffer
	p := &progress{w: &out, name: "q", start: time.Now(), last: time.Now()}
	for i := range 1000 {
		p.report(linearize.Summary{Rounds: i})
	}
	if out.Len() != 0 {
		t.Errorf("reported within the first interval: %q", out.String())
	}
	p.last = time.Now().Add(-2 * progressInterval)
	p.report(linearize.Summary{Rounds: 7})
	p.report(linearize.Summary{Rounds: 8})
	if got, want := out.String(), "[  0s] q: 7 rounds, 0 ops, 0 illegal, 0 unknown, live heap "; !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 1 {
		t.Errorf("reported %q, want %q", got, want)
	}
}

// A usage error prints one line and where the usage is, not the whole
// usage, and says what -seed and -duration expect. The bugs this catches:
// twenty lines of usage burying the one that matters, and "parse error"
// for a seed or duration with no word on the format wanted.
func TestUsageErrors(t *testing.T) {
	all := campaign.All()
	var names []string
	for _, c := range all {
		names = append(names, c.Name)
	}
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"verify", "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"verify", "-seed", "xyz"}, "-seed: want a non-zero number, decimal or 0x hex"},
		{[]string{"verify", "-seed", "0"}, "-seed: want a non-zero seed"},
		{[]string{"verify", "-duration", "5"}, "-duration: want a Go duration such as 30s, 10m"},
		{[]string{"verify", "-duration", "0s"}, "-duration must be positive"},
		{[]string{"verify", "-check-timeout", "0s"}, "-check-timeout must be positive"},
		{[]string{"verify", "-check-timeout", "ten"}, "-check-timeout: want a Go duration"},
		{[]string{"verify", "-clients", "-1"}, "-clients must not be negative"},
		{[]string{"verify", "extra"}, "unexpected arguments: extra"},
		{[]string{"verify", "-only", "queue,nosuch"}, `unknown campaign "nosuch" (known: ` + strings.Join(names, ", ") + ")"},
		{[]string{"list", "extra"}, "unexpected arguments"},
	} {
		code, out, errs := invoke(t, t.Context(), all, tc.args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, exitUsage)
		}
		if !strings.Contains(errs, tc.want) {
			t.Errorf("%q: stderr lacks %q", tc.args, tc.want)
		}
		see := "see 'insideout -h'"
		if len(tc.args) > 1 {
			see = "see 'insideout " + tc.args[0] + " -h'"
		}
		if lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n"); len(lines) != 2 || lines[1] != see {
			t.Errorf("%q: stderr is %d line(s), want the error and %q", tc.args, len(lines), see)
		}
		if out != "" {
			t.Errorf("%q: wrote to stdout: %q", tc.args, out)
		}
	}
	// With no command at all, the usage is what helps.
	if code, _, errs := invoke(t, t.Context(), all); code != exitUsage || !strings.Contains(errs, "usage: insideout") {
		t.Errorf("no command: exit %d, stderr without the usage", code)
	}
}

// verdictLine returns the last line of out, where verify's verdict goes.
func verdictLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// A run whose share is too short for a round is INCOMPLETE, not a pass.
// The bug this catches: -duration 1ns -only queue ran no round and exited
// 0, a pass that checked nothing.
func TestVerifyNoRound(t *testing.T) {
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
	fakes := []campaign.Campaign{(&fake{name: "a"}).campaign(), (&fake{name: "b"}).campaign(), (&fake{name: "c"}).campaign()}
	_, _, errs := invoke(t, t.Context(), fakes, "verify", "-duration", "5s")
	if !strings.Contains(errs, "3 campaign(s), 1.667s each\n") {
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
	if r := row(out, "stuck"); r == nil || r[1] != "7" {
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
	dir := t.TempDir()
	var prog strings.Builder
	for i := range 100 {
		fmt.Fprintf(&prog, "    client %d: push(%d); pop()\n", i, i)
	}
	undecided := &fake{
		name: "undecided",
		sum:  linearize.Summary{Rounds: 3, Histories: 3, Unknown: 1},
		err:  &linearize.Failure{Scenario: "undecided", Seed: 0x2a, Round: 2, Verdict: spec.Unknown, Program: prog.String()},
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
	if want := "replay this round: INSIDEOUT_ROUND=2 go run ./cmd/insideout verify -seed 0x2a -only undecided -clients 100 -ops 100 -check-timeout 3s\n"; !strings.Contains(errs, want) {
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
	begin := time.Now()
	code, out, _ := invokeWithin(t, 20*time.Second, t.Context(), campaign.All(), "verify", "-only", "queue", "-duration", "5s",
		"-clients", "40", "-ops", "100", "-check-timeout", "1ms", "-seed", "0x2a", "-report-dir", t.TempDir())
	if took := time.Since(begin); took > 4*time.Second {
		t.Errorf("verify took %v; the checker's limit was 1ms", took)
	}
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	if r := row(out, "queue"); r == nil || r[5] != "1" {
		t.Errorf("queue row %v, want one Unknown", r)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"verify", "-h"}} {
		code, out, _ := invoke(t, t.Context(), campaign.All(), args...)
		if code != exitPass {
			t.Errorf("%q: exit %d, want %d", args, code, exitPass)
		}
		for _, want := range []string{"usage: insideout", "verify", "-duration", "-seed", "-only", "-report-dir"} {
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
	for _, name := range []string{"queue", "mailbox", "runtime", "pool", "continuation"} {
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
		v, err := strconv.ParseFloat(strings.TrimSuffix(r[9], "MB"), 64)
		if err != nil || !strings.HasSuffix(r[9], "MB") {
			t.Fatalf("%s's live heap %q: not a number of MB", name, r[9])
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
