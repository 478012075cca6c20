//go:build sched

package pool_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/pool/pooltest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
	"github.com/insideout-go/insideout/model"
)

type scenario = linearize.Scenario[*pooltest.Pooled, model.PoolInput, model.PoolOutput]

// controlled returns the pool scenario of d under strategy, from seed 1.
func controlled(t *testing.T, name, strategy string, rounds int, d pool.Dispatcher) scenario {
	st, err := schedule.Parse(strategy)
	if err != nil {
		t.Fatal(err)
	}
	sc := pooltest.Scenario(name, d)
	sc.Schedule, sc.Seed, sc.Rounds, sc.ReportDir = st, 1, rounds, t.TempDir()
	return sc
}

// Under the controlled scheduler (-tags sched), the pool's locks, points
// and its mailboxes' atomics are switch points, so a strategy chooses the
// interleaving of the pool's workers and clients: PCT finds the
// known-bad dispatchers that lose a job when a control operation meets
// it in hand (pooltest.DropsOnEnd, HidesInFlight), and the failure's
// token replays it exactly.
func TestScheduleCatchesKnownBads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, bug := range []pooltest.Bug{pooltest.DropsOnEnd, pooltest.HidesInFlight} {
		t.Run(bug.String(), func(t *testing.T) {
			sc := controlled(t, "pool-"+bug.String(), "pct:3", 300, pooltest.BadDispatcher(bug))
			sc.TestFails(t, linearize.IsIllegal)
		})
	}
}

// The control: pool.Waiter and pool.Runner pass the same scenario under
// PCT, every schedule run twice (Recheck) to show that the pool's steps
// are deterministic under the scheduler, and so replay.
func TestScheduledPoolPasses(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for name, d := range map[string]pool.Dispatcher{"waiter": pool.Waiter, "runner": pool.Runner} {
		sc := controlled(t, "pool-"+name, "pct:3", 40, d)
		sc.Recheck = true
		sc.Test(t)
	}
}
