package stress

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/spec"
)

// The mailbox suites' sizes at INSIDEOUT_SOAK=1, chosen with the queue's
// so that the whole package stays within about a minute under -race on two
// cores, with or without -tags chaos. INSIDEOUT_SOAK=n multiplies each.
const (
	// Short checked histories, per capacity (0, 1, 2 and unbounded): this
	// many rounds of 4 clients x 4 ops, and half as many each of 5 x 3
	// and 3 x 6. The mailbox model is nondeterministic (a blocking call
	// may have returned for several reasons), so porcupine's search grows
	// fast with overlapping calls; at these shapes a check took about
	// 0.1 ms on average and mostly under 2 ms at most, the odd one 10 ms,
	// under -race with or without -tags chaos (the test logs both). A
	// round costs about 1.5 ms, most of it Release's 1 ms of stillness.
	mbHistoryRounds = 1000

	// Conservation under storms: per run, 4 senders each send this many
	// numbered items to 4 receivers, while storm goroutines pause, resume,
	// interrupt, change the capacity and drain.
	mbConserveItems = 50000

	// Batch wake-ups: rounds of up to mbBatchWakeMax sleepers woken by
	// batches (about a millisecond a round).
	mbBatchWakeRounds = 300
	mbBatchWakeMax    = 6

	// The void: waiters at the gate, and how many times a round pauses
	// and resumes it.
	voidWaiters = 16
	voidRounds  = 12
	voidToggles = 150
)

// mbHistories runs mailboxtest.Scenario at capacity with clients x ops
// for rounds rounds, and logs how long the rounds took, checks included.
func mbHistories(t *testing.T, capacity, clients, ops, rounds int) {
	t.Helper()
	name := fmt.Sprintf("mailbox-cap%s-%dx%d", capString(capacity), clients, ops)
	sc := mailboxtest.Scenario(name, capacity, mailboxtest.NewMailbox)
	sc.Clients, sc.OpsPerClient, sc.Rounds = clients, ops, rounds*soak(t)
	sc.Seed = resolveSeed(t)
	// The longest round, check included: progress is called after each.
	var (
		last     = time.Now()
		roundMax time.Duration
	)
	sum, err := sc.RunContext(context.Background(), func(linearize.Summary) {
		roundMax = max(roundMax, time.Since(last))
		last = time.Now()
	})
	t.Logf("%s: seed %#x: %d rounds, %d ops, %d histories in %v; the longest round took %v (chaos %v)",
		name, sc.Seed, sum.Rounds, sum.Ops, sum.Histories, sum.Elapsed.Round(time.Millisecond),
		roundMax.Round(time.Microsecond), chaos.Enabled)
	if err != nil {
		t.Fatal(err)
	}
}

func capString(c int) string {
	if c == spec.Unbounded {
		return "Unbounded"
	}
	return fmt.Sprint(c)
}

// Thousands of short histories of every mailbox operation at once, at
// capacities 0, 1, 2 and unbounded, each ended by mailboxtest.Release
// with its liveness check and checked for linearizability with its final
// Len, Flags and Drain.
//
// The bug: any interleaving in which a send, receipt, pause, close,
// interrupt, capacity change or drain breaks spec.Mailbox (an item lost,
// duplicated or reordered, a result against the rules' order, a flag
// wrong at its instant, an interrupt lost or delivered twice); a call that
// sleeps beside an item, room, or a condition that holds (a lost wake-up);
// a call that never returns; and, under -race, any unsynchronised access.
func TestMailboxLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, capacity := range []int{0, 1, 2, spec.Unbounded} {
		t.Run("cap"+capString(capacity), func(t *testing.T) {
			mbHistories(t, capacity, 4, 4, mbHistoryRounds)
			mbHistories(t, capacity, 5, 3, mbHistoryRounds/2)
			mbHistories(t, capacity, 3, 6, mbHistoryRounds/2)
		})
	}
}
