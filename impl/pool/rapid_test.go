package pool_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/internal/rapidcheck"
	"github.com/insideout-go/insideout/model"
	"pgregory.net/rapid"
)

// The property-based state-machine tests of pools: a real pool driven by
// random operations, checked after each against a simple model (the
// workers it must hold, in order, each with its model.RuntimeRef; the jobs
// sent), and at the end for conservation of the work. Nothing here
// asserts a timing: a deadline only bounds how long the pool may take to
// get where it must.

// settleWithin bounds how long a model's state may take to show.
const settleWithin = rapidcheck.SettleWithin

// stillFor is how long a state that must not change is watched. A check
// over such an interval can miss a change, never invent one.
const stillFor = 200 * time.Microsecond

// trackedJob is a job of k steps that records how it is run: its
// completions, and any violation seen from inside (two workers stepping it
// at once, a step after it finished).
type trackedJob struct {
	id        int
	c         *cont.C
	steps     int // run so far; touched only by the worker holding the job
	busy      atomic.Bool
	completed atomic.Int32
}

// jobSet is the jobs of one rapid case, the gate they pass through, and
// the violations they saw.
type jobSet struct {
	jobs   []*trackedJob
	byCont map[*cont.C]*trackedJob
	// gate is closed while it holds a channel that is not: a job step
	// makes progress only through an open gate, and otherwise waits for
	// the gate or for the end of its step's context (a Freeze, Halt or
	// Interrupt of its worker), then returns without progress. A closed
	// gate holds jobs in the middle, where Freeze and Halt catch them.
	gate atomic.Pointer[chan struct{}]
	mu   sync.Mutex
	bad  []string
}

func newJobSet() *jobSet {
	s := &jobSet{byCont: map[*cont.C]*trackedJob{}}
	s.setGate(true)
	return s
}

// setGate opens or closes the gate. Opening closes the channel that the
// steps waiting at the gate wait on; closing puts a fresh one in place.
// Only the test's goroutine calls it.
func (s *jobSet) setGate(open bool) {
	switch p := s.gate.Load(); {
	case s.open() == open:
	case open && p != nil:
		close(*p)
	default:
		ch := make(chan struct{})
		if open {
			close(ch)
		}
		s.gate.Store(&ch)
	}
}

func (s *jobSet) open() bool {
	p := s.gate.Load()
	if p == nil {
		return false
	}
	select {
	case <-*p:
		return true
	default:
		return false
	}
}

func (s *jobSet) violation(format string, args ...any) {
	s.mu.Lock()
	s.bad = append(s.bad, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *jobSet) violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bad)
}

// add makes a job of k steps, each of which passes the gate (see jobSet)
// and yields the processor.
func (s *jobSet) add(k int) *trackedJob {
	j := &trackedJob{id: len(s.jobs)}
	j.c = cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if !j.busy.CompareAndSwap(false, true) {
			s.violation("job %d stepped by two workers at once", j.id)
			return c.Next()
		}
		defer j.busy.Store(false)
		select {
		case <-*s.gate.Load():
		case <-ctx.Done():
			return c.Next() // reach the cooperative point, no progress
		}
		j.steps++
		switch {
		case j.steps > k:
			s.violation("job %d ran step %d of %d", j.id, j.steps, k)
			return nil
		case j.steps == k:
			if n := j.completed.Add(1); n > 1 {
				s.violation("job %d completed %d times", j.id, n)
			}
			return nil
		}
		runtime.Gosched()
		return c.Next()
	})
	s.jobs = append(s.jobs, j)
	s.byCont[j.c] = j
	return j
}

// completedCount is the number of jobs that have completed.
func (s *jobSet) completedCount() int {
	n := 0
	for _, j := range s.jobs {
		if j.completed.Load() > 0 {
			n++
		}
	}
	return n
}

// checkJobs fails on a violation seen from inside a job. Catches a job
// delivered to two workers (stepped at once, or completed twice), and a
// dispatcher that steps a finished continuation.
func checkJobs(t *rapid.T, s *jobSet, ops rapidcheck.OpLog) {
	t.Helper()
	if bad := s.violations(); len(bad) > 0 {
		t.Fatalf("%s\n\toperations: %v", strings.Join(bad, "; "), ops)
	}
}

// conserve checks, with model.PoolLedger, that every job sent is in
// exactly one bucket: completed (exactly once), still queued, or left
// over in a worker that stopped mid-way. Catches a job lost (in none:
// dropped by a dispatcher that was halted between receiving it and
// holding it, or by Drain or Clear forgetting a removed worker in
// Leftovers), and a job counted twice (a left-over job that also
// completed, a queued job that also ran).
func conserve(t *rapid.T, s *jobSet, queued, left []*cont.C, ops rapidcheck.OpLog) {
	t.Helper()
	var ledger model.PoolLedger
	for _, j := range s.jobs {
		ledger.Send() // j.id
		for range j.completed.Load() {
			ledger.Complete(j.id)
		}
	}
	ids := func(cs []*cont.C) []int {
		out := make([]int, len(cs))
		for i, c := range cs {
			out[i] = -1 // never sent
			if j := s.byCont[c]; j != nil {
				out[i] = j.id
			}
		}
		return out
	}
	if err := ledger.Audit(ids(queued), ids(left)); err != nil {
		t.Fatalf("%v\n\toperations: %v", err, ops)
	}
}
