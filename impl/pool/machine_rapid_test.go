package pool_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
	"pgregory.net/rapid"

	"github.com/insideout-go/insideout/internal/rapidcheck"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// poolWorker is a worker's runtime and its reference runtime.
type poolWorker struct {
	r   *rt.Runtime
	ref *model.RuntimeRef
}

// poolMachine is the state of TestPoolStateMachine.
type poolMachine struct {
	box  *pool.Box
	p    *pool.Pool
	jobs *jobSet
	ref  model.PoolRef[*poolWorker] // the pool's workers, and those that left: still running, the caller's
	ops  rapidcheck.OpLog
}

func (m *poolMachine) fatalf(t *rapid.T, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s\n\toperations: %v", fmt.Sprintf(format, args...), m.ops)
}

func (m *poolMachine) items() []*rt.Runtime { return slices.Collect(m.p.Items()) }

func (m *poolMachine) all() []*poolWorker { return m.ref.All() }

// TestPoolStateMachine drives a waiter pool over an unbounded mailbox with
// random Send, Add, Drain, Clear, Count, Items, Interrupt, Freeze and Thaw
// of a worker, and Halt; then closes it and checks that the work was
// conserved.
func TestPoolStateMachine(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		m := newPoolMachine(t)
		t.Repeat(map[string]func(*rapid.T){
			"Send":      m.Send,
			"Gate":      m.Gate,
			"Add":       m.Add,
			"Drain":     m.Drain,
			"Clear":     m.Clear,
			"Count":     m.Count,
			"Items":     m.Items,
			"Interrupt": m.Interrupt,
			"Freeze":    m.Freeze,
			"Thaw":      m.Thaw,
			"Halt":      m.Halt,
			"":          m.Check,
		})
		m.finish(t)
	})
}

// newPoolMachine makes the pool of a case, with a drawn number of
// workers, and makes the case halt and join every worker at the end.
func newPoolMachine(t *rapid.T) *poolMachine {
	m := &poolMachine{box: mailbox.New[cont.C](mailbox.Unbounded), jobs: newJobSet()}
	m.jobs.setGate(rapid.IntRange(0, 3).Draw(t, "gate") == 0) // mostly closed: jobs are caught mid-way
	n0 := rapid.IntRange(0, 3).Draw(t, "workers")
	p, err := pool.New(pool.Waiter, m.box, n0)
	if err != nil {
		t.Fatalf("pool.New(Waiter, box, %d): %v", n0, err)
	}
	m.p = p
	for _, r := range m.items() {
		m.ref.Add(&poolWorker{r: r, ref: new(model.RuntimeRef)})
	}
	m.ops.Add("new(%d)", n0)
	if m.ref.Count() != n0 {
		m.fatalf(t, "a pool made with %d workers has %d", n0, m.ref.Count())
	}
	t.Cleanup(func() {
		for _, w := range m.all() {
			w.r.Halt()
		}
		for i, w := range m.all() {
			if !rapidcheck.Within(func() { w.r.Join() }) {
				t.Errorf("cleanup: worker %d did not end within %v after Halt\n\toperations: %v", i, settleWithin, m.ops)
			}
		}
	})
	return m
}

// pick draws a worker of the pool and returns it as Items gives
// it, which must be the model's.
func (m *poolMachine) pick(t *rapid.T) *poolWorker {
	workers := m.ref.Items()
	if len(workers) == 0 {
		t.Skip("the pool is empty")
	}
	i := rapid.IntRange(0, len(workers)-1).Draw(t, "worker")
	w := workers[i]
	if items := m.items(); i >= len(items) || items[i] != w.r {
		m.fatalf(t, "Items()[%d] is not the model's worker %d", i, i)
	}
	return w
}

