//go:build sched

package campaign_test

import (
	"context"
	"testing"
	"time"

	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Every controlled campaign passes a short run under each strategy, and
// runs DFS's schedules too: the implementations hold under schedules that
// Go's scheduler rarely makes.
func TestControlledCampaignsPass(t *testing.T) {
	for _, c := range campaign.All() {
		if !c.Controlled {
			continue
		}
		for _, s := range []string{"random", "pct:3", "dfs:1"} {
			st, _ := schedule.Parse(s)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			seed, sum, err := c.Run(ctx, campaign.Options{Schedule: st}, nil)
			cancel()
			if err != nil {
				t.Fatalf("%s under %s (seed %#x): %v", c.Name, s, seed, err)
			}
			if sum.Schedules == 0 {
				t.Fatalf("%s under %s ran no schedule", c.Name, s)
			}
			t.Logf("%s under %s: %d rounds, %d schedules", c.Name, s, sum.Rounds, sum.Schedules)
		}
	}
}

// Every controlled campaign's schedules repeat exactly: run twice with the
// same choices, a schedule takes the same steps. A map iterated in the
// system under test, a real-time timer or a goroutine started outside the
// seam would make a failure impossible to replay.
func TestControlledCampaignsRepeat(t *testing.T) {
	st, _ := schedule.Parse("pct:3")
	for _, c := range campaign.All() {
		if !c.Controlled {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		seed, sum, err := c.Run(ctx, campaign.Options{Schedule: st, Recheck: true}, nil)
		cancel()
		if err != nil {
			t.Fatalf("%s (seed %#x): %v", c.Name, seed, err)
		}
		t.Logf("%s: %d schedules repeated", c.Name, sum.Schedules)
	}
}
