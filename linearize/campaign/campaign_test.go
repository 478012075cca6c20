package campaign_test

import (
	"context"
	"testing"
	"time"

	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Every registered campaign runs until its context ends, checks histories
// on the way, uses the seed it is given and the sizes in Options. A
// campaign that ignored its context would hang here; one that ignored the
// seed could not be replayed.
func TestCampaignsRun(t *testing.T) {
	for _, c := range campaign.All() {
		t.Run(c.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			var last linearize.Summary
			seed, sum, err := c.Run(ctx, campaign.Options{Seed: 0x2a, Clients: 2, OpsPerClient: 3, ReportDir: t.TempDir()},
				func(s linearize.Summary) { last = s })
			if err != nil {
				t.Fatal(err)
			}
			if seed != 0x2a {
				t.Errorf("campaign ran with seed %#x, want the given 0x2a", seed)
			}
			if sum.Rounds == 0 || sum.Histories != sum.Rounds || last.Rounds != sum.Rounds {
				t.Errorf("summary %+v, last progress %+v: want rounds, all checked, progress up to date", sum, last)
			}
			// 2 clients x 3 ops, plus the final len and drain.
			if perRound := float64(sum.Ops) / float64(sum.Rounds); perRound < 6 || perRound > 6+2+6 {
				t.Errorf("%.1f operations per round, want 6 plus the drain: Options.Clients or OpsPerClient ignored", perRound)
			}
			if c.Doc == "" {
				t.Error("campaign has no Doc line")
			}
		})
	}
}
