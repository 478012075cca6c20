package linearize_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
)

// A free round never runs Release beside a call of an Op marked LockFree:
// such a call returns without help however long the machine keeps it from
// running, and a Release beside it adds calls that may explain a wrong
// result away. The bug this catches: under load, a Try call descheduled
// for longer than Quiet let the mailbox's Release (a Resume and a drain)
// run beside it, and a known-bad batch that refused a batch with room
// passed the fuzz target's self-check (the history then had an order that
// allowed it). Here every call of the only client takes 20 Quiet periods
// and must not see a Release; a call that waits for help (not LockFree)
// still gets one.
func TestNoReleaseBesideLockFreeCalls(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, lockFree := range []bool{true, false} {
		var releases atomic.Int32
		var inside atomic.Bool
		var during atomic.Int32
		sc := linearize.Scenario[*int, int, int]{
			Name: "slow",
			New:  func() *int { return new(int) },
			Model: linearize.Model[int, int, int]{
				Init: func() int { return 0 },
				Step: func(st, in, out int) (bool, int) { return true, st },
			},
			Ops: []linearize.Op[*int, int, int]{{
				Name:     "slow",
				Input:    func(*linearize.Gen) int { return 0 },
				LockFree: lockFree,
				Run: func(*int, int) int {
					inside.Store(true)
					time.Sleep(20 * time.Millisecond)
					inside.Store(false)
					return 0
				},
			}},
			Release: func(*int, linearize.Caller[int, int]) {
				releases.Add(1)
				if inside.Load() {
					during.Add(1)
				}
			},
			Quiet:        time.Millisecond,
			RoundTimeout: 10 * time.Second,
		}
		res := sc.RunProgram(linearize.Program{{{Op: 0}, {Op: 0}}}, 1)
		if res.Failed() {
			t.Fatalf("lockFree %v: the round failed: %+v", lockFree, res)
		}
		switch {
		case lockFree && during.Load() != 0:
			t.Errorf("Release ran %d times beside a LockFree call", during.Load())
		case !lockFree && during.Load() == 0:
			t.Errorf("a call that is not LockFree was never released in 40 Quiet periods: the control does not show the harness releasing at all")
		}
	}
}
