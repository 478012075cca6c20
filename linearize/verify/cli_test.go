package verify

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/schedule"
	"github.com/insideout-go/insideout/spec"
	"go.uber.org/goleak"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// TestMain checks that no test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// invoke runs the command with args against campaigns and returns its exit
// status, standard output and standard error.
func invoke(t *testing.T, ctx context.Context, campaigns []campaign.Campaign, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(ctx, args, &stdout, &stderr, campaigns)
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
		code := Run(ctx, args, &stdout, &stderr, campaigns)
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

// row returns the cells of the table row for primitive in out, by the
// names of their columns in the table's header, or nil. Every row must
// have a cell under every column.
func row(out, primitive string) map[string]string {
	var header []string
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "primitive":
			header = f
		case header != nil && len(f) == len(header) && f[0] == primitive:
			r := make(map[string]string)
			for i, h := range header {
				r[h] = f[i]
			}
			return r
		}
	}
	return nil
}

func TestVerifyQueue(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
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
	if n, err := strconv.Atoi(r["rounds"]); err != nil || n == 0 {
		t.Errorf("queue rounds = %q, want a nonzero count", r["rounds"])
	}
	if r["illegal"] != "0" || r["unknown"] != "0" || r["hangs"] != "0" || r["panics"] != "0" {
		t.Errorf("queue row reports failures: %v", r)
	}
}

// The output names the seed and the command that replays the run. (One
// campaign for 300ms: six in 100ms, 17ms each, left the first with no
// round, INCOMPLETE, under -race on a loaded machine.)
func TestVerifySeed(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	code, out, _ := invoke(t, t.Context(), campaign.All(),
		"verify", "-duration", "300ms", "-only", "queue", "-seed", "0x2a", "-report-dir", t.TempDir())
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	if !strings.Contains(out, "seed 0x2a") {
		t.Errorf("output does not give seed 0x2a")
	}
	// The default -sched is free in an ordinary build, pct:3 in one with
	// -tags sched, chaos in one with -tags chaos, whose replay needs the
	// tag and the strategy.
	replay := "go run ./cmd/insideout verify -seed 0x2a -only queue)\n"
	switch {
	case seam.Enabled:
		replay = "go run -tags sched ./cmd/insideout verify -seed 0x2a -sched pct:3 -only queue)\n"
	case chaos.Enabled:
		replay = "go run -tags chaos ./cmd/insideout verify -seed 0x2a -sched chaos -only queue)\n"
	}
	if !strings.Contains(out, replay) {
		t.Errorf("output does not say how to replay seed 0x2a: %s", replay)
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
	testdeadline.Guard(t, testdeadline.Default)
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
	if r["illegal"] != "1" {
		t.Errorf("stack row: illegal = %s, want 1", r["illegal"])
	}
	if after.ran || row(out, "after") != nil {
		t.Errorf("a campaign ran after the failed one")
	}
}

func TestVerifyUnknownFails(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	unknown := &fake{
		name: "undecided",
		sum:  linearize.Summary{Rounds: 1, Histories: 1, Unknown: 1},
		err:  &linearize.Failure{Scenario: "undecided", Seed: 0x2a, Verdict: linearize.Unknown},
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
	testdeadline.Guard(t, testdeadline.Default)
	a, b := &fake{name: "a"}, &fake{name: "b"}
	dir := t.TempDir()
	code, _, _ := invoke(t, t.Context(), []campaign.Campaign{a.campaign(), b.campaign()},
		"verify", "-duration", "2s", "-seed", "42", "-clients", "5", "-ops", "7", "-check-timeout", "3s", "-report-dir", dir)
	if code != exitPass {
		t.Fatalf("exit %d, want %d", code, exitPass)
	}
	want := campaign.Options{Seed: 42, Clients: 5, OpsPerClient: 7, ReportDir: dir, CheckTimeout: 3 * time.Second}
	if seam.Enabled {
		want.Schedule = schedule.PCT{Depth: 3} // the default -sched of a build with -tags sched
	}
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
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
	if r := row(out, "first"); r == nil || r["rounds"] != "3" {
		t.Errorf("table lacks the interrupted campaign's row: %v", r)
	}
	if second.ran || row(out, "second") != nil {
		t.Errorf("a campaign ran after the interrupt")
	}
}

func TestVerifyProgress(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
