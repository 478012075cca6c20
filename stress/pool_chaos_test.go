//go:build chaos

package stress

import (
	"runtime"
	"slices"
	"testing"

	"github.com/insideout-go/insideout/internal/chaoscheck"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Built with -tags chaos (CI's stress step), impl/pool's own points perturb it: on one
// processor, another goroutine runs in the middle of a pool's Halt (one
// point between two runtimes) in most rounds, and never in the middle of
// the same Halts made runtime by runtime, which pass no point of the
// pool's. The bug: a pool with no chaos point (or points that are not
// seam's), whose Halts, Adds and dispatchers the chaos build would leave
// unperturbed: its count would be the control's.
func TestChaosPerturbsThePool(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if !chaos.Enabled {
		t.Fatal("built without -tags chaos")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	chaos.SetSeed(1)
	box := mailbox.New[cont.C](1)
	box.CloseWrite()
	p, err := pool.New(pool.Runner, box, 32)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Join(); err != nil { // the runners end at once: their mailbox is closed
		t.Fatal(err)
	}
	rs := slices.Collect(p.Items())
	const rounds = 200
	perturbed := chaoscheck.Interleaved(rounds, p.Halt)
	control := chaoscheck.Interleaved(rounds, func() {
		for _, r := range rs {
			r.Halt()
		}
	})
	t.Logf("another goroutine ran in the middle of %d of %d pool Halts, and of %d of %d Halts runtime by runtime", perturbed, rounds, control, rounds)
	if perturbed < rounds/2 {
		t.Errorf("the chaos build perturbed %d of %d pool Halts, want most", perturbed, rounds)
	}
	if control > rounds/10 {
		t.Errorf("the control was perturbed %d of %d times: the check cannot tell the pool's points from the rest", control, rounds)
	}
}
