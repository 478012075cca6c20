package stress

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/cont/conttest"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/impl/seq"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The continuation suite's sizes at INSIDEOUT_SOAK=1, chosen so that it
// takes a few seconds under -race on two cores, with or without -tags
// chaos. INSIDEOUT_SOAK=n multiplies the rounds.
const (
	// contBusyRounds rounds of contBusyPrograms programs at once, of
	// contBusyInstrs top-level instructions each: far more continuations
	// than the 2 to 12 workers of a round's pools, so that mailboxes fill
	// (bounded ones up to their capacity) and every worker switches
	// between programs, forms and pools all the time.
	contBusyRounds   = 200
	contBusyPrograms = 24
	contBusyInstrs   = 10
	// contManyRounds short rounds of the campaign's default size, each on
	// a fresh topology: many pools made, crossed and closed.
	contManyRounds = 1000
)

// Random programs of Goto, ComeFrom, NovelThread and Coop, step and
// sequential, over random topologies, through conttest.RunRound: every
// step of every program must run exactly once, in program order, on the
// pool the program says (model.ContTrace), no two steps of one program at
// once, every program must finish before a deadline, and the pools must
// end with nothing left over. The race detector checks every hand-over
// of a continuation between runners.
func TestContinuationStorm(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	n := soak(t)
	t.Run("busy", func(t *testing.T) {
		conttest.Check{Rounds: contBusyRounds * n, Programs: contBusyPrograms, Instrs: contBusyInstrs}.Test(t)
	})
	t.Run("many", func(t *testing.T) {
		conttest.Check{Rounds: contManyRounds * n}.Test(t)
	})
}

// contPerturbTries is how many moves (and double steps) the chaos tests
// below make: at a yield on about one point in eight, a few hundred land
// in the window each watches.
const contPerturbTries = 2000

// onOneProc runs f with one P, so that another goroutine runs only where
// the running one yields: what a chaos point does, and what an ordinary
// build's code between two points never does.
func onOneProc(f func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
}

// Under -tags chaos the point after a move is published (impl/cont's
// awayTo and moveTo) lets the continuation's new holder run before the
// runner has returned from Step: the window in which a runner that
// touched the continuation after the move would race with its new
// holder. On one P, the new holder sees the runner not yet returned only
// if the runner yielded at that point. Without the point (or in an
// ordinary build, where it is nothing) the count is 0, bar the Go
// scheduler's own preemption; with it, hundreds.
func TestChaosPerturbsContinuationMoves(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	chaos.SetSeed(0x6d6f7665)
	var early int
	onOneProc(func() {
		var (
			given    seam.Pointer[cont.C] // the continuation, once given away
			back     seam.Pointer[cont.C] // handed back to the runner
			returned seam.Bool            // the runner has returned from Step
			wg       sync.WaitGroup
		)
		give := func(c *cont.C) error { given.Store(c); return nil }
		var step cont.Step
		step = func(ctx context.Context, c *cont.C) cont.Step { return c.Away(give, step) }
		wg.Go(func() { // the runner
			c := cont.New(step)
			for range contPerturbTries {
				returned.Store(false)
				if !c.Step(context.Background()) {
					panic("the move did not take the continuation")
				}
				returned.Store(true)
				for c = back.Swap(nil); c == nil; c = back.Swap(nil) {
					runtime.Gosched()
				}
			}
		})
		wg.Go(func() { // the new holder
			for range contPerturbTries {
				var c *cont.C
				for c = given.Swap(nil); c == nil; c = given.Swap(nil) {
					runtime.Gosched()
				}
				if !returned.Load() {
					early++
				}
				back.Store(c)
			}
		})
		wg.Wait()
	})
	t.Logf("the new holder ran before Step returned after %d of %d moves (chaos %v)", early, contPerturbTries, chaos.Enabled)
	if chaos.Enabled && early == 0 {
		t.Fatal("-tags chaos never let the new holder in between the move and Step's return: the move's point perturbs nothing")
	}
}

// Under -tags chaos the point inside a sequential continuation's step
// (impl/seq, once it has marked itself busy) lets a second goroutine that
// steps the same continuation at once, a programmer error, in while the
// first is busy, and find it so: ErrResumedTwice. On one P the second
// runs inside the first's step only if the first yielded there. (The two
// call the step function itself, not cont.C.Step, whose read of the
// continuation's next step would be a data race of the test's own.)
func TestChaosPerturbsSequentialSteps(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	chaos.SetSeed(0x62757379)
	var stop seam.Bool
	c := seq.New(func(k *seq.K) {
		for !stop.Load() {
			k.Coop()
		}
	})
	fn := c.Next()
	var caught seam.Int64
	onOneProc(func() {
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for range contPerturbTries / 2 {
					func() {
						defer func() {
							if v := recover(); v != nil {
								if err, ok := v.(error); !ok || !errors.Is(err, seq.ErrResumedTwice) {
									panic(v)
								}
								caught.Add(1)
							}
						}()
						fn(context.Background(), c)
					}()
					runtime.Gosched()
				}
			})
		}
		wg.Wait()
	})
	stop.Store(true)
	c.Run(context.Background())
	t.Logf("a second step found the continuation busy %d times in %d (chaos %v)", caught.Load(), contPerturbTries, chaos.Enabled)
	if chaos.Enabled && caught.Load() == 0 {
		t.Fatal("-tags chaos never let a second step in while a sequential continuation was busy: its point perturbs nothing")
	}
}
