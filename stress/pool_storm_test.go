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
	"github.com/insideout-go/insideout/impl/rt"
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
	run := newPoolRun(cfg)
	if !run.setUp(&res) {
		return res
	}
	begin := time.Now()
	run.startProducers()
	run.startStorm()
	run.startWatchdog()
	close(run.start)
	hang := run.blow()
	stormTime := time.Since(begin)

	// The end. Every runtime the storm made: the pool's, drained and
	// migrated.
	all := run.storm.targets()
	if hang = run.end(all, hang); hang != "" {
		run.release(&res, hang)
		return res
	}
	run.audit(&res, all, stormTime)
	return res
}

// poolRun is the state of one pool storm, shared by its goroutines: the
// items, the pool and its mailbox, what the storm spawned and took, and
// the flags by which the run is cut and stopped.
type poolRun struct {
	cfg   poolStormConfig
	box   *pool.Box
	p     *pool.Pool
	storm *poolStorm

	problems                      mbProblems
	progress                      atomic.Int64 // sends and steps
	stepsRun                      atomic.Int64
	totalSteps                    int64
	stop                          atomic.Bool // the watchdog stopped the run
	cutting                       atomic.Bool // the mailbox is about to be closed under the producers
	stormStop                     atomic.Bool
	stalled                       atomic.Bool
	producers, stormers, watchdog sync.WaitGroup
	start                         chan struct{}
	watchdogDone                  chan struct{}
	total                         int
	jobs                          []*job
	byCont                        map[*cont.C]*job
	prefill                       int // how many of each producer's items are queued before the pool starts
}

// newPoolRun makes the mailbox and the items of a storm.
func newPoolRun(cfg poolStormConfig) *poolRun {
	total := cfg.producers * cfg.perProducer
	run := &poolRun{
		cfg:          cfg,
		box:          mailbox.New[cont.C](cfg.capacity),
		start:        make(chan struct{}),
		watchdogDone: make(chan struct{}),
		total:        total,
		jobs:         make([]*job, total),
		byCont:       make(map[*cont.C]*job, total),
		prefill:      int(cfg.prefill * float64(cfg.perProducer)),
	}
	jr := rand.New(rand.NewPCG(cfg.seed, 0x10b))
	for i := range run.jobs {
		run.jobs[i] = newJob(i, 1+jr.IntN(poolItemSteps), &run.progress, &run.stepsRun, &run.problems)
		run.byCont[run.jobs[i].c] = run.jobs[i]
		run.totalSteps += int64(run.jobs[i].steps)
	}
	return run
}

// setUp queues the prefill and makes the pool. It reports false, with
// the problem in res, if either fails.
func (run *poolRun) setUp(res *result) bool {
	cfg := run.cfg
	// The prefill: each producer's first items, queued before the pool
	// has a worker, so that a run halted mid-way leaves items queued even
	// where the workers keep up with the producers.
	for pr := range cfg.producers {
		for _, j := range run.jobs[pr*cfg.perProducer : pr*cfg.perProducer+run.prefill] {
			// The bug: a send refused by a fresh mailbox (only an
			// unbounded one is prefilled).
			if r := run.box.TrySend(j.c); r != spec.Delivered {
				res.problemf("prefilling item %d: TrySend reported %v", j.id, r)
				return false
			}
			j.sent = true
		}
	}
	p, err := pool.New(cfg.dispatcher, run.box, cfg.workers)
	if err != nil {
		res.problemf("pool.New: %v", err)
		return false
	}
	run.p = p
	run.storm = &poolStorm{cfg: cfg, box: run.box, p: p}
	return true
}

// startProducers starts the producers; they wait for start.
func (run *poolRun) startProducers() {
	for pr := range run.cfg.producers {
		run.producers.Go(func() { run.produce(pr) })
	}
}

// produce is producer pr: it sends the rest of its items, in order, by
// SendContext with a short timeout or by TrySend, until the run is cut
// or stopped.
func (run *poolRun) produce(pr int) {
	cfg, box := run.cfg, run.box
	stop, cutting := &run.stop, &run.cutting
	r := rand.New(rand.NewPCG(cfg.seed, uint64(pr)))
	<-run.start
	for _, j := range run.jobs[pr*cfg.perProducer+run.prefill : (pr+1)*cfg.perProducer] {
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
				run.progress.Add(1)
				break
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				if !stop.Load() && !cutting.Load() {
					// The bug: a send refused though nobody closed
					// the mailbox.
					run.problems.add("producer %d: sending item %d: %v", pr, j.id, err)
				}
				break
			}
		}
		if r.IntN(16) == 0 {
			jitter(r, 100)
		}
	}
}

// startStorm starts the storm: two goroutines that act on the workers and
// the pool, and one that keeps about cfg.workers of them running.
func (run *poolRun) startStorm() {
	cfg, s := run.cfg, run.storm
	for g := range 2 {
		run.stormers.Go(func() {
			r := rand.New(rand.NewPCG(cfg.seed, 100+uint64(g)))
			<-run.start
			for !run.stormStop.Load() {
				s.act(r, &run.problems)
				jitter(r, 50)
			}
		})
	}
	run.stormers.Go(func() {
		r := rand.New(rand.NewPCG(cfg.seed, 200))
		<-run.start
		for !run.stormStop.Load() {
			s.replenish(&run.problems)
			jitter(r, 20)
		}
	})
}

