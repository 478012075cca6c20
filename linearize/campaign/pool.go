package campaign

import (
	"context"

	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/pool/pooltest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
)

// poolCampaign is the pool's campaign.
func poolCampaign() Campaign {
	return Campaign{
		Name:       "pool",
		Doc:        "impl/pool: jobs sent to pools of waiters and of runners while workers are added, drained, frozen, thawed, canceled, ejected and halted; then an audit of every job",
		Controlled: true,
		Replay:     replayer(replayOf(poolScenario("waiter", pool.Waiter)), replayOf(poolScenario("runner", pool.Runner))),
		Run: func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
			var parts []part
			for _, d := range []struct {
				name string
				d    pool.Dispatcher
			}{{"waiter", pool.Waiter}, {"runner", pool.Runner}} {
				parts = append(parts, func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
					sc := poolScenario(d.name, d.d)()
					return run(ctx, &sc, o, progress)
				})
			}
			return turns(ctx, o, progress, parts)
		},
	}
}

// poolScenario makes the pool campaign's scenario of dispatcher d.
func poolScenario(name string, d pool.Dispatcher) func() linearize.Scenario[*pooltest.Pooled, model.PoolInput, model.PoolOutput] {
	return func() linearize.Scenario[*pooltest.Pooled, model.PoolInput, model.PoolOutput] {
		return pooltest.Scenario("pool-"+name, d)
	}
}
