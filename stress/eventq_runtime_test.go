package stress

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// The sizes of the runtime event-queue storm at INSIDEOUT_SOAK=1: rtqStorms
// storms of rtqRuntimes runtimes, each serving rtqWorkers continuations in
// its own event queue, each of which waits rtqWaits times for its pipe or a
// timer.
const (
	rtqStorms   = 3
	rtqRuntimes = 4
	rtqWorkers  = 16
	rtqWaits    = 6
)

// Runtimes serving continuations from their own event queues (each waits
// for its pipe with eventq.Await or sleeps with eventq.Sleep, again and
// again), while writers feed the pipes and a disturber freezes, thaws,
// interrupts, ejects and halts the runtimes at random. Afterwards every
// continuation must be exactly one of: finished, ejected, or among its
// runtime's leftovers; none may have run after it was handed out, and the
// fd count is back where it started.
//
// The bug: a continuation lost when a runtime halts while it waits in the
// queue (the queue's Close must hand it back), one run twice or after an
// Eject took it, a control operation that cannot reach a runtime asleep in
// its queue (the storm then hangs and reports it), a runtime that ends
// while continuations still wait in its queue, or a queue whose fds
// outlive its runtime.
func TestRuntimeEventQueueStorm(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	for storm := range rtqStorms * soak(t) {
		rtqStorm(t, seed+uint64(storm))
		if t.Failed() {
			t.Fatalf("storm %d failed (INSIDEOUT_SEED=%#x)", storm, seed)
		}
	}
}

// rtqWorker is one continuation of the storm, with what the audit needs.
type rtqWorker struct {
	c     *cont.C
	rfd   int
	wfd   int
	waits int
	// finished is set by the worker's last step; ejected by the disturber.
	finished, ejected atomic.Bool
	// running catches two runners at once, and a run after an Eject.
	running atomic.Bool
}

