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
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/spec"
)

// The pool suites' sizes at INSIDEOUT_SOAK=1, chosen with the others so
// that the whole package stays within about a minute under -race on two
// cores, with or without -tags chaos. INSIDEOUT_SOAK=n multiplies the
// items.
const (
	// Items sent per storm, over 4 producers, to a pool of pool.Waiter
	// workers (half as many with a bounded mailbox), and to a pool of
	// pool.Runner workers, each of which runs one item and ends (a runtime
	// spawned per item); each item takes 1 to poolItemSteps steps.
	poolItems       = 60000
	poolRunnerItems = 2500
	poolItemSteps   = 6
	// poolStepWork is the work of one step: rounds of a xorshift, about a
	// microsecond in all, enough that the workers fall behind the
	// producers and items queue up.
	poolStepWork = 400
)

// A job is one numbered multi-step continuation sent to a pool. Its steps
// record what happened to it; the storm's goroutines and the pool's
// workers touch only its atomics.
type job struct {
	id    int
	steps int // the steps it takes to complete
	c     *cont.C
	ran   atomic.Int32 // steps run
	done  atomic.Int32 // completions: times its last step ran
	busy  atomic.Bool  // one of its steps is running
	sink  uint64       // the steps' work, written by the step running
	sent  bool         // its producer's Send reported it delivered (read once the producers are done)
}

