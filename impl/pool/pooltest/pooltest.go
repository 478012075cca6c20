// Package pooltest checks pools, such as impl/pool's: the scenario that
// sends jobs to a pool while its workers are added, drained, frozen,
// thawed, canceled, ejected and halted, then audits every job, which
// `insideout verify` and the tests run.
package pooltest

import (
	"context"
	"fmt"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
)

// Workers is the number of workers a pool of the pool scenario starts
// with.
const Workers = 2

// jobSteps is the number of steps of a job of the pool scenario.
const jobSteps = 3

// Pooled is the system under test of the pool scenario: a pool over one
// unbounded mailbox or two, the jobs sent to it, and the runtimes that
// left it (drained workers, and ejected dispatchers running on
// elsewhere).
type Pooled struct {
	Pool  *pool.Pool
	d     pool.Dispatcher
	boxes []*pool.Box // a job goes to boxes[i%len], as does a worker added

	done seam.Int64 // completed jobs

	mu     seam.Mutex
	jobs   []*job
	others []*rt.Runtime // drained workers, and runtimes running ejected dispatchers
}

// job counts the completions of one job and the steps it ran after one.
type job struct {
	completions, late seam.Int32
}

// NewPooled returns a pool of Workers workers running d.
func NewPooled(d pool.Dispatcher) *Pooled {
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(d, box, Workers)
	if err != nil {
		panic(fmt.Sprintf("pooltest: a pool: %v", err))
	}
	return &Pooled{Pool: p, d: d, boxes: []*pool.Box{box}}
}

// NewPooledSet returns a pool made by pool.Empty with Workers workers
// running d spawned over each of two mailboxes: jobs and added workers go
// to either, and Close closes both.
func NewPooledSet(d pool.Dispatcher) *Pooled {
	p := pool.Empty()
	boxes := []*pool.Box{mailbox.New[cont.C](mailbox.Unbounded), mailbox.New[cont.C](mailbox.Unbounded)}
	for _, box := range boxes {
		if _, err := p.Spawn(d, box, Workers); err != nil {
			panic(fmt.Sprintf("pooltest: a pool: %v", err))
		}
	}
	return &Pooled{Pool: p, d: d, boxes: boxes}
}

// box returns the mailbox of job or worker i.
func (p *Pooled) box(i int) *pool.Box { return p.boxes[i%len(p.boxes)] }

// newJob returns a new job: jobSteps steps, the last of which completes
// it.
func (p *Pooled) newJob() *cont.C {
	j := new(job)
	p.mu.Lock()
	p.jobs = append(p.jobs, j)
	p.mu.Unlock()
	n := 0
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if j.completions.Load() > 0 {
			j.late.Add(1) // a step after completion: ran twice
		}
		n++
		seam.Pause(time.Microsecond)
		if n < jobSteps {
			return c.Next()
		}
		j.completions.Add(1)
		p.done.Add(1)
		return nil
	})
}

// worker returns the worker numbered i modulo the pool's workers, or nil.
func (p *Pooled) worker(i int) *rt.Runtime {
	var ws []*rt.Runtime
	for r := range p.Pool.Items() {
		ws = append(ws, r)
	}
	if len(ws) == 0 {
		return nil
	}
	return ws[i%len(ws)]
}

func (p *Pooled) keep(r *rt.Runtime) {
	p.mu.Lock()
	p.others = append(p.others, r)
	p.mu.Unlock()
}

// onWorker applies f to worker i, reporting false if the pool has none.
func (p *Pooled) onWorker(i int, f func(*rt.Runtime) bool) model.PoolOutput {
	r := p.worker(i)
	return model.PoolOutput{OK: r != nil && f(r)}
}

// audit stops everything gracefully and accounts for every job: it thaws
// every runtime, closes the mailbox for writing, joins the pool and the
// runtimes that left it, then counts completed jobs, the pool's leftovers
// and what the mailbox still holds.
func (p *Pooled) audit() model.PoolOutput {
	p.mu.Lock()
	others := append([]*rt.Runtime(nil), p.others...)
	jobs := append([]*job(nil), p.jobs...)
	p.mu.Unlock()
	for r := range p.Pool.Items() {
		r.Thaw()
	}
	for _, r := range others {
		r.Thaw()
	}
	p.Pool.Close() // errors are the workers' own: canceled ones, for example
	for _, r := range others {
		r.Join()
	}
	out := model.PoolOutput{Left: len(p.Pool.Leftovers())}
	for _, box := range p.boxes {
		out.Inbox += len(box.Drain())
	}
	for _, j := range jobs {
		if c := j.completions.Load(); c > 1 || j.late.Load() > 0 {
			out.Dup++
		}
	}
	out.Done = int(p.done.Load())
	return out
}

