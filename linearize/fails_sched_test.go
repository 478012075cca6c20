//go:build sched

package linearize_test

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Under a schedule TestFails replays the failure's token. The bugs: a
// TestFails that does not replay (it passes a failure that never comes
// back: the once-lying stack lies in the first round only), or that
// fails a failure that replays exactly (the always-lying stack).
func TestTestFailsReplays(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	st, err := schedule.Parse("pct:3")
	if err != nil {
		t.Fatal(err)
	}
	scenario := func(name string, newStack func() Stack) linearize.Scenario[Stack, StackIn, StackOut] {
		sc := stackScenario(name, newStack)
		sc.Schedule, sc.Seed, sc.Rounds, sc.Duration, sc.ReportDir = st, 1, 50, 0, t.TempDir()
		return sc
	}
	always := scenario("lying", func() Stack { return new(lyingStack) })
	tb := new(fatalTB)
	var f *linearize.Failure
	if tb.run(func(tb linearize.TB) { f = always.TestFails(tb, linearize.IsIllegal) }) || f.Token == "" {
		t.Fatalf("TestFails failed a failure that replays: %q", tb.fatal)
	}
	if !strings.Contains(strings.Join(tb.logs, "\n"), "replayed exactly") {
		t.Errorf("no replay logged: %q", tb.logs)
	}
	var lied atomic.Bool
	once := scenario("lying-once", func() Stack { return &lyingStack{once: &lied} })
	if tb := new(fatalTB); !tb.run(func(tb linearize.TB) { once.TestFails(tb, nil) }) ||
		!strings.Contains(tb.fatal, "did not replay") {
		t.Fatalf("TestFails passed a failure that does not replay: %q", tb.fatal)
	}
}
