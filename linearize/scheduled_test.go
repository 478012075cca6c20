//go:build sched

package linearize_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/internal/rapidcheck"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
	"pgregory.net/rapid"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// A Treiber stack whose top goes through the seam, so that the controlled
// scheduler can interleave its steps.
type seamStack struct{ top seam.Pointer[node] }

func (s *seamStack) Push(v int) {
	n := &node{v: v}
	for {
		n.next = s.top.Load()
		if s.top.CompareAndSwap(n.next, n) {
			return
		}
	}
}

func (s *seamStack) Pop() (int, bool) {
	for {
		top := s.top.Load()
		if top == nil {
			return 0, false
		}
		if s.top.CompareAndSwap(top, top.next) {
			return top.v, true
		}
	}
}

// racySeamStack loses a push that lands between its load and its store;
// unlike RacyStack it does nothing to widen the window, so a free run
// rarely sees the bug.
type racySeamStack struct{ seamStack }

func (s *racySeamStack) Push(v int) {
	n := &node{v: v, next: s.top.Load()}
	s.top.Store(n)
}

// Every strategy finds the lost push, and its token replays the failing
// round exactly: the same trace hash and failure, every time.
func TestScheduleFindsAndReplays(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, strategy := range []string{"random", "pct:2", "dfs:1"} {
		t.Run(strategy, func(t *testing.T) {
			st, err := schedule.Parse(strategy)
			if err != nil {
				t.Fatal(err)
			}
			sc := stackScenario("racy-stack", func() Stack { return &racySeamStack{} })
			sc.Schedule, sc.Seed, sc.Rounds, sc.Duration, sc.Clients, sc.OpsPerClient = st, 1, 200, 0, 2, 3
			_, err = sc.Run()
			var f *linearize.Failure
			if !errors.As(err, &f) || f.Token == "" {
				t.Fatalf("no failure with a token: %v", err)
			}
			tok, err := schedule.ParseToken(f.Token)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				var again *linearize.Failure
				if err := sc.Replay(tok); !errors.As(err, &again) || again.Verdict != f.Verdict || again.Token != f.Token {
					t.Fatalf("replay did not give the same failure: %v", err)
				}
			}
		})
	}
}

// The correct stack passes every strategy; DFS reports its programs
// exhausted.
func TestSchedulePassesCorrectStack(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, strategy := range []string{"random", "pct:3", "dfs:1"} {
		st, _ := schedule.Parse(strategy)
		sc := stackScenario("stack", func() Stack { return &seamStack{} })
		sc.Schedule, sc.Seed, sc.Rounds, sc.Duration, sc.Clients, sc.OpsPerClient = st, 1, 20, 0, 2, 2
		sum, err := sc.Run()
		if err != nil {
			t.Fatalf("%s: %v", strategy, err)
		}
		if strategy == "dfs:1" && sum.Exhausted != sum.Rounds {
			t.Fatalf("dfs:1: %d of %d programs exhausted", sum.Exhausted, sum.Rounds)
		}
		t.Logf("%s: %d rounds, %d schedules", strategy, sum.Rounds, sum.Schedules)
	}
}

// A token that no longer fits says so: never a silent pass.
func TestStaleTokenSaysWhere(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	st, _ := schedule.Parse("pct:2")
	sc := stackScenario("racy-stack", func() Stack { return &racySeamStack{} })
	sc.Schedule, sc.Seed, sc.Rounds, sc.Duration, sc.Clients, sc.OpsPerClient = st, 1, 200, 0, 2, 3
	_, err := sc.Run()
	var f *linearize.Failure
	if !errors.As(err, &f) {
		t.Fatalf("no failure: %v", err)
	}
	tok, _ := schedule.ParseToken(f.Token)
	bent := tok
	bent.Hash++
	if err := sc.Replay(bent); err == nil || !strings.Contains(err.Error(), "stale token") {
		t.Fatalf("a wrong hash: %v", err)
	}
	bent = tok
	bent.Choices = slices.Clone(tok.Choices)
	bent.Choices[0].N++
	if err := sc.Replay(bent); err == nil || !strings.Contains(err.Error(), "diverged") {
		t.Fatalf("a wrong decision: %v", err)
	}
	if _, err := schedule.ParseToken(f.Token[:len(f.Token)-3]); err == nil {
		t.Fatal("a truncated token parsed")
	}
}

