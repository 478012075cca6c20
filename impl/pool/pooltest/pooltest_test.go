package pooltest_test

import (
	"strings"
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

// The same on pools over two mailboxes (SetScenario); and the control, a
// known-bad dispatcher that loses a job halted in hand, fails it.
func TestPoolSetLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, d := range []struct {
		name string
		d    pool.Dispatcher
	}{{"waiter", pool.Waiter}, {"runner", pool.Runner}} {
		sc := pooltest.SetScenario("pool-set-"+d.name, d.d)
		sc.Rounds = 200
		sc.Test(t)
	}
	sc := pooltest.SetScenario("pool-set-hidden", pooltest.BadDispatcher(pooltest.HidesInFlight))
	sc.Rounds = 500
	if _, err := sc.Run(); err == nil {
		t.Fatal("HidesInFlight passed 500 rounds of the two-mailbox scenario")
	} else {
		line, _, _ := strings.Cut(err.Error(), "\n")
		t.Logf("caught: %s", line)
	}
}