// Send sends one to three jobs.
func (m *poolMachine) Send(t *rapid.T) {
	for range rapid.IntRange(1, 3).Draw(t, "jobs") {
		j := m.jobs.add(rapid.IntRange(1, 40).Draw(t, "steps"))
		if err := m.box.Send(j.c); err != nil {
			m.fatalf(t, "Send of job %d: %v", j.id, err)
		}
		m.ops.Add("send(job %d)", j.id)
	}
}

// Gate opens or closes the gate that holds the jobs' steps back.
func (m *poolMachine) Gate(t *rapid.T) {
	open := !m.jobs.open()
	m.jobs.setGate(open)
	m.ops.Add("gate(open=%v)", open)
}

// Add adds a worker at the end of the pool.
func (m *poolMachine) Add(t *rapid.T) {
	r, err := m.p.Add()
	if err != nil || r == nil {
		m.fatalf(t, "Add() = %v, %v", r, err)
	}
	m.ref.Add(&poolWorker{r: r, ref: new(model.RuntimeRef)})
	m.ops.Add("add")
}

// Drain removes the last worker and hands it over, nil when
// the pool is empty. Catches a Drain that removes another
// worker than the one it returns, or the wrong end.
func (m *poolMachine) Drain(t *rapid.T) {
	got := m.p.Drain()
	m.ops.Add("drain")
	w, ok := m.ref.Drain()
	switch {
	case !ok && got != nil:
		m.fatalf(t, "Drain() of an empty pool = %v, want nil", got)
	case ok && got != w.r:
		m.fatalf(t, "Drain() = %v, want the last worker %v", got, w.r)
	}
}

// Clear removes every worker; they run on, the caller's.
func (m *poolMachine) Clear(t *rapid.T) {
	m.p.Clear()
	m.ops.Add("clear")
	m.ref.Clear()
}

// Count must be the model's number of workers.
func (m *poolMachine) Count(t *rapid.T) {
	if got := m.p.Count(); got != m.ref.Count() {
		m.fatalf(t, "Count() = %d, want %d", got, m.ref.Count())
	}
}

// Items must be the model's workers, in order.
func (m *poolMachine) Items(t *rapid.T) {
	got := m.items()
	for i, w := range m.ref.Items() {
		if i >= len(got) || got[i] != w.r {
			m.fatalf(t, "Items() = %v, want the model's workers in order", got)
		}
	}
	if len(got) != m.ref.Count() {
		m.fatalf(t, "Items() has %d workers, want %d", len(got), m.ref.Count())
	}
}

// Interrupt wakes idle workers, which must go back to work:
// nothing in the model changes. Catches a dispatcher that ends,
// or drops the job in hand, when its wait is interrupted (the
// flags, and at the end conservation, say so).
func (m *poolMachine) Interrupt(t *rapid.T) {
	m.p.Interrupt()
	m.ops.Add("interrupt")
}

// Freeze freezes a worker of the pool, as its reference says.
func (m *poolMachine) Freeze(t *rapid.T) {
	w := m.pick(t)
	got, want := w.r.Freeze(), w.ref.Freeze()
	m.ops.Add("freeze→%v", got)
	if got != want {
		m.fatalf(t, "Freeze() of a worker = %v, want %v", got, want)
	}
}

// Thaw thaws a worker of the pool, as its reference says.
func (m *poolMachine) Thaw(t *rapid.T) {
	w := m.pick(t)
	got, want := w.r.Thaw(), w.ref.Thaw()
	m.ops.Add("thaw→%v", got)
	if got != want {
		m.fatalf(t, "Thaw() of a worker = %v, want %v", got, want)
	}
}

// Halt halts the pool's workers, frozen ones included, and
// only them (drained workers run on): Join then returns, with
// no error. Catches a Halt that misses a worker, or that
// reaches workers drained out of the pool (their flags).
func (m *poolMachine) Halt(t *rapid.T) {
	m.p.Halt()
	for _, w := range m.ref.Items() {
		w.ref.Halt()
	}
	m.ops.Add("halt")
	var err error
	if !rapidcheck.Within(func() { err = m.p.Join() }) {
		m.fatalf(t, "Join did not return within %v after Halt", settleWithin)
	}
	if err != nil {
		m.fatalf(t, "Join after Halt: %v", err)
	}
}