// Under the scheduler rapid shrinks program and schedule together, and
// never calls the failure flaky: the README's recipe on the racy stack
// must shrink to at most 4 operations (push ‖ push, then the drain's
// pops), and the report show the schedule.
func TestRapidShrinksProgramAndSchedule(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer rapidcheck.SetFlag(t, "rapid.nofailfile", "true")()
	defer rapidcheck.SetFlag(t, "rapid.checks", "300")()
	st, _ := schedule.Parse("random")
	sc := stackScenario("racy-stack", func() Stack { return &racySeamStack{} })
	sc.Schedule, sc.ReportDir = st, t.TempDir()
	fake := rapidcheck.NewRecorder(t.Name())
	rapid.Check(fake, func(rt *rapid.T) {
		s := sc
		s.Clients = rapid.IntRange(1, 3).Draw(rt, "clients")
		s.OpsPerClient = rapid.IntRange(1, 6).Draw(rt, "ops")
		s.Rapid(rt)
	})
	report := fake.Message() + strings.Join(fake.Logs(), "\n")
	switch {
	case !fake.Failed():
		t.Fatal("rapid found no failure in the racy stack")
	case strings.Contains(report, "flaky"):
		t.Fatalf("rapid could not replay its failure:\n%s", report)
	case !strings.Contains(report, "schedule: ") || !strings.Contains(report, "-rapid.seed"):
		t.Fatalf("the report lacks the schedule or rapid's replay line:\n%s", report)
	}
	if ops := programOps(report); ops > 4 {
		t.Fatalf("shrank to %d operations only:\n%s", ops, report)
	}
	t.Logf("shrunk to:\n%s", report)
}

// A failure under the scheduler writes one HTML page with the program,
// the interleaving and porcupine's view, loading nothing from the network.
func TestScheduleReport(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	st, _ := schedule.Parse("pct:2")
	sc := stackScenario("racy-stack", func() Stack { return &racySeamStack{} })
	sc.Schedule, sc.Seed, sc.Rounds, sc.Duration, sc.Clients, sc.OpsPerClient = st, 1, 200, 0, 2, 3
	sc.ReportDir = t.TempDir()
	_, err := sc.Run()
	var f *linearize.Failure
	if !errors.As(err, &f) {
		t.Fatalf("no failure: %v", err)
	}
	page, rerr := os.ReadFile(f.Report)
	if rerr != nil {
		t.Fatalf("no report at %q: %v", f.Report, rerr)
	}
	for _, want := range []string{"<h2>Program</h2>", "g1 (client 0)", "scheduled_test.go:", "<iframe srcdoc=", f.Token} {
		if !strings.Contains(string(page), want) {
			t.Fatalf("the report lacks %q", want)
		}
	}
	if strings.Contains(string(page), "src=\"http") || strings.Contains(string(page), "href=\"http") {
		t.Fatal("the report loads something from the network")
	}
}

// seamLockedStack is a stack under a seam.Mutex: correct, but a push or pop
// waits for whoever holds the lock, so it is not obstruction-free.
type seamLockedStack struct {
	mu seam.Mutex
	vs []int
}

func (s *seamLockedStack) Push(v int) {
	s.mu.Lock()
	s.vs = append(s.vs, v)
	s.mu.Unlock()
}

func (s *seamLockedStack) Pop() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.vs) == 0 {
		return 0, false
	}
	v := s.vs[len(s.vs)-1]
	s.vs = s.vs[:len(s.vs)-1]
	return v, true
}

// CheckProgress passes the Treiber stack's push and pop, which claim to be
// lock-free, and fails the locked stack's, which block behind a stopped
// lock holder.
func TestCheckProgress(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	check := func(newStack func() Stack) string {
		sc := stackScenario("stack", newStack)
		for i := range sc.Ops {
			sc.Ops[i].LockFree = true
		}
		sc.Clients, sc.OpsPerClient = 3, 4
		for seed := range uint64(300) {
			p := sc.Generate(linearize.NewGen(seed, 0))
			ch := schedule.Random{}.Explore(seed, 0).Next(nil)
			if why, _ := sc.CheckProgress(p, ch, int(seed%20), 200); why != "" {
				return why
			}
		}
		return ""
	}
	if why := check(func() Stack { return &seamStack{} }); why != "" {
		t.Fatalf("the lock-free stack failed: %s", why)
	}
	why := check(func() Stack { return &seamLockedStack{} })
	if !strings.Contains(why, "not obstruction-free") {
		t.Fatalf("the locked stack passed: %q", why)
	}
	t.Log(why)
}

// coinStack takes an extra step on a coin flip the seam does not see: a
// schedule of it cannot repeat, and Recheck must say so.
type coinStack struct {
	seamStack
	coin seam.Int32
}

func (s *coinStack) Push(v int) {
	if rand.IntN(2) == 0 {
		s.coin.Load()
	}
	s.seamStack.Push(v)
}

func TestRecheckCatchesNondeterminism(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	st, _ := schedule.Parse("random")
	sc := stackScenario("coin-stack", func() Stack { return &coinStack{} })
	sc.Schedule, sc.Recheck, sc.Seed, sc.Rounds, sc.Duration = st, true, 1, 50, 0
	_, err := sc.Run()
	if err == nil || !strings.Contains(err.Error(), "did not repeat") {
		t.Fatalf("a coin flip outside the seam went unnoticed: %v", err)
	}
	sc = stackScenario("stack", func() Stack { return &seamStack{} })
	sc.Schedule, sc.Recheck, sc.Seed, sc.Rounds, sc.Duration = st, true, 1, 50, 0
	if _, err := sc.Run(); err != nil {
		t.Fatalf("the deterministic stack: %v", err)
	}
}
