package stress

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/semaphore/semaphoretest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// Sizes of the semaphore storm at INSIDEOUT_SOAK=1 (every count is
// multiplied by INSIDEOUT_SOAK): a fraction of a second under -race on two
// cores.
const (
	semWorkers  = 8    // more goroutines than cores and than permits
	semOps      = 1500 // per worker
	semCapacity = 2
	// semStall: no call finished for this long while workers remain is a
	// lost wake-up or a lost permit. The self-check, whose known-bads
	// stall for good, waits semBadStall.
	semStall    = 5 * time.Second
	semBadStall = 200 * time.Millisecond
)

// semTally is what a storm counted.
type semTally struct {
	taken, released, cut, refused atomic.Int64
	holding, most                 atomic.Int64
	panics                        atomic.Int64 // Releases that panicked
}

// semStorm runs workers goroutines, each making ops calls on sem of
// capacity n: Acquire, Acquire with a short time-out, TryAcquire and Do,
// holding each permit for a moment (a yield, or a little work) and giving
// it back. It counts every permit: taken (Acquire, TryAcquire, Do),
// released, cut short and refused, and the holders at once. It returns
// the problems it found, one line each: more holders than permits at
// once, a permit not back at the end, a call that made no progress for
// stall (its sleepers are then woken with Unblock, if sem has it, so
// that the storm ends and its goroutines exit), a Release that panicked.
func semStorm(sem spec.Semaphore, n, workers, ops int, seed uint64, stall time.Duration) []string {
	var tally semTally
	// hold holds a permit across a yield, so that holders overlap.
	hold := func() {
		h := tally.holding.Add(1)
		for m := tally.most.Load(); h > m && !tally.most.CompareAndSwap(m, h); m = tally.most.Load() {
		}
		runtime.Gosched()
		chaos.Point()
		tally.holding.Add(-1)
	}
	release := func() {
		tally.released.Add(1)
		defer func() {
			if recover() != nil {
				tally.panics.Add(1)
			}
		}()
		sem.Release()
	}
	var progress atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for range ops {
				switch rng.IntN(8) {
				case 0, 1, 2:
					if sem.Acquire(context.Background()) == nil {
						tally.taken.Add(1)
						hold()
						release()
					}
				case 3, 4:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(50))*time.Microsecond)
					if sem.Acquire(ctx) == nil {
						tally.taken.Add(1)
						hold()
						release()
					} else {
						tally.cut.Add(1)
					}
					cancel()
				case 5, 6:
					if sem.TryAcquire() {
						tally.taken.Add(1)
						hold()
						release()
					} else {
						tally.refused.Add(1)
					}
				case 7:
					func() {
						defer func() {
							if recover() != nil {
								tally.panics.Add(1) // Do's Release
							}
						}()
						if sem.Do(context.Background(), func() { tally.taken.Add(1); hold(); tally.released.Add(1) }) != nil {
							tally.cut.Add(1)
						}
					}()
				}
				progress.Add(1)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var problems []string
	for last := int64(-1); ; {
		select {
		case <-done:
		case <-time.After(stall):
			if p := progress.Load(); p == last {
				problems = append(problems, fmt.Sprintf("no call finished for %v: %d of %d calls done, %d free of %d (a lost wake-up or a lost permit)",
					stall, p, workers*ops, sem.Available(), n))
				if u, ok := sem.(interface{ Unblock() }); ok {
					for {
						u.Unblock()
						select {
						case <-done:
						case <-time.After(10 * time.Millisecond):
							continue
						}
						break
					}
				}
				<-done
			} else {
				last = p
				continue
			}
		}
		break
	}
	// The bug: one permit held by two (a Release that woke two waiters,
	// a TryAcquire that took a permit twice).
	if m := tally.most.Load(); m > int64(n) {
		problems = append(problems, fmt.Sprintf("%d holders at once of %d permits", m, n))
	}
	// The bug: a permit lost (a waiter that gave up and kept it, a
	// Release handed to a waiter that had gone) or made.
	if free := sem.Available(); free != n && len(problems) == 0 {
		problems = append(problems, fmt.Sprintf("%d of %d permits free at the end (taken %d, released %d, cut short %d, refused %d)",
			free, n, tally.taken.Load(), tally.released.Load(), tally.cut.Load(), tally.refused.Load()))
	}
	// The bug: a Release refused as beyond the capacity, though every
	// Release here gives back a permit taken (the count ran over).
	if p := tally.panics.Load(); p > 0 {
		problems = append(problems, fmt.Sprintf("%d Releases panicked", p))
	}
	if tally.taken.Load() != tally.released.Load() {
		problems = append(problems, fmt.Sprintf("taken %d, released %d", tally.taken.Load(), tally.released.Load()))
	}
	return problems
}

// A storm of Acquires (with and without time-outs), TryAcquires and Dos
// from 8 goroutines on 2 permits, every permit counted.
//
// The bug: more holders than permits at once; a permit lost or made by
// the storm (the count not back to 2); a lost wake-up, which stops the
// storm (reported after semStall); and, under -race, any access to a
// shared word that is not synchronised.
func TestSemaphoreStorm(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	k := soak(t)
	for _, s := range semaphoretest.Semaphores {
		start := time.Now()
		if problems := semStorm(s.New(semCapacity), semCapacity, semWorkers, semOps*k, seed, semStall); len(problems) > 0 {
			t.Fatalf("impl/semaphore (%s):\n%s", s.Name, strings.Join(problems, "\n"))
		}
		t.Logf("%s: %d workers x %d calls on %d permits in %v (chaos %v)", s.Name, semWorkers, semOps*k, semCapacity, time.Since(start), chaos.Enabled)
	}
}

// The storm's checks must be able to fail: each known-bad semaphore below
// fails it, with the problem its Bug's comment names.
func TestSemaphoreStormCatchesKnownBads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	for _, c := range []struct {
		bug  semaphoretest.Bug
		want string
	}{
		{semaphoretest.WakesTwo, "holders at once"},
		{semaphoretest.CutShortLeaks, "no call finished"},
		{semaphoretest.WakesNone, "no call finished"},
	} {
		t.Run(c.bug.String(), func(t *testing.T) {
			problems := semStorm(semaphoretest.Locked(semCapacity, c.bug), semCapacity, semWorkers, semOps, seed, semBadStall)
			got := strings.Join(problems, "\n")
			if !strings.Contains(got, c.want) {
				t.Fatalf("the storm on a %v semaphore found %q; want %q", c.bug, got, c.want)
			}
			t.Logf("caught: %s", got)
		})
	}
}
