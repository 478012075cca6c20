package campaign

import (
	"context"

	"github.com/insideout-go/insideout/impl/cubby/cubbytest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
)

// cubbyCampaign is the cubby's campaign: impl/cubby's scenario, one
// writer and one reader.
func cubbyCampaign() Campaign {
	return Campaign{
		Name:       "cubby",
		Doc:        "impl/cubby: a writer's store and update (torn if let in beside the reader) and a reader's load, tryLoad and view at once; then a final load; torn reads, stale versions and both parties stuck",
		Controlled: true,
		Replay:     replayer(replayOf(cubbyScenario)),
		Run: func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
			// A cubby has one writer and one reader: a third client would
			// be a second caller of a role, a programmer error the cubby
			// refuses with a panic. Options.Clients does not apply.
			o.Clients = 2
			sc := cubbyScenario()
			return run(ctx, &sc, o, progress)
		},
	}
}

// cubbyScenario makes the cubby campaign's scenario.
func cubbyScenario() linearize.Scenario[*cubbytest.Cell, model.CubbyInput, model.CubbyOutput] {
	return cubbytest.Scenario("cubby", cubbytest.NewCubby)
}
