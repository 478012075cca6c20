package conttest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"
	"weak"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/model"
)

// Options tune RunRound.
type Options struct {
	// Dispatcher runs every pool's workers; nil means pool.Waiter.
	Dispatcher pool.Dispatcher
	// Deadline bounds the wait for every program to finish: a program
	// unfinished by then is lost (default 10s). It is no timing assertion:
	// a round takes milliseconds, and the deadline only turns a lost
	// continuation into a report instead of a hang.
	Deadline time.Duration
	// ChaosSeed seeds impl/chaos for the round (in -tags chaos builds).
	ChaosSeed uint64
}

// Result is what one run of a round found.
type Result struct {
	Problems []string // one line per problem, naming the program
	Wrong    int      // programs whose trace or ownership was wrong
	Lost     bool     // a program did not finish by the deadline
	Errors   string   // workers' errors (a step panicked), if any
	Dump     string   // every goroutine's stack, taken when a program was lost
}

// Failed reports whether the round failed.
func (r Result) Failed() bool {
	return len(r.Problems) > 0 || r.Wrong > 0 || r.Lost || r.Errors != ""
}

// nowhere is where a step runs that no runtime runs: never, in a correct
// runtime.
const nowhere model.Where = -2

func whereName(w model.Where) string {
	if w == nowhere {
		return "no runtime"
	}
	return w.String()
}

// contProg is the record of one program while it runs.
type contProg struct {
	id    int
	owner seam.Int64 // 1 + the step running now, 0 between steps
	done  seam.Int32 // times the program finished

	mu       seam.Mutex
	trace    []model.ContEvent
	problems []string
}

func (p *contProg) problem(format string, args ...any) {
	p.mu.Lock()
	p.problems = append(p.problems, fmt.Sprintf("program %d: ", p.id)+fmt.Sprintf(format, args...))
	p.mu.Unlock()
}

// contRun is one round being run: what the programs' steps use. Nothing
// in it reaches a continuation (runtimes are held weakly, and the pools
// are the runner's alone), so that the body of a sequential continuation,
// parked in a lost round, does not keep its own continuation reachable:
// seq stops such a body once its continuation is unreachable.
type contRun struct {
	round Round
	boxes []*cont.Box
	where map[weak.Pointer[rt.Runtime]]model.Where // every pool's workers; read-only once built
	progs []*contProg

	left    seam.Int64    // programs not yet finished
	allDone chan struct{} // closed by seam.Close once left is 0

	mu     seam.Mutex
	novels map[weak.Pointer[rt.Runtime]]bool // runtimes seen waiting that are no pool's
}

// RunRound runs r once on fresh pools and checks it: every program's
// recorded steps against model.ContTrace, and no two of its steps at once.
// All pools are closed and joined at the end.
func RunRound(r Round, o Options) Result {
	res := runContRound(r, o)
	if res.Failed() {
		// Stop the coroutines of sequential continuations left parked
		// (lost, or abandoned by a failed round): seq stops each once its
		// continuation is unreachable, which it is now that the round's
		// pools are.
		runtime.GC()
		runtime.GC()
	}
	return res
}

func runContRound(r Round, o Options) Result {
	if o.Dispatcher == nil {
		o.Dispatcher = pool.Waiter
	}
	if o.Deadline <= 0 {
		o.Deadline = 10 * time.Second
	}
	chaos.SetSeed(o.ChaosSeed) // the harness's setting, not a step: chaos.Point itself is reached through seam.Point
	run := &contRun{round: r, where: map[weak.Pointer[rt.Runtime]]model.Where{}, allDone: make(chan struct{}), novels: map[weak.Pointer[rt.Runtime]]bool{}}
	var pools []*pool.Pool
	var res Result
	for i, pc := range r.Pools {
		box := mailbox.New[cont.C](pc.Cap)
		var opts []rt.Option
		if pc.OSThread {
			opts = append(opts, rt.OSThread())
		}
		p, err := pool.New(o.Dispatcher, box, pc.Workers, opts...)
		if err != nil {
			panic(fmt.Sprintf("conttest: pool %d: %v", i, err))
		}
		pools = append(pools, p)
		run.boxes = append(run.boxes, box)
		for w := range p.Items() {
			run.where[weak.Make(w)] = model.Where(i)
		}
	}
	run.left.Store(int64(len(r.Programs)))
	if len(r.Programs) == 0 {
		seam.Close(run.allDone)
	}
	conts := make([]*cont.C, len(r.Programs))
	for i, pr := range r.Programs {
		p := &contProg{id: i}
		run.progs = append(run.progs, p)
		conts[i] = run.program(p, pr)
	}
	deadline, cancel := context.WithTimeout(context.Background(), o.Deadline)
	defer cancel()
	for i, pr := range r.Programs {
		if err := run.boxes[pr.Start].SendContext(deadline, conts[i]); err != nil {
			run.progs[i].problem("could not be sent to pool %d: %v", pr.Start, err)
		}
	}
	conts = nil // the runner keeps no continuation: a lost one can be collected
	seam.Await2(run.allDone, deadline.Done())
	finished := run.left.Load() <= 0
	if !finished {
		res.Lost = true
		res.Dump = stacks()
	}
	res.Errors, res.Problems = run.teardown(pools, finished)
	for i, pr := range r.Programs {
		if run.check(run.progs[i], pr, &res) {
			res.Wrong++
		}
	}
	return res
}