// startWatchdog starts the watchdog: if nothing is sent or run for
// cfg.stall, an item or a worker is stuck; it stops the run (the
// producers give up, the mailbox is closed for writing) so that the test
// reports instead of hanging.
func (run *poolRun) startWatchdog() {
	run.watchdog.Go(func() {
		watchStall(run.watchdogDone, &run.progress, run.cfg.stall, func() {
			if !run.stalled.Swap(true) {
				run.stop.Store(true)
				run.box.CloseWrite()
			}
		})
	})
}

// blow lets the storm blow until the run has gone far enough, then stops
// the storm and the watchdog. It returns what hung, if anything did.
func (run *poolRun) blow() (hang string) {
	cfg, box := run.cfg, run.box
	producersDone := make(chan struct{})
	go func() {
		run.producers.Wait()
		close(producersDone)
	}()
	if cfg.graceful {
		hang = waitAll(&run.producers, cfg.finish)
	}
	// The storm goes on until the pool has done a good part of the work
	// (cfg.until of all the items' steps), or, once the producers are
	// done, has taken every item from the mailbox (it stays empty for 20
	// looks in a row: the rest is in the workers' hands, some of them
	// stopped for good), or the watchdog stopped the run. A run that ends
	// halted may end while the producers still send.
	for deadline, empty := time.Now().Add(cfg.finish), 0; hang == "" && !run.stalled.Load(); {
		select {
		case <-producersDone:
			if box.Len() == 0 {
				empty++
			} else {
				empty = 0
			}
		default:
		}
		if run.stepsRun.Load() >= int64(cfg.until*float64(run.totalSteps)) || empty == 20 {
			break
		}
		if time.Now().After(deadline) {
			hang = fmt.Sprintf("the pool ran %d of %d steps in %v, with %d items queued", run.stepsRun.Load(), run.totalSteps, cfg.finish, box.Len())
			break
		}
		time.Sleep(time.Millisecond)
	}
	run.stormStop.Store(true)
	if hang == "" {
		hang = waitAll(&run.stormers, cfg.finish)
	}
	close(run.watchdogDone)
	run.watchdog.Wait()
	return hang
}

// end ends the pool, gracefully (every worker thawed, then pool.Close)
// or halted mid-way with the producers cut off, and joins every runtime
// of all. It returns what hung, starting from hang.
func (run *poolRun) end(all []*rt.Runtime, hang string) string {
	cfg, box, p := run.cfg, run.box, run.p
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
		run.cutting.Store(true)
		box.CloseWrite()
		if hang == "" {
			hang = waitAll(&run.producers, cfg.finish)
		}
	}
	if hang == "" {
		if alive := joinAll(all, cfg.finish); alive != "" {
			hang = "runtimes not Dead after the end of the storm: " + alive
		}
	}
	return hang
}

// release, after a hang, halts and closes everything, so that the
// goroutines end, and reports the hang in res.
func (run *poolRun) release(res *result, hang string) {
	for _, w := range run.storm.targets() {
		w.Halt()
	}
	run.box.CloseWrite()
	run.box.CloseRead()
	if alive := joinAll(run.storm.targets(), run.cfg.finish); alive != "" {
		hang += "\nstill not Dead after a Halt of everything: " + alive
	}
	res.hang = hang
}

// audit, once every runtime of all is Dead, checks how each ended and
// accounts for every item (poolAccount), and adds what the goroutines
// found wrong.
func (run *poolRun) audit(res *result, all []*rt.Runtime, stormTime time.Duration) {
	cfg, s := run.cfg, run.storm
	for _, w := range all {
		// The bug: a worker that ends with an error other than the one a
		// Cancel gives (a step that panicked inside the pool).
		if err := w.Err(); err != nil && !errors.Is(err, spec.ErrCanceled) {
			res.problemf("runtime %s ended with %v", w, err)
		}
	}
	queued := run.box.Drain()
	left := run.p.Leftovers()
	s.mu.Lock()
	kept := len(s.kept)
	s.mu.Unlock()
	var stats []string
	for a := range poolActions {
		stats = append(stats, fmt.Sprintf("%s %d", actNames[a], s.counts[a].Load()))
	}
	sum := poolAccount(run.jobs, run.byCont, queued, left, res)
	res.logf("seed %#x: %d items to %d workers (%s, capacity %s, %s%s): a storm of %v, %d runtimes in all (%d drained, %d migrated, %d dispatchers ejected and kept); %s (chaos %v)",
		cfg.seed, run.total, cfg.workers, map[bool]string{true: "Runner", false: "Waiter"}[cfg.runner], capString(cfg.capacity),
		map[bool]string{true: "closed gracefully", false: "halted mid-way"}[cfg.graceful], map[bool]string{true: ", migrating", false: ""}[cfg.migrate],
		stormTime.Round(time.Millisecond), len(all), len(s.drained), len(s.migrated), kept, sum, chaos.Enabled)
	res.logf("storm: %s", strings.Join(stats, ", "))
	if run.stalled.Load() {
		res.problemf("nothing sent or run for %v: the run was stopped", cfg.stall)
	}
	run.problems.mu.Lock()
	res.problems = append(res.problems, run.problems.list...)
	if run.problems.more > 0 {
		res.problemf("and %d more problems like those", run.problems.more)
	}
	run.problems.mu.Unlock()
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
