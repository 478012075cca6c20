//go:build sched

package seam_test

import (
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/seam"
)

// random picks uniformly; first never preempts.
type random struct{ r *rand.Rand }

func (c random) Choose(d *seam.Decision) int { return c.r.IntN(len(d.Runnable)) }

type first struct{}

func (first) Choose(*seam.Decision) int { return 0 }

// replay follows a recorded list of picks.
type replay struct {
	picks []seam.Choice
	i     int
}

func (c *replay) Choose(d *seam.Decision) int {
	p := c.picks[c.i]
	c.i++
	return p.Picked
}

func seeded(seed uint64) random { return random{rand.New(rand.NewPCG(seed, 1))} }

// lostUpdate increments a counter from two goroutines with a load and a
// store: some interleaving loses one of the increments.
func lostUpdate(got *int64) func() {
	return func() {
		var x seam.Int64
		var done seam.Int32
		inc := func() {
			x.Store(x.Load() + 1)
			done.Add(1)
		}
		seam.Go(inc)
		seam.Go(inc)
		for done.Load() != 2 {
			seam.Yield()
		}
		*got = x.Load()
	}
}

// The scheduler must find the lost update (a scheduler that ran each
// goroutine to its end would not), and a run that never preempts must not
// show it.
func TestFindsLostUpdate(t *testing.T) {
	var got int64
	res, err := seam.Run(first{}, lostUpdate(&got), seam.Options{})
	if err != nil || res.Outcome != seam.Finished || got != 2 {
		t.Fatalf("no preemption: got %d, %v, %v %s", got, err, res.Outcome, res.Failure)
	}
	found := false
	for seed := range uint64(200) {
		res, err := seam.Run(seeded(seed), lostUpdate(&got), seam.Options{})
		if err != nil || res.Outcome != seam.Finished {
			t.Fatalf("seed %d: %v %v %s", seed, err, res.Outcome, res.Failure)
		}
		if got == 1 {
			found = true
			break
		}
	}
	if !found {
		t.Fatal("200 random schedules never lost an update")
	}
}

// The same picks give the same steps: a run replays exactly.
func TestReplayIsExact(t *testing.T) {
	var a, b int64
	for seed := range uint64(50) {
		res, _ := seam.Run(seeded(seed), lostUpdate(&a), seam.Options{Trace: true})
		again, _ := seam.Run(&replay{picks: res.Choices}, lostUpdate(&b), seam.Options{Trace: true})
		if res.Hash != again.Hash || a != b || len(res.Trace) != len(again.Trace) {
			t.Fatalf("seed %d: replay differs: hash %x vs %x, result %d vs %d", seed, res.Hash, again.Hash, a, b)
		}
	}
}

// Two goroutines taking two mutexes in opposite orders deadlock in some
// schedule, and the run says so instead of hanging.
func TestReportsDeadlock(t *testing.T) {
	for seed := range uint64(200) {
		res, _ := seam.Run(seeded(seed), func() {
			var a, b seam.Mutex
			var done seam.Int32
			seam.Go(func() { a.Lock(); b.Lock(); b.Unlock(); a.Unlock(); done.Add(1) })
			seam.Go(func() { b.Lock(); a.Lock(); a.Unlock(); b.Unlock(); done.Add(1) })
			for done.Load() != 2 {
				seam.Yield()
			}
		}, seam.Options{})
		if res.Outcome == seam.Deadlock {
			if !strings.Contains(res.Failure, "waits for a Mutex") {
				t.Fatalf("deadlock report lacks the waits: %s", res.Failure)
			}
			return
		}
	}
	t.Fatal("200 random schedules never deadlocked")
}

