package mailbox_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/spec"
	"pgregory.net/rapid"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// rapid-generated concurrent scenarios, checked by porcupine: rapid draws
// the capacity, the number of clients and their programs, and would
// shrink a failing program to a minimal one.
func TestConcurrentScenarios(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(rt *rapid.T) {
		capacity := rapid.SampledFrom([]int{0, 1, 2, 3, spec.Unbounded}).Draw(rt, "cap")
		sc := mailboxtest.Scenario("mailbox", capacity, mailboxtest.NewMailbox)
		sc.Clients = rapid.IntRange(1, 4).Draw(rt, "clients")
		sc.OpsPerClient = rapid.IntRange(1, 7).Draw(rt, "ops")
		p := sc.Generate(linearize.RapidGen(rt))
		for range 3 { // the same program, several interleavings
			if res := sc.RunProgram(p, rapid.Uint64().Draw(rt, "chaos")); res.Failed() {
				rt.Fatalf("round failed (verdict %v, hung %v, stuck %q, panic %q):\n%s",
					res.Verdict, res.Hung, res.Stuck, res.Panic, sc.Format(p))
			}
		}
	})
}

// Seeded randomized rounds at several capacities, Lincheck style.
func TestLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []int{0, 1, 2, spec.Unbounded} {
		sc := mailboxtest.Scenario("mailbox", c, mailboxtest.NewMailbox)
		sc.Rounds = 200
		sc.Test(t)
	}
}
