package campaign

import (
	"context"

	"github.com/insideout-go/insideout/impl/backlog/backlogtest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
	"github.com/insideout-go/insideout/model"
)

// backlogConfigs are the configurations the backlog's campaign runs in
// turn: a blocking mailbox of 2, a dropping mailbox of 1, and a blocking
// one whose io.Writer fails part way.
var backlogConfigs = []string{"block", "drop", "fail"}

// backlogCampaign is the backlog's campaign.
func backlogCampaign() Campaign {
	var replays []func(tok schedule.Token) (bool, error)
	for _, name := range backlogConfigs {
		replays = append(replays, replayOf(backlogScenario(name)))
	}
	return Campaign{
		Name:       "backlog",
		Doc:        "impl/backlog: records logged (some with a time-out) and Close at once, blocking, dropping and with a failing writer; then Close and the output: every accepted record once, in order, the rest counted",
		Controlled: true,
		Replay:     replayer(replays...),
		Run: func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
			var parts []part
			for _, name := range backlogConfigs {
				parts = append(parts, func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
					sc := backlogScenario(name)()
					return run(ctx, &sc, o, progress)
				})
			}
			return turns(ctx, o, progress, parts)
		},
	}
}

// backlogScenario makes the backlog campaign's scenario of the named
// configuration (see backlogtest.Configs).
func backlogScenario(name string) func() linearize.Scenario[*backlogtest.Logged, model.BacklogInput, model.BacklogOutput] {
	return func() linearize.Scenario[*backlogtest.Logged, model.BacklogInput, model.BacklogOutput] {
		return backlogtest.Scenario("backlog-"+name, backlogtest.Configs()[name], backlogtest.NewBacklog)
	}
}
