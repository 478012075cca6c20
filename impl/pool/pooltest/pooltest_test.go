package pooltest_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/pool/pooltest"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Jobs submitted to pools of waiters and of runners while their workers
// are added, drained, frozen, thawed, canceled, ejected and halted.
func TestPoolLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, d := range []struct {
		name string
		d    pool.Dispatcher
	}{{"waiter", pool.Waiter}, {"runner", pool.Runner}} {
		sc := pooltest.Scenario("pool-"+d.name, d.d)
		sc.Rounds = 200
		sc.Test(t)
	}
}