// newJob makes job id, of steps steps. Each step does a little work; the
// last marks the job done. progress and stepsRun count the steps run.
func newJob(id, steps int, progress, stepsRun *atomic.Int64, problems *mbProblems) *job {
	j := &job{id: id, steps: steps}
	var step cont.Step
	step = func(ctx context.Context, c *cont.C) cont.Step {
		if !j.busy.CompareAndSwap(false, true) {
			// The bug: one continuation run by two workers at once (handed
			// out twice, or a dispatcher resumed elsewhere while its worker
			// still runs it).
			problems.add("item %d: a step started while another of its steps was running", id)
		} else {
			defer j.busy.Store(false)
		}
		if j.done.Load() > 0 {
			// The bug: a step of a completed continuation run again.
			problems.add("item %d: a step ran after the item had completed", id)
		}
		n := int(j.ran.Add(1))
		progress.Add(1)
		stepsRun.Add(1)
		x := uint64(id)<<8 | uint64(n)
		for range poolStepWork {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
		j.sink = x
		if n%3 == 0 {
			runtime.Gosched() // widen the window for control operations mid-step
		}
		if n >= j.steps {
			j.done.Add(1)
			return nil
		}
		return step
	}
	j.c = cont.New(step)
	return j
}

// poolStormConfig sizes and shapes one storm.
type poolStormConfig struct {
	dispatcher             pool.Dispatcher
	runner                 bool // the dispatcher runs one item per worker (pool.Runner)
	capacity               int  // the mailbox's
	workers                int  // at the start; the storm keeps about this many running
	producers, perProducer int
	// graceful ends the storm with every worker thawed and pool.Close: the
	// workers run what is queued (a Waiter drains the mailbox); otherwise
	// every worker is halted mid-way and the mailbox drained.
	graceful bool
	// migrate resumes some ejected dispatchers on fresh runtimes, outside
	// the pool; the others are kept, never resumed.
	migrate bool
	// until is the part of all the items' steps the pool must have run
	// before the storm ends (unless it has taken every item before).
	until float64
	// prefill is the part of each producer's items queued before the
	// pool starts (an unbounded mailbox only).
	prefill float64
	seed    uint64
	stall   time.Duration // nothing sent or run for this long: stop, report
	finish  time.Duration // a wait longer than this is a hang
}

// poolStorm keeps what a storm spawned and took.
type poolStorm struct {
	cfg poolStormConfig
	box *pool.Box
	p   *pool.Pool

	mu       sync.Mutex
	drained  []*rt.Runtime // removed from the pool by Drain, still running
	migrated []*rt.Runtime // fresh runtimes running ejected dispatchers
	kept     []*cont.C     // ejected dispatchers, never resumed

	counts [poolActions]atomic.Int64
}

// The storm's actions on workers and on the pool.
const (
	actFreeze = iota
	actThaw
	actThawAll
	actInterrupt
	actEject
	actCancel
	actHalt
	actAdd
	actDrain
	actPoolInterrupt
	poolActions
)

var actNames = [poolActions]string{"freeze", "thaw", "thaw-all", "interrupt", "eject", "cancel", "halt", "add", "drain", "pool-interrupt"}

// actWeights: freezes, thaws and interrupts often; what stops a worker
// for good rarely.
var actWeights = [poolActions]int{8, 6, 1, 6, 2, 1, 1, 1, 1, 1}

// targets returns every runtime the storm may act on: the pool's workers,
// recent ones first in the window it draws from, and the drained and
// migrated runtimes.
func (s *poolStorm) targets() []*rt.Runtime {
	ts := slices.Collect(s.p.Items())
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(append(ts, s.drained...), s.migrated...)
}

// pick draws a runtime: mostly one of the newest workers (with pool.Runner,
// the pool keeps every worker that ever ran, most of them Dead), else any.
func (s *poolStorm) pick(r *rand.Rand) *rt.Runtime {
	ws := slices.Collect(s.p.Items())
	s.mu.Lock()
	extra := len(s.drained) + len(s.migrated)
	s.mu.Unlock()
	if len(ws) > 0 && (extra == 0 || r.IntN(8) != 0) {
		window := min(len(ws), 2*s.cfg.workers+2)
		if r.IntN(8) == 0 {
			window = len(ws)
		}
		return ws[len(ws)-1-r.IntN(window)]
	}
	ts := s.targets()
	if len(ts) == 0 {
		return nil
	}
	return ts[r.IntN(len(ts))]
}

// act does one action of the storm.
func (s *poolStorm) act(r *rand.Rand, problems *mbProblems) {
	total := 0
	for _, w := range actWeights {
		total += w
	}
	a, k := 0, r.IntN(total)
	for k >= actWeights[a] {
		k -= actWeights[a]
		a++
	}
	s.counts[a].Add(1)
	switch a {
	case actThawAll:
		for _, w := range s.targets() {
			w.Thaw()
		}
	case actAdd:
		if _, err := s.p.Add(); err != nil {
			problems.add("pool.Add: %v", err)
		}
	case actDrain:
		if w := s.p.Drain(); w != nil {
			s.mu.Lock()
			s.drained = append(s.drained, w)
			s.mu.Unlock()
		}
	case actPoolInterrupt:
		s.p.Interrupt()
	default:
		w := s.pick(r)
		if w == nil {
			return
		}
		switch a {
		case actFreeze:
			w.Freeze()
		case actThaw:
			w.Thaw()
		case actInterrupt:
			w.Interrupt()
		case actCancel:
			w.Cancel()
		case actHalt:
			w.Halt()
		case actEject:
			d, err := w.Eject()
			switch {
			case errors.Is(err, spec.ErrTornDown), errors.Is(err, spec.ErrNoContinuation):
			case err != nil || d == nil:
				// The bug: an Eject failing for a reason the rules do not
				// give, or succeeding with nothing.
				problems.add("Eject of worker %s: %v, %p", w, err, d)
			case s.cfg.migrate && r.IntN(2) == 0:
				// Migration: the dispatcher, with the item in its hand,
				// goes on on a fresh runtime. Its item is still reported
				// by the original worker's in-flight function (the same
				// variable), in Leftovers, once both are Dead.
				m, err := rt.Spawn(d)
				if err != nil {
					problems.add("spawning a runtime for an ejected dispatcher: %v", err)
					s.mu.Lock()
					s.kept = append(s.kept, d)
					s.mu.Unlock()
					return
				}
				s.mu.Lock()
				s.migrated = append(s.migrated, m)
				s.mu.Unlock()
			default:
				s.mu.Lock()
				s.kept = append(s.kept, d)
				s.mu.Unlock()
			}
		}
	}
}

// replenish adds workers while fewer than cfg.workers are running (not
// frozen, halted or torn down), so that the storm never starves the pool
// for long; it caps the live ones at four times that.
func (s *poolStorm) replenish(problems *mbProblems) {
	ws := slices.Collect(s.p.Items())
	running, alive := 0, 0
	for _, w := range ws[max(0, len(ws)-8*s.cfg.workers):] {
		f := w.Flags()
		if f&(spec.RtHalted|spec.RtTeardown) == 0 {
			alive++
			if f&spec.RtFrozen == 0 {
				running++
			}
		}
	}
	for ; running < s.cfg.workers && alive < 4*s.cfg.workers; running, alive = running+1, alive+1 {
		if _, err := s.p.Add(); err != nil {
			problems.add("pool.Add: %v", err)
			return
		}
	}
}

// joinAll waits, up to limit, until every runtime in rs is Dead, and
// names those that are not.
func joinAll(rs []*rt.Runtime, limit time.Duration) string {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for i, r := range rs {
		select {
		case <-r.Done():
		case <-timer.C:
			return notDead(rs[i:])
		}
	}
	return ""
}

// notDead names the runtimes of rs that are not Dead, with their flags.
func notDead(rs []*rt.Runtime) string {
	var alive []string
	for _, r := range rs {
		if f := r.Flags(); f&spec.RtDead == 0 {
			alive = append(alive, fmt.Sprintf("%s (%v)", r, f))
		}
	}
	return strings.Join(alive, ", ")
}

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

// Storms against pools: 4 producers send numbered multi-step continuations
// to a pool of 4 workers (pool.Waiter and pool.Runner, over an unbounded
// and a bounded mailbox) while storm goroutines freeze, thaw, interrupt,
// eject (keeping the dispatcher, or resuming it on a fresh runtime),
// cancel and halt workers, add workers, drain workers out of the pool and
// interrupt it. The pool then ends, gracefully (thawed, closed for
// writing, the queue run) or halted mid-way, every runtime is joined, and
// every item sent must be exactly one of completed once, still in the
// mailbox, or left over in a worker.
//
// The bug: an item lost (dropped by a dispatcher when its worker stops, or
// missing from Leftovers), run twice or by two workers at once, a step of
// a completed item run again, an item queued again after it started; a
// worker that does not stop, wake or end (Join sleeps); an Eject that
// fails for no reason the rules give; under -race, any unsynchronised
// access between a worker, its ejected dispatcher and the pool.
func TestPoolStorm(t *testing.T) {
	seed := resolveSeed(t)
	chaos.SetSeed(seed)
	n := soak(t)
	for i, c := range []struct {
		name      string
		d         pool.Dispatcher
		runner    bool
		capacity  int
		graceful  bool
		migrate   bool
		until     float64
		prefill   float64
		perWorker int
	}{
		{"waiter-unbounded-close", pool.Waiter, false, spec.Unbounded, true, false, 0.5, 0, poolItems},
		{"waiter-unbounded-halt-migrate", pool.Waiter, false, spec.Unbounded, false, true, 0.4, 0.5, poolItems},
		{"waiter-bounded-halt-migrate", pool.Waiter, false, 4, false, true, 0.7, 0, poolItems / 2},
		{"runner-unbounded-halt", pool.Runner, true, spec.Unbounded, false, false, 0.6, 0, poolRunnerItems},
		{"runner-bounded-close-migrate", pool.Runner, true, 2, true, true, 0.5, 0, poolRunnerItems},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := runPoolStorm(poolStormConfig{
				dispatcher: c.d, runner: c.runner, capacity: c.capacity, workers: 4,
				producers: 4, perProducer: c.perWorker * n / 4,
				graceful: c.graceful, migrate: c.migrate, until: c.until, prefill: c.prefill, seed: seed + uint64(i),
				stall: stallTimeout, finish: finishTimeout * time.Duration(n),
			})
			res.report(t)
		})
	}
}