// teardown ends every pool: gracefully if every program finished (close
// the mailboxes, let the workers end, join them; nothing may be left in a
// worker's hand), else halting every worker and every runtime seen
// waiting first. It returns the workers' errors and its own problems.
func (run *contRun) teardown(pools []*pool.Pool, finished bool) (errs string, problems []string) {
	if !finished {
		run.haltAll(pools)
	}
	for _, b := range run.boxes {
		b.CloseWrite()
	}
	// The joins run on a goroutine of their own, the joiner, which hands
	// its errors over in joinErrs, written before joined is closed.
	var joinErrs []error
	joined := make(chan struct{})
	seam.Go(func() {
		var e []error
		for _, p := range pools {
			e = append(e, p.Join())
		}
		joinErrs = e
		seam.Close(joined)
	})
	// outside the seam: the harness's watchdog waits with a timer and a
	// ticker, which the seam has no wait for; the code under test (the
	// joiner, the workers) goes through it.
	const limit = 10 * time.Second
	timer := time.NewTimer(limit)
	defer timer.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select { // outside the seam: see above
		case <-joined:
			break wait
		case <-tick.C:
			if !finished {
				run.haltAll(pools) // runtimes spawned since
			}
		case <-timer.C:
			// The bug: a worker that does not end once its mailbox is
			// closed and drained (graceful), or once halted: a step that
			// ignores its context, a dispatcher that never returns.
			problems = append(problems, fmt.Sprintf("the pools' workers did not end within %v of the close:\n%s", limit, stacks()))
			run.haltAll(pools)
			seam.Await(joined)
			break wait
		}
	}
	var b strings.Builder
	for i, err := range joinErrs {
		if err != nil {
			// The bug: a step that panicked (spec.ErrResumedTwice from a
			// sequential continuation stepped twice at once, or a panic
			// of the harness's own checks).
			fmt.Fprintf(&b, "pool %d: %v\n", i, err)
		}
	}
	if finished {
		for i, p := range pools {
			if n := len(p.Leftovers()); n != 0 {
				// The bug: a continuation left in a worker's hand though
				// every program finished (a dispatcher that keeps a
				// continuation it handed on, or reports a stale one).
				problems = append(problems, fmt.Sprintf("pool %d: %d continuation(s) left over in its workers, though every program finished", i, n))
			}
			if n := len(run.boxes[i].Drain()); n != 0 {
				problems = append(problems, fmt.Sprintf("pool %d: %d continuation(s) still in its mailbox, though every program finished", i, n))
			}
		}
	} else {
		// Let go of what the mailboxes still hold: the programs' steps
		// hold the mailboxes.
		for _, b := range run.boxes {
			b.Drain()
		}
	}
	// Runtimes spawned by NovelThread end with their remote part, or once
	// halted; wait for them too, so that none outlives the round.
	run.mu.Lock()
	novels := make([]*rt.Runtime, 0, len(run.novels))
	for wr := range run.novels {
		if r := wr.Value(); r != nil {
			novels = append(novels, r)
		}
	}
	run.mu.Unlock()
	for _, r := range novels {
		select { // outside the seam: the harness's watchdog, as above
		case <-r.Done():
		case <-timer.C:
			problems = append(problems, fmt.Sprintf("a runtime spawned by NovelThread did not end within %v", limit))
			r.Halt()
		}
	}
	return b.String(), problems
}

func (run *contRun) haltAll(pools []*pool.Pool) {
	for _, p := range pools {
		p.Halt()
	}
	run.mu.Lock()
	for wr := range run.novels {
		if r := wr.Value(); r != nil {
			r.Halt()
		}
	}
	run.mu.Unlock()
}

// check compares program p's record with the model's trace and reports
// whether the program went wrong (a lost program is counted apart).
func (run *contRun) check(p *contProg, pr Program, res *Result) bool {
	want := model.ContTrace(model.Where(pr.Start), pr.Body)
	p.mu.Lock()
	got := append([]model.ContEvent(nil), p.trace...)
	problems := append([]string(nil), p.problems...)
	p.mu.Unlock()
	wrong := len(problems) > 0
	res.Problems = append(res.Problems, problems...)
	n := p.done.Load()
	switch {
	case n > 1:
		// The bug: a continuation run again after it finished, or a copy
		// of it run beside it.
		res.Problems = append(res.Problems, fmt.Sprintf("program %d: finished %d times", p.id, n))
		wrong = true
	case n == 0:
		// The bug: a continuation lost: dropped by a dispatcher, never
		// delivered by a move, or a caller never resumed.
		msg := fmt.Sprintf("program %d: lost: did not finish by the deadline, after %d of its %d steps", p.id, len(got), len(want))
		if len(got) > 0 {
			msg += fmt.Sprintf(" (last: %v)", eventName(got[len(got)-1]))
		}
		res.Problems = append(res.Problems, msg)
	}
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			if n == 0 {
				return wrong // lost: reported above
			}
			// The bug: a step skipped (a continuation resumed past a step,
			// a remote part whose caller went on without it).
			res.Problems = append(res.Problems, fmt.Sprintf("program %d: step %d of %d never ran: want %v", p.id, i+1, len(want), eventName(want[i])))
		case i >= len(want):
			// The bug: a step run twice (a dispatcher that steps a
			// continuation it handed on, a copy run beside it).
			res.Problems = append(res.Problems, fmt.Sprintf("program %d: extra step %d: %v, after all %d steps ran", p.id, i+1, eventName(got[i]), len(want)))
		case got[i] != want[i]:
			// The bug: a step on the wrong pool (a Goto that ran the rest
			// where it was, a caller resumed on the remote part's pool, a
			// NovelThread run in place), or out of order, or twice.
			res.Problems = append(res.Problems, fmt.Sprintf("program %d: step %d of %d: got %v, want %v", p.id, i+1, len(want), eventName(got[i]), eventName(want[i])))
		default:
			continue
		}
		return true // the first difference says it; the rest follows from it
	}
	return wrong
}

func eventName(e model.ContEvent) string {
	return fmt.Sprintf("step %d on %s", e.Step, whereName(e.Where))
}
