//go:build chaos

package pool_test

import (
	"runtime"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// interleaved runs op rounds times on one processor beside a goroutine
// that counts while it gets the processor, and returns in how many rounds
// that goroutine ran in the middle of op: only where op gives up the
// processor, which nothing in these ops does but a chaos point.
func interleaved(rounds int, op func()) int {
	var count atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			count.Add(1)
			runtime.Gosched()
		}
	}()
	n := 0
	for range rounds {
		runtime.Gosched() // let the counter run up to here
		before := count.Load()
		op()
		if count.Load() != before {
			n++
		}
	}
	close(stop)
	<-done
	return n
}

// Built with -tags chaos, the pool's own points perturb it: on one
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
	p, err := pool.New(pool.Runner, closedBox(), 32)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Join(); err != nil { // the runners end at once: their mailbox is closed
		t.Fatal(err)
	}
	rs := slices.Collect(p.Items())
	const rounds = 200
	perturbed := interleaved(rounds, p.Halt)
	control := interleaved(rounds, func() {
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
