package stress

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/spec"
)

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
