package campaign_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
)

// A campaign's rounds leave nothing behind: once it has warmed up, the
// live heap after a collection does not grow with the rounds it runs, so
// that a soak of an hour needs no more memory than one of a minute. The
// continuation campaign once grew by about 45 KB a round (a sequential
// continuation's cleanup that could never run kept every round's
// mailboxes and bodies; impl/seq's TestRoundsLeaveNothing has that bug's
// own check).
//
// heapSlack is what a run may leave however few rounds it ran (caches
// and pools sized by the first rounds); heapPerRound what each round may
// add on top, far below the few kilobytes a round that keeps its own
// state (a trace, a history, a mailbox) holds.
const (
	heapSlack    = 1 << 20
	heapPerRound = 256
)

// heapGrowth runs c for warm, then for run more, and returns the growth of
// the live heap between the two ends and the rounds of the second run.
func heapGrowth(t *testing.T, c campaign.Campaign, warm, run time.Duration) (int64, int) {
	t.Helper()
	once := func(d time.Duration, seed uint64) linearize.Summary {
		ctx, cancel := context.WithTimeout(t.Context(), d)
		defer cancel()
		_, sum, err := c.Run(ctx, campaign.Options{Seed: seed, ReportDir: t.TempDir()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	once(warm, 0x51)
	h0 := liveHeap()
	sum := once(run, 0x52)
	return int64(liveHeap()) - int64(h0), sum.Rounds
}

// liveHeap returns the live heap as a collection measures it, after two
// (the first queues the cleanups of what it found unreachable, the
// second frees what they let go of): the figure of verify's column.
func liveHeap() uint64 {
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	runtime.GC()
	runtime.GC()
	metrics.Read(live)
	return live[0].Value.Uint64()
}

// heldTooMuch says what the rounds held, if it is more than the slack.
func heldTooMuch(grew int64, rounds int) error {
	if rounds == 0 {
		return fmt.Errorf("no round ran")
	}
	if limit := int64(heapSlack + heapPerRound*rounds); grew > limit {
		return fmt.Errorf("%d rounds grew the live heap by %d bytes (%d a round), more than %d", rounds, grew, grew/int64(rounds), limit)
	}
	return nil
}

func TestCampaignsLeaveNoHeap(t *testing.T) {
	for _, c := range campaign.All() {
		t.Run(c.Name, func(t *testing.T) {
			grew, rounds := heapGrowth(t, c, 200*time.Millisecond, time.Second)
			if err := heldTooMuch(grew, rounds); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d rounds grew the live heap by %d bytes", rounds, grew)
		})
	}
	// The known-bad campaign: the queue campaign, keeping 8 KB of every
	// round, as a campaign that kept its rounds' traces would. (2 KB was
	// caught only when the machine ran more than about 600 rounds a
	// second: under CI's load 535 rounds kept 1.07 MB, within the slack.
	// 8 KB outgrows it from 135 rounds on.)
	t.Run("known-bad/keeps-its-rounds", func(t *testing.T) {
		var kept [][]byte
		queue := campaign.All()[0]
		keeper := queue
		keeper.Run = func(ctx context.Context, o campaign.Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
			return queue.Run(ctx, o, func(linearize.Summary) { kept = append(kept, make([]byte, 8<<10)) })
		}
		grew, rounds := heapGrowth(t, keeper, 200*time.Millisecond, time.Second)
		err := heldTooMuch(grew, rounds)
		if err == nil {
			t.Fatalf("a campaign that kept 8 KB of each of %d rounds grew the live heap by %d bytes, and the check passed", rounds, grew)
		}
		t.Logf("caught: %v (%d kept)", err, len(kept))
	})
}