// Broken dispatchers, for the self-check: each is pool.Waiter's loop with
// one promise broken.

// dropOnEnd drops the item in its hand when its step context ends (a
// halt, freeze, interrupt or eject of its worker mid-item).
func dropOnEnd(box *pool.Box) (*cont.C, func() []*cont.C) {
	var cur *cont.C
	w := cont.New(func(ctx context.Context, self *cont.C) cont.Step {
		if cur == nil {
			c, err := box.RecvContext(ctx)
			switch {
			case err == nil:
				cur = c
			case errors.Is(err, mailbox.ErrUnreadable):
				return nil
			default:
				return self.Next()
			}
		}
		if cur.Step(ctx) {
			cur = nil
		} else if ctx.Err() != nil {
			cur = nil // the bug: the item in hand is forgotten
		}
		return self.Next()
	})
	return w, func() []*cont.C { return []*cont.C{cur} }
}

// hiddenInFlight never reports the item in its hand.
func hiddenInFlight(box *pool.Box) (*cont.C, func() []*cont.C) {
	w, _ := pool.Waiter(box)
	return w, func() []*cont.C { return nil }
}

// stepAfterDone runs the last step of an item once more after it
// completed.
func stepAfterDone(box *pool.Box) (*cont.C, func() []*cont.C) {
	var cur *cont.C
	w := cont.New(func(ctx context.Context, self *cont.C) cont.Step {
		if cur == nil {
			c, err := box.RecvContext(ctx)
			switch {
			case err == nil:
				cur = c
			case errors.Is(err, mailbox.ErrUnreadable):
				return nil
			default:
				return self.Next()
			}
		}
		last := cur.Next()
		if cur.Step(ctx) {
			last(ctx, cur) // the bug: the finished item's step, again
			cur = nil
		}
		return self.Next()
	})
	return w, func() []*cont.C { return []*cont.C{cur} }
}

// The conservation check of TestPoolStorm must be able to fail: on pools
// whose dispatcher is broken, it must report the break as what it is.
func TestPoolStormCatchesBrokenDispatchers(t *testing.T) {
	for _, c := range []struct {
		name     string
		d        pool.Dispatcher
		graceful bool
		want     string
	}{
		{"drop-on-end", dropOnEnd, true, "items missing"},
		{"hidden-in-flight", hiddenInFlight, false, "items missing"},
		{"step-after-done", stepAfterDone, true, "completed more than once"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := runPoolStorm(poolStormConfig{
				dispatcher: c.d, capacity: spec.Unbounded, workers: 4,
				producers: 4, perProducer: 250, graceful: c.graceful, until: 0.6, seed: 1,
				stall: 2 * time.Second, finish: time.Minute,
			})
			requireCaught(t, res, c.want)
		})
	}
}