// Check is the invariant: Count and Items are the model's, every worker
// (in the pool or drained) settles in its reference's flags (a
// waiter waiting for work shows Running), and no job saw a
// violation. Catches: Add, Drain or Clear keeping the wrong
// workers; a worker that ends when its mailbox is merely empty
// or its wait interrupted (it shows Dead); a Freeze that a
// worker blocked in its mailbox never sees (Running stays on);
// a job run twice.
func (m *poolMachine) Check(t *rapid.T) {
	if got := m.p.Count(); got != m.ref.Count() {
		m.fatalf(t, "Count() = %d, want %d", got, m.ref.Count())
	}
	got := m.items()
	if len(got) != m.ref.Count() {
		m.fatalf(t, "Items() has %d workers, want %d", len(got), m.ref.Count())
	}
	for i, w := range m.ref.Items() {
		if got[i] != w.r {
			m.fatalf(t, "Items()[%d] is not the model's", i)
		}
	}
	for i, w := range m.all() {
		want := w.ref.Flags() &^ spec.RtPolling // workers do not poll

		if !rapidcheck.WaitFor(func() bool { return w.r.Flags() == want }) {
			m.fatalf(t, "worker %d (of pool and drained): flags %v, want %v", i, w.r.Flags(), want)
		}
	}
	checkJobs(t, m.jobs, m.ops)
}

// finish is the end: open the gate, thaw every worker, close the pool (the
// mailbox is closed for writing, the live workers run what is
// queued and end), join the drained workers too. Then the three
// buckets.
func (m *poolMachine) finish(t *rapid.T) {
	m.jobs.setGate(true)
	alive := false
	for _, w := range m.all() {
		if got, want := w.r.Thaw(), w.ref.Thaw(); got != want {
			m.fatalf(t, "final Thaw() of a worker = %v, want %v", got, want)
		}
		alive = alive || !w.ref.Dead()
	}
	m.ops.Add("thaw all, close")
	var err error
	if !rapidcheck.Within(func() { err = m.p.Close() }) {
		m.fatalf(t, "Close did not return within %v", settleWithin)
	}
	if err != nil {
		m.fatalf(t, "Close: %v", err)
	}
	for i, w := range m.ref.Gone() {
		if !rapidcheck.Within(func() { err = w.r.Join() }) {
			m.fatalf(t, "drained worker %d did not end within %v after the mailbox closed for writing", i, settleWithin)
		}
		if err != nil {
			m.fatalf(t, "drained worker %d: Join: %v", i, err)
		}
	}
	queued := m.box.Drain()
	left := m.p.Leftovers()
	checkJobs(t, m.jobs, m.ops)
	conserve(t, m.jobs, queued, left, m.ops)
	// A live worker at Close runs everything queued: catches a Close
	// whose workers end while work is still queued.
	if alive && len(queued) > 0 {
		m.fatalf(t, "%d jobs still queued after Close though a live worker ran until the mailbox was drained", len(queued))
	}
	// Each worker holds at most one job: catches a dispatcher that
	// takes a second job before finishing the first.
	halted := 0
	for _, w := range m.all() {
		if w.ref.Flags()&spec.RtHalted != 0 {
			halted++
		}
	}
	if len(left) > halted {
		m.fatalf(t, "%d jobs left over by %d halted workers", len(left), halted)
	}
}

