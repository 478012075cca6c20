package stress

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/spec"
)

// runPoolStorm runs producers that send numbered multi-step continuations
// to a pool, and storm goroutines that freeze, thaw, interrupt, eject,
// cancel and halt its workers, add workers, drain workers out of it and
// interrupt it, then ends the pool and checks conservation: every item
// sent is exactly one of completed once, still in the mailbox, or left
// over in a worker (pool.Leftovers, which also reports the item in the
// hand of an ejected dispatcher, through its original worker).
func runPoolStorm(cfg poolStormConfig) result {
	var res result
	box := mailbox.New[cont.C](cfg.capacity)
	var (
		problems                   mbProblems
		progress                   atomic.Int64 // sends and steps
		stepsRun                   atomic.Int64
		totalSteps                 int64
		stop                       atomic.Bool // the watchdog stopped the run
		cutting                    atomic.Bool // the mailbox is about to be closed under the producers
		stormStop                  atomic.Bool
		stalled                    atomic.Bool
		producers, storm, watchdog sync.WaitGroup
		start                      = make(chan struct{})
		total                      = cfg.producers * cfg.perProducer
		jobs                       = make([]*job, total)
		byCont                     = make(map[*cont.C]*job, total)
		jr                         = rand.New(rand.NewPCG(cfg.seed, 0x10b))
	)
	for i := range jobs {
		jobs[i] = newJob(i, 1+jr.IntN(poolItemSteps), &progress, &stepsRun, &problems)
		byCont[jobs[i].c] = jobs[i]
		totalSteps += int64(jobs[i].steps)
	}
	// The prefill: each producer's first items, queued before the pool
	// has a worker, so that a run halted mid-way leaves items queued even
	// where the workers keep up with the producers.
	prefill := int(cfg.prefill * float64(cfg.perProducer))
	for pr := range cfg.producers {
		for _, j := range jobs[pr*cfg.perProducer : pr*cfg.perProducer+prefill] {
			// The bug: a send refused by a fresh mailbox (only an
			// unbounded one is prefilled).
			if r := box.TrySend(j.c); r != spec.Delivered {
				res.problemf("prefilling item %d: TrySend reported %v", j.id, r)
				return res
			}
			j.sent = true
		}
	}
	p, err := pool.New(cfg.dispatcher, box, cfg.workers)
	if err != nil {
		res.problemf("pool.New: %v", err)
		return res
	}
	s := &poolStorm{cfg: cfg, box: box, p: p}
	begin := time.Now()
	for pr := range cfg.producers {
		producers.Go(func() {
			r := rand.New(rand.NewPCG(cfg.seed, uint64(pr)))
			<-start
			for _, j := range jobs[pr*cfg.perProducer+prefill : (pr+1)*cfg.perProducer] {
				if stop.Load() || cutting.Load() {
					break
				}
				for !stop.Load() && !cutting.Load() {
					var err error
					if r.IntN(2) == 0 {
						ctx, cancel := context.WithTimeout(context.Background(), time.Duration(50+r.IntN(500))*time.Microsecond)
						err = box.SendContext(ctx, j.c)
						cancel()
					} else {
						switch res := box.TrySend(j.c); res {
						case spec.Delivered:
						case spec.Full, spec.Paused:
							err = context.DeadlineExceeded
							runtime.Gosched()
						default:
							err = fmt.Errorf("TrySend: %v", res)
						}
					}
					if err == nil {
						j.sent = true
						progress.Add(1)
						break
					}
					if !errors.Is(err, context.DeadlineExceeded) {
						if !stop.Load() && !cutting.Load() {
							// The bug: a send refused though nobody closed
							// the mailbox.
							problems.add("producer %d: sending item %d: %v", pr, j.id, err)
						}
						break
					}
				}
				if r.IntN(16) == 0 {
					jitter(r, 100)
				}
			}
		})
	}
	for g := range 2 {
		storm.Go(func() {
			r := rand.New(rand.NewPCG(cfg.seed, 100+uint64(g)))
			<-start
			for !stormStop.Load() {
				s.act(r, &problems)
				jitter(r, 50)
			}
		})
	}
	storm.Go(func() {
		r := rand.New(rand.NewPCG(cfg.seed, 200))
		<-start
		for !stormStop.Load() {
			s.replenish(&problems)
			jitter(r, 20)
		}
	})
	// The watchdog: if nothing is sent or run for cfg.stall, an item or a
	// worker is stuck; it stops the run (the producers give up, the
	// mailbox is closed for writing) so that the test reports instead of
	// hanging.
	watchdogDone := make(chan struct{})
	watchdog.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		seen, since := progress.Load(), time.Now()
		for {
			select {
			case <-watchdogDone:
				return
			case <-tick.C:
			}
			if n := progress.Load(); n != seen {
				seen, since = n, time.Now()
				continue
			}
			if time.Since(since) >= cfg.stall && !stalled.Load() {
				stalled.Store(true)
				stop.Store(true)
				box.CloseWrite()
			}
		}
	})
	close(start)
	producersDone := make(chan struct{})
	go func() {
		producers.Wait()
		close(producersDone)
	}()
	var hang string
	if cfg.graceful {
		hang = waitAll(&producers, cfg.finish)
	}
	// The storm goes on until the pool has done a good part of the work
	// (cfg.until of all the items' steps), or, once the producers are
	// done, has taken every item from the mailbox (it stays empty for 20
	// looks in a row: the rest is in the workers' hands, some of them
	// stopped for good), or the watchdog stopped the run. A run that ends
	// halted may end while the producers still send.
	for deadline, empty := time.Now().Add(cfg.finish), 0; hang == "" && !stalled.Load(); {
		select {
		case <-producersDone:
			if box.Len() == 0 {
				empty++
			} else {
				empty = 0
			}
		default:
		}
		if stepsRun.Load() >= int64(cfg.until*float64(totalSteps)) || empty == 20 {
			break
		}
		if time.Now().After(deadline) {
			hang = fmt.Sprintf("the pool ran %d of %d steps in %v, with %d items queued", stepsRun.Load(), totalSteps, cfg.finish, box.Len())
			break
		}
		time.Sleep(time.Millisecond)
	}
	stormStop.Store(true)
	if hang == "" {
		hang = waitAll(&storm, cfg.finish)
	}
	close(watchdogDone)
	watchdog.Wait()
	stormTime := time.Since(begin)

	// The end. Every runtime the storm made: the pool's, drained and
	// migrated.
	all := s.targets()
	if cfg.graceful && hang == "" {
		for _, w := range all {
			w.Thaw()
		}
		// pool.Close closes the mailbox for writing and joins the pool's
		// workers; drained and migrated runtimes end as the workers do.
		closed := make(chan struct{})
		go func() {
			p.Close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(cfg.finish):
			hang = "pool.Close did not return; workers not Dead: " + notDead(slices.Collect(p.Items()))
		}
	} else {
		for _, w := range all {
			w.Halt()
		}
		// Cut the producers off: their sends from now on fail.
		cutting.Store(true)
		box.CloseWrite()
		if hang == "" {
			hang = waitAll(&producers, cfg.finish)
		}
	}
	if hang == "" {
		if alive := joinAll(all, cfg.finish); alive != "" {
			hang = "runtimes not Dead after the end of the storm: " + alive
		}
	}
	if hang != "" {
		// Release everything, so that the goroutines end, and report.
		for _, w := range s.targets() {
			w.Halt()
		}
		box.CloseWrite()
		box.CloseRead()
		if alive := joinAll(s.targets(), cfg.finish); alive != "" {
			hang += "\nstill not Dead after a Halt of everything: " + alive
		}
		res.hang = hang
		return res
	}
	for _, w := range all {
		// The bug: a worker that ends with an error other than the one a
		// Cancel gives (a step that panicked inside the pool).
		if err := w.Err(); err != nil && !errors.Is(err, spec.ErrCanceled) {
			res.problemf("runtime %s ended with %v", w, err)
		}
	}
	queued := box.Drain()
	left := p.Leftovers()
	s.mu.Lock()
	kept := len(s.kept)
	s.mu.Unlock()
	var stats []string
	for a := range poolActions {
		stats = append(stats, fmt.Sprintf("%s %d", actNames[a], s.counts[a].Load()))
	}
	sum := poolAccount(jobs, byCont, queued, left, &res)
	res.logf("seed %#x: %d items to %d workers (%s, capacity %s, %s%s): a storm of %v, %d runtimes in all (%d drained, %d migrated, %d dispatchers ejected and kept); %s (chaos %v)",
		cfg.seed, total, cfg.workers, map[bool]string{true: "Runner", false: "Waiter"}[cfg.runner], capString(cfg.capacity),
		map[bool]string{true: "closed gracefully", false: "halted mid-way"}[cfg.graceful], map[bool]string{true: ", migrating", false: ""}[cfg.migrate],
		stormTime.Round(time.Millisecond), len(all), len(s.drained), len(s.migrated), kept, sum, chaos.Enabled)
	res.logf("storm: %s", strings.Join(stats, ", "))
	if stalled.Load() {
		res.problemf("nothing sent or run for %v: the run was stopped", cfg.stall)
	}
	problems.mu.Lock()
	res.problems = append(res.problems, problems.list...)
	if problems.more > 0 {
		res.problemf("and %d more problems like those", problems.more)
	}
	problems.mu.Unlock()
	return res
}

