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
		Doc:        "impl/pool: jobs sent to pools of waiters and of runners, over one mailbox or two, while workers are added, drained, frozen, thawed, canceled, ejected and halted; then an audit of every job",
		Controlled: true,
		Replay: replayer(replayOf(poolScenario("waiter", pool.Waiter, false)), replayOf(poolScenario("runner", pool.Runner, false)),
			replayOf(poolScenario("set-waiter", pool.Waiter, true)), replayOf(poolScenario("set-runner", pool.Runner, true))),
		Run: func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
			var parts []part
			for _, d := range []struct {
				name string
				d    pool.Dispatcher
				set  bool
			}{{"waiter", pool.Waiter, false}, {"runner", pool.Runner, false}, {"set-waiter", pool.Waiter, true}, {"set-runner", pool.Runner, true}} {
				parts = append(parts, func(ctx context.Context, o Options, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
					sc := poolScenario(d.name, d.d, d.set)()
					return run(ctx, &sc, o, progress)
				})
			}
			return turns(ctx, o, progress, parts)
		},
	}
}

// poolScenario makes the pool campaign's scenario of dispatcher d, over
// two mailboxes if set (pooltest.SetScenario).
func poolScenario(name string, d pool.Dispatcher, set bool) func() linearize.Scenario[*pooltest.Pooled, model.PoolInput, model.PoolOutput] {
	return func() linearize.Scenario[*pooltest.Pooled, model.PoolInput, model.PoolOutput] {
		if set {
			return pooltest.SetScenario("pool-"+name, d)
		}
		return pooltest.Scenario("pool-"+name, d)
	}
}