// A parked goroutine runs again only once unparked; a Cond waiter only
// once signalled; no schedule loses either.
func TestParkerAndCond(t *testing.T) {
	for seed := range uint64(100) {
		res, _ := seam.Run(seeded(seed), func() {
			p := seam.MakeParker()
			var ready seam.Bool
			seam.Go(func() { ready.Store(true); p.Unpark() })
			p.Park()
			if !ready.Load() {
				panic("woke before the Unpark")
			}
			var mu seam.Mutex
			var c seam.Cond
			c.Init(&mu)
			n := 0
			seam.Go(func() { mu.Lock(); n++; c.Signal(); mu.Unlock() })
			mu.Lock()
			for n == 0 {
				c.Wait()
			}
			mu.Unlock()
		}, seam.Options{})
		if res.Outcome != seam.Finished {
			t.Fatalf("seed %d: %v: %s", seed, res.Outcome, res.Failure)
		}
	}
}

// A goroutine that blocks on a raw channel is reported with its stack,
// within the stall bound, not left to hang.
func TestReportsUncontrolledBlocking(t *testing.T) {
	ch := make(chan struct{})
	res, _ := seam.Run(first{}, func() { <-ch }, seam.Options{Stall: 200 * time.Millisecond})
	close(ch)
	if res.Outcome != seam.Uncontrolled || !strings.Contains(res.Failure, "chan receive") {
		t.Fatalf("got %v: %s", res.Outcome, res.Failure)
	}
}

// A loop that waits without Yield under a scheduler that never preempts
// ends at the step limit.
func TestStepLimit(t *testing.T) {
	res, _ := seam.Run(first{}, func() {
		var flag seam.Bool
		seam.Go(func() { flag.Store(true) })
		for !flag.Load() {
		}
	}, seam.Options{MaxSteps: 1000})
	if res.Outcome != seam.StepLimit {
		t.Fatalf("got %v: %s", res.Outcome, res.Failure)
	}
}

// AwaitIdle returns once every other goroutine is blocked; a goroutine
// left parked when main returns is ended and counted.
func TestAwaitIdleAndLeftover(t *testing.T) {
	res, _ := seam.Run(seeded(1), func() {
		p := seam.MakeParker()
		var n seam.Int32
		seam.Go(func() { n.Add(1); p.Park() })
		seam.AwaitIdle()
		if n.Load() != 1 {
			panic("AwaitIdle returned before the other goroutine blocked")
		}
	}, seam.Options{})
	if res.Outcome != seam.Finished || res.Leftover != 1 {
		t.Fatalf("got %v leftover %d: %s", res.Outcome, res.Leftover, res.Failure)
	}
}

// A virtual deadline fires once nothing else can move: a wait on it ends
// with context.DeadlineExceeded instead of a deadlock, and the same picks
// repeat the same steps.
func TestVirtualDeadline(t *testing.T) {
	body := func(err *error) func() {
		return func() {
			ctx, cancel := seam.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			p := seam.MakeParker()
			var n seam.Int32
			seam.Go(func() { n.Add(1) })
			if p.ParkOr(ctx.Done()) {
				panic("unparked by nobody")
			}
			*err = ctx.Err()
			seam.Sleep(time.Hour) // wakes at once: nothing else can move
		}
	}
	for seed := range uint64(30) {
		var err, again error
		res, _ := seam.Run(seeded(seed), body(&err), seam.Options{})
		if res.Outcome != seam.Finished || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("seed %d: %v %s, err %v", seed, res.Outcome, res.Failure, err)
		}
		rep, _ := seam.Run(&replay{picks: res.Choices}, body(&again), seam.Options{})
		if rep.Hash != res.Hash {
			t.Fatalf("seed %d: the replay's steps differ", seed)
		}
	}
}