// poolAccount checks conservation: every item sent is exactly one of
// completed (once, after all its steps), still in the mailbox (never
// started), or left over in a worker; an item not sent is none of them
// and never ran. It reports the problems in res and returns the counts.
func poolAccount(jobs []*job, byCont map[*cont.C]*job, queued, left []*cont.C, res *result) string {
	inQueue := make(map[*job]int)
	inLeft := make(map[*job]int)
	var foreign int
	for _, c := range queued {
		if j, ok := byCont[c]; ok {
			inQueue[j]++
		} else {
			foreign++
		}
	}
	for _, c := range left {
		if j, ok := byCont[c]; ok {
			inLeft[j]++
		} else {
			foreign++
		}
	}
	var kinds [6][]string
	var counts [6]int
	note := func(k int, s string) {
		counts[k]++
		if len(kinds[k]) < reportFirstMany {
			kinds[k] = append(kinds[k], s)
		}
	}
	sent, completed := 0, 0
	for _, j := range jobs {
		done, ran, q, l := int(j.done.Load()), int(j.ran.Load()), inQueue[j], inLeft[j]
		if !j.sent {
			if done+q+l > 0 || ran > 0 {
				// The bug: an item whose Send reported failure, yet ran or
				// was queued.
				note(4, fmt.Sprintf("%d (ran %d, queued %d, left %d)", j.id, ran, q, l))
			}
			continue
		}
		sent++
		completed += min(done, 1)
		switch where := min(done, 1) + q + l; {
		case where == 0:
			// The bug: an item lost: sent, never completed, not in the
			// mailbox, and in no worker's hand (dropped by a dispatcher,
			// or not reported by Leftovers).
			note(0, fmt.Sprintf("%d (ran %d of %d steps)", j.id, ran, j.steps))
		case where > 1:
			// The bug: an item in two places: completed and still queued
			// or left over, or handed to two workers.
			note(1, fmt.Sprintf("%d (completed %d, queued %d, left %d)", j.id, done, q, l))
		}
		switch {
		case done > 1:
			// The bug: an item completed twice.
			note(2, fmt.Sprintf("%d x%d", j.id, done))
		case done == 1 && ran != j.steps:
			// The bug: a completion after the wrong number of steps (a
			// step lost, or run twice).
			note(5, fmt.Sprintf("%d (%d steps of %d)", j.id, ran, j.steps))
		}
		if q > 0 && ran > 0 {
			// The bug: an item handed back to the mailbox after it
			// started, or run while still queued.
			note(3, fmt.Sprintf("%d (ran %d steps)", j.id, ran))
		}
	}
	if foreign > 0 {
		// The bug: the mailbox or Leftovers handing back a continuation
		// that was never sent (a dispatcher, a copy).
		res.problemf("%d continuations in the mailbox or Leftovers that are no item sent", foreign)
	}
	var b strings.Builder
	for k, what := range []string{
		"items missing (sent; not completed, queued or left over)",
		"items in more than one place",
		"items completed more than once",
		"items still queued though they had started",
		"items not sent, yet run, queued or left over",
		"items completed after the wrong number of steps",
	} {
		if counts[k] > 0 {
			fmt.Fprintf(&b, "%d %s: %s\n", counts[k], what, strings.Join(kinds[k], " "))
		}
	}
	if b.Len() > 0 {
		res.problemf("conservation broken:\n%s", b.String())
	}
	if got := completed + len(queued) + len(left) - foreign; got != sent && b.Len() == 0 {
		res.problemf("%d completed + %d queued + %d left over = %d, want the %d sent", completed, len(queued), len(left), got, sent)
	}
	return fmt.Sprintf("%d sent = %d completed + %d queued + %d left over; %d not sent", sent, completed, len(queued), len(left), len(jobs)-sent)
}