// TestPoolRunnerStateMachine drives a runner pool: every worker must run
// exactly one job, then end. The model, model.RunnerPoolRef, counts: the
// jobs queued, the workers alive (waiting for a job), the jobs completed;
// a worker that takes a job completes it and ends, so the dead workers
// must number the jobs completed, at every settled instant.
func TestPoolRunnerStateMachine(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		box := mailbox.New[cont.C](mailbox.Unbounded)
		jobs := newJobSet()
		var ops rapidcheck.OpLog
		var ref model.RunnerPoolRef // the model
		send := func(t *rapid.T) {
			j := jobs.add(rapid.IntRange(1, 20).Draw(t, "steps"))
			if err := box.Send(j.c); err != nil {
				t.Fatalf("Send: %v", err)
			}
			ops.Add("send(job %d)", j.id)
			ref.Send()
		}
		for range rapid.IntRange(0, 3).Draw(t, "jobs before") {
			send(t)
		}
		n0 := rapid.IntRange(0, 3).Draw(t, "workers")
		p, err := pool.New(pool.Runner, box, n0)
		if err != nil {
			t.Fatalf("pool.New(Runner, box, %d): %v", n0, err)
		}
		ops.Add("new(%d)", n0)
		for range n0 {
			ref.Add()
		}
		t.Cleanup(func() {
			box.CloseRead() // every runner still waiting ends
			p.Halt()
			if !rapidcheck.Within(func() { p.Join() }) {
				t.Errorf("cleanup: the runners did not end\n\toperations: %v", ops)
			}
		})
		dead := func() int {
			n := 0
			for r := range p.Items() {
				if r.Flags()&spec.RtDead != 0 {
					n++
				}
			}
			return n
		}
		settled := func() bool {
			return jobs.completedCount() == ref.Completed && dead() == ref.Dead() && box.Len() == ref.Queued
		}

		t.Repeat(map[string]func(*rapid.T){
			"Send": send,
			"Add": func(t *rapid.T) {
				if _, err := p.Add(); err != nil {
					t.Fatalf("Add: %v", err)
				}
				ops.Add("add")
				ref.Add()
			},
			// The invariant: the completed jobs, the dead runners and the
			// queued jobs reach the model's counts, and stay there.
			// Catches a runner that runs a second job (more completed than
			// dead, a queue that shrinks), a runner that does not end after
			// its job (fewer dead), one that ends without a job (more dead
			// than completed), and one that never takes a queued job.
			"": func(t *rapid.T) {
				if !rapidcheck.WaitFor(settled) {
					t.Fatalf("%d jobs completed, %d runners dead, %d queued; want %d, %d, %d\n\toperations: %v",
						jobs.completedCount(), dead(), box.Len(), ref.Completed, ref.Dead(), ref.Queued, ops)
				}
				rapidcheck.Pause(stillFor)
				if !settled() {
					t.Fatalf("moved after settling: %d jobs completed, %d runners dead, %d queued; want %d, %d, %d\n\toperations: %v",
						jobs.completedCount(), dead(), box.Len(), ref.Completed, ref.Dead(), ref.Queued, ops)
				}
				if got := p.Count(); got != ref.Count() {
					t.Fatalf("Count() = %d, want %d\n\toperations: %v", got, ref.Count(), ops)
				}
				checkJobs(t, jobs, ops)
			},
		})

		// The end: closed for writing, the runners still waiting end at
		// once without a job (none is queued while one waits), and
		// nothing is lost.
		box.CloseWrite()
		ops.Add("close")
		if !rapidcheck.Within(func() { err = p.Join() }) {
			t.Fatalf("the runners did not end after the mailbox closed for writing\n\toperations: %v", ops)
		}
		if err != nil {
			t.Fatalf("Join: %v\n\toperations: %v", err, ops)
		}
		if got := jobs.completedCount(); got != ref.Completed {
			t.Fatalf("%d jobs completed at the end, want %d\n\toperations: %v", got, ref.Completed, ops)
		}
		left := p.Leftovers()
		if len(left) != 0 {
			t.Fatalf("runners that ended normally left %d jobs over\n\toperations: %v", len(left), ops)
		}
		checkJobs(t, jobs, ops)
		conserve(t, jobs, box.Drain(), left, ops)
	})
}