// Two goroutines that each wait in Until for the other have nothing but
// time to move them: both limits pass, and the run finishes. The bug this
// catches: each poller counted the other as running, so the two polled
// until the step limit.
func TestUntilPollersLetTimePass(t *testing.T) {
	for seed := range uint64(20) {
		var timedOut seam.Int32
		res, _ := seam.Run(seeded(seed), func() {
			var a, b seam.Bool
			var done seam.Int32
			all := make(chan struct{})
			wait := func(flag *seam.Bool) {
				if !seam.Until(flag.Load, time.Hour) {
					timedOut.Add(1)
				}
				if done.Add(1) == 2 {
					seam.Close(all)
				}
			}
			seam.Go(func() { wait(&a) })
			seam.Go(func() { wait(&b) })
			seam.Await(all)
		}, seam.Options{MaxSteps: 10_000})
		if res.Outcome != seam.Finished || timedOut.Load() != 2 {
			t.Fatalf("seed %d: %v %s, %d timed out", seed, res.Outcome, res.Failure, timedOut.Load())
		}
	}
}

// A poller's limit does not pass while a goroutine that does not poll
// can still move: here one that sets the flag after some steps of its
// own. The bug this catches: time passing as soon as the others were
// pollers or runnable, which would end the wait before the flag.
func TestUntilWaitsForRunnableWork(t *testing.T) {
	for seed := range uint64(20) {
		var ok bool
		res, _ := seam.Run(seeded(seed), func() {
			var flag, other seam.Bool
			var n seam.Int32
			seam.Go(func() { seam.Until(other.Load, time.Hour) }) // a second poller, never satisfied
			seam.Go(func() {
				for range 20 {
					n.Add(1)
				}
				flag.Store(true)
			})
			ok = seam.Until(flag.Load, time.Hour)
		}, seam.Options{MaxSteps: 10_000})
		if res.Outcome != seam.Finished || !ok {
			t.Fatalf("seed %d: %v %s, Until %v", seed, res.Outcome, res.Failure, ok)
		}
	}
}

// A poller whose condition came out false before another goroutine's
// write may see it true now: it does not count as waiting on time alone
// until it has checked again. Here B waits for C's flag and then sets
// A's; A's limit must never pass. The bug this catches: a poller judged
// quiet on a stale check, so A's limit passed while B could still move.
func TestUntilSeesWritesSinceLastCheck(t *testing.T) {
	for seed := range uint64(50) {
		var ok bool
		res, _ := seam.Run(seeded(seed), func() {
			var forA, forB seam.Bool
			seam.Go(func() {
				if seam.Until(forB.Load, time.Hour) {
					forA.Store(true)
				}
			})
			seam.Go(func() { seam.Yield(); forB.Store(true) })
			ok = seam.Until(forA.Load, time.Hour)
		}, seam.Options{MaxSteps: 10_000})
		if res.Outcome != seam.Finished || !ok {
			t.Fatalf("seed %d: %v %s, Until %v", seed, res.Outcome, res.Failure, ok)
		}
	}
}

// Each step names the code that called the seam, not the seam itself nor
// the caller's caller: a report that pointed elsewhere would mislead.
func TestTraceNamesTheCaller(t *testing.T) {
	var got int64
	res, _ := seam.Run(first{}, lostUpdate(&got), seam.Options{Trace: true})
	for _, e := range res.Trace {
		if e.Op == "load" && !strings.HasPrefix(e.At, "seam/sched_test.go:") {
			t.Fatalf("a load is placed at %s", e.At)
		}
	}
}

// A coroutine's seam calls count as its resumer's once it adopts it: the
// run sees one goroutine, not a stranger.
func TestAdoptedCoroutine(t *testing.T) {
	res, _ := seam.Run(seeded(1), func() {
		var x seam.Int64
		owner := seam.Current()
		next, stop := iter.Pull(func(yield func(int) bool) {
			seam.Adopt(owner)
			x.Add(1)
			seam.Drop()
			yield(1)
		})
		defer stop()
		next()
		x.Add(1)
	}, seam.Options{})
	if res.Outcome != seam.Finished || res.Outside != 0 {
		t.Fatalf("%v, %d calls outside: %s", res.Outcome, res.Outside, res.Failure)
	}
}