func rtqStorm(t *testing.T, seed uint64) {
	before := eqCountFDs(t)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var all []*rtqWorker
	byCont := map[*cont.C]*rtqWorker{}
	var runtimes []*rt.Runtime
	var problems sync.Map

	newWorker := func(sleepy bool) *rtqWorker {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		w := &rtqWorker{rfd: p[0], wfd: p[1]}
		var step cont.Step
		step = func(ctx context.Context, c *cont.C) cont.Step {
			if !w.running.CompareAndSwap(false, true) {
				problems.Store("a continuation stepped by two runners at once", true)
			}
			defer w.running.Store(false)
			if w.ejected.Load() {
				problems.Store("a continuation ran after an Eject had taken it", true)
			}
			if err := cont.MoveErr(ctx); err != nil {
				problems.Store("a wait was refused: "+err.Error(), true)
				return nil
			}
			if w.waits == rtqWaits {
				w.finished.Store(true)
				return nil
			}
			w.waits++
			if sleepy && w.waits%2 == 0 {
				return eventq.Sleep(ctx, c, time.Duration(w.waits)*100*time.Microsecond, step)
			}
			buf := make([]byte, 16)
			for {
				if _, err := unix.Read(w.rfd, buf); err != nil {
					break // drained (EAGAIN): wait for the next write
				}
			}
			return eventq.Await(ctx, c, w.rfd, eventq.Read, step)
		}
		w.c = cont.New(step)
		return w
	}

	// seeded[k] is set by runtime k's seeder when it runs. A runtime halted
	// or ejected before its first step never hands its workers to its
	// queue: its seeder is then among its leftovers (seederLeft) or was
	// taken by the Eject (seederEjected) instead, and under load, with the
	// race detector, that happens (the audit once counted those workers as
	// lost).
	seeded := make([]atomic.Bool, rtqRuntimes)
	seederEjected := make([]bool, rtqRuntimes)
	group := map[*rtqWorker]int{}
	seeders := map[*cont.C]int{}
	for k := range rtqRuntimes {
		var mine []*rtqWorker
		for i := range rtqWorkers {
			w := newWorker(i%2 == 0)
			mine = append(mine, w)
			all = append(all, w)
			byCont[w.c] = w
			group[w] = k
		}
		// The runtime's own continuation hands its workers to its queue,
		// then finishes: from then on the runtime lives on what its queue
		// holds.
		seeder := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
			seeded[k].Store(true)
			q, err := eventq.FromContext(ctx)
			if err != nil {
				problems.Store("no event queue on a runtime: "+err.Error(), true)
				return nil
			}
			for _, w := range mine {
				if _, err := q.After(0, w.c); err != nil {
					problems.Store("After: "+err.Error(), true)
				}
			}
			return nil
		})
		seeders[seeder] = k
		r, err := rt.Spawn(seeder)
		if err != nil {
			t.Fatal(err)
		}
		runtimes = append(runtimes, r)
	}

	// Writers: each byte wakes a worker awaiting its pipe.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for k := range 2 {
		wrng := rand.New(rand.NewPCG(seed, uint64(k)))
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				w := all[wrng.IntN(len(all))]
				unix.Write(w.wfd, []byte{1})
				if wrng.IntN(8) == 0 {
					time.Sleep(50 * time.Microsecond)
				}
			}
		})
	}

	// The disturber, on this goroutine.
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		r := runtimes[rng.IntN(len(runtimes))]
		switch rng.IntN(10) {
		case 0, 1:
			r.Freeze()
			time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
			r.Thaw()
		case 2, 3, 4:
			r.Interrupt()
		case 5:
			if c, err := r.Eject(); err == nil {
				if w := byCont[c]; w != nil {
					w.ejected.Store(true)
				} else if k, ok := seeders[c]; ok {
					seederEjected[k] = true // taken before its first step
				}
				r.Thaw() // emptied: it tears down, handing back its queue's
			} else if !errors.Is(err, spec.ErrNoContinuation) && !errors.Is(err, spec.ErrTornDown) {
				problems.Store("Eject: "+err.Error(), true)
			}
		case 6:
			if rng.IntN(4) == 0 {
				r.Halt()
			}
		default:
			time.Sleep(100 * time.Microsecond)
		}
	}
	for _, r := range runtimes {
		r.Halt()
	}
	joined := make(chan struct{})
	go func() {
		for _, r := range runtimes {
			r.Join()
		}
		close(joined)
	}()
	select {
	case <-joined:
	case <-time.After(eqStormLimit):
		t.Fatal("runtimes asleep in their event queues did not stop after Halt")
	}
	close(stop)
	wg.Wait()

	// The audit.
	left := map[*cont.C]int{}
	for _, r := range runtimes {
		if err := r.Err(); err != nil {
			t.Errorf("runtime: %v", err)
		}
		for _, c := range r.Leftovers() {
			left[c]++
		}
	}
	seederLeft := make([]bool, rtqRuntimes)
	for c, n := range left {
		if k, ok := seeders[c]; ok {
			seederLeft[k] = true // a seeder halted before its first step
			continue
		}
		if n > 1 {
			t.Errorf("a continuation is among the leftovers %d times", n)
		}
	}
	for k := range rtqRuntimes {
		states := 0
		for _, on := range []bool{seeded[k].Load(), seederLeft[k], seederEjected[k]} {
			if on {
				states++
			}
		}
		if states != 1 {
			t.Errorf("runtime %d: its seeder ran %v, is among its leftovers %v, was ejected %v: want exactly one", k, seeded[k].Load(), seederLeft[k], seederEjected[k])
		}
	}
	var finished, ejected, leftOver, unseeded, waits int
	for i, w := range all {
		waits += w.waits
		if !seeded[group[w]].Load() {
			// Never handed out: its runtime halted before the seeder ran.
			if w.finished.Load() || w.ejected.Load() || left[w.c] > 0 || w.waits > 0 {
				t.Errorf("worker %d of a runtime whose seeder never ran: finished %v, ejected %v, left over %v, %d waits", i, w.finished.Load(), w.ejected.Load(), left[w.c] > 0, w.waits)
			}
			unseeded++
			unix.Close(w.rfd)
			unix.Close(w.wfd)
			continue
		}
		switch {
		case w.finished.Load():
			finished++
		case w.ejected.Load():
			ejected++
		case left[w.c] > 0:
			leftOver++
		}
		states := 0
		for _, on := range []bool{w.finished.Load(), w.ejected.Load(), left[w.c] > 0} {
			if on {
				states++
			}
		}
		if states != 1 {
			k := group[w]
			t.Errorf("worker %d (runtime %d: seeded %v, %d leftovers, error %v): finished %v, ejected %v, left over %v, %d waits: want exactly one",
				i, k, seeded[k].Load(), len(runtimes[k].Leftovers()), runtimes[k].Err(), w.finished.Load(), w.ejected.Load(), left[w.c] > 0, w.waits)
		}
		unix.Close(w.rfd)
		unix.Close(w.wfd)
	}
	t.Logf("%d workers: %d finished, %d ejected, %d left over, %d never handed out (their runtime halted or ejected before its first step); %d waits in all", len(all), finished, ejected, leftOver, unseeded, waits)
	if waits < len(all) {
		t.Errorf("only %d waits for %d workers: the storm did not run", waits, len(all))
	}
	problems.Range(func(k, _ any) bool {
		t.Error(k)
		return true
	})
	if after := eqCountFDs(t); after != before {
		t.Errorf("fds: %d before the storm, %d after", before, after)
	}
}
