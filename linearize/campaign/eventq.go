package campaign

import (
	"context"

	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// eventqCampaign is the event queue's campaign.
func eventqCampaign() Campaign {
	return Campaign{
		Name:       "eventq",
		Doc:        "impl/eventq: register (one-shot, level, edge, exclusive, timers, signals), cancel, rearm, poll and wake on real pipes and a socketpair, and send SIGUSR1 and SIGUSR2 to the process (free rounds), while a waiter hands firings out; then settle, Close, and an audit of every registration, delivery and fd",
		Controlled: true,
		Replay: func(tok schedule.Token) error {
			if tok.Scenario != eventqtest.Scenario {
				return ErrNotMine
			}
			return eventqtest.Check{}.Replay(tok)
		},
		Run: func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
			return eventqCheck(o).Run(ctx, progress)
		},
	}
}

// eventqCheck makes the event-queue campaign's eventqtest.Check of o: its
// sizes, seed, strategy and recheck. Under DFS, whose every schedule
// within the bound is many for a big round, rounds are small (2 clients
// of 3 steps) unless told otherwise, as the scenarios' are (see run).
func eventqCheck(o Options) eventqtest.Check {
	c := eventqtest.Check{Clients: o.Clients, Ops: o.OpsPerClient, Seed: o.Seed, Rounds: -1, ReportDir: o.ReportDir,
		CheckTimeout: o.CheckTimeout, Schedule: o.Schedule, Recheck: o.Recheck && o.Schedule != nil}
	if _, ok := o.Schedule.(schedule.DFS); ok {
		if c.Clients <= 0 {
			c.Clients = 2
		}
		if c.Ops <= 0 {
			c.Ops = 3
		}
	}
	return c
}