// Ops are the operations of the pool scenario.
func Ops() []linearize.Op[*Pooled, model.PoolInput, model.PoolOutput] {
	in := func(op model.PoolOp) func(*linearize.Gen) model.PoolInput {
		return func(g *linearize.Gen) model.PoolInput { return model.PoolInput{Op: op, Worker: g.Intn(4)} }
	}
	one := func(name string, op model.PoolOp, w int, f func(*rt.Runtime) bool) linearize.Op[*Pooled, model.PoolInput, model.PoolOutput] {
		return linearize.Op[*Pooled, model.PoolInput, model.PoolOutput]{Name: name, Weight: w, Input: in(op),
			Run: func(p *Pooled, x model.PoolInput) model.PoolOutput { return p.onWorker(x.Worker, f) }}
	}
	return []linearize.Op[*Pooled, model.PoolInput, model.PoolOutput]{
		{Name: "submit", Weight: 8, Input: in(model.PoolSubmit),
			Run: func(p *Pooled, x model.PoolInput) model.PoolOutput {
				return model.PoolOutput{OK: p.box(x.Worker).Send(p.newJob()) == nil}
			}},
		{Name: "add", Weight: 2, Input: in(model.PoolAdd),
			Run: func(p *Pooled, x model.PoolInput) model.PoolOutput {
				if len(p.boxes) == 1 {
					_, err := p.Pool.Add()
					return model.PoolOutput{OK: err == nil}
				}
				_, err := p.Pool.Spawn(p.d, p.box(x.Worker), 1)
				return model.PoolOutput{OK: err == nil}
			}},
		{Name: "drain", Weight: 1, Input: in(model.PoolDrain),
			Run: func(p *Pooled, _ model.PoolInput) model.PoolOutput {
				r := p.Pool.Drain()
				if r != nil {
					p.keep(r)
				}
				return model.PoolOutput{OK: r != nil}
			}},
		{Name: "count", Weight: 2, Input: in(model.PoolCount),
			Run: func(p *Pooled, _ model.PoolInput) model.PoolOutput { return model.PoolOutput{N: p.Pool.Count()} }},
		{Name: "done", Weight: 4, Input: in(model.PoolDone),
			Run: func(p *Pooled, _ model.PoolInput) model.PoolOutput { return model.PoolOutput{N: int(p.done.Load())} }},
		{Name: "halt", Weight: 1, Input: in(model.PoolHalt),
			Run: func(p *Pooled, _ model.PoolInput) model.PoolOutput { p.Pool.Halt(); return model.PoolOutput{} }},
		{Name: "interrupt", Weight: 1, Input: in(model.PoolInterrupt),
			Run: func(p *Pooled, _ model.PoolInput) model.PoolOutput { p.Pool.Interrupt(); return model.PoolOutput{} }},
		one("freeze", model.PoolFreeze, 2, (*rt.Runtime).Freeze),
		one("thaw", model.PoolThaw, 2, (*rt.Runtime).Thaw),
		one("cancel", model.PoolCancel, 1, (*rt.Runtime).Cancel),
		// An ejected dispatcher, with the job it holds, runs on in a
		// runtime of its own: the job migrates and must complete once.
		{Name: "eject", Weight: 1, Input: in(model.PoolEject),
			Run: func(p *Pooled, x model.PoolInput) model.PoolOutput {
				return p.onWorker(x.Worker, func(r *rt.Runtime) bool {
					c, err := r.Eject()
					if err != nil {
						return false
					}
					moved, err := rt.Spawn(c)
					if err != nil {
						panic(fmt.Sprintf("pooltest: spawning a runtime: %v", err))
					}
					p.keep(moved)
					return true
				})
			}},
	}
}

// Finally audits the pool once every client has returned.
func Finally(p *Pooled, c linearize.Caller[model.PoolInput, model.PoolOutput]) {
	c.Do(model.PoolInput{Op: model.PoolAudit}, func() model.PoolOutput { return p.audit() })
}

// SetScenario is Scenario on pools made by NewPooledSet: workers of d
// over two mailboxes, which the jobs and the workers added are spread
// over. Its model starts with both mailboxes' workers.
func SetScenario(name string, d pool.Dispatcher) linearize.Scenario[*Pooled, model.PoolInput, model.PoolOutput] {
	sc := Scenario(name, d)
	sc.Model = linearize.Porcupine[model.PoolInput, model.PoolOutput](model.Pool(2 * Workers))
	sc.New = func() *Pooled { return NewPooledSet(d) }
	return sc
}

// Scenario returns the linearizability scenario of pools running
// dispatcher d: jobs submitted while workers come and go and are frozen,
// thawed, canceled, ejected and halted; every job must complete once, or
// be accounted for as left in the middle or still in the mailbox.
func Scenario(name string, d pool.Dispatcher) linearize.Scenario[*Pooled, model.PoolInput, model.PoolOutput] {
	return linearize.Scenario[*Pooled, model.PoolInput, model.PoolOutput]{
		Name:         name,
		Model:        linearize.Porcupine[model.PoolInput, model.PoolOutput](model.Pool(Workers)),
		New:          func() *Pooled { return NewPooled(d) },
		Ops:          Ops(),
		Clients:      3,
		OpsPerClient: 6,
		Finally:      Finally,
	}
}
