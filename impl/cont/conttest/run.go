package conttest

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
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

	controlled bool           // the round is a controlled run's main function (RunRoundScheduled)
	made       func(*contRun) // told the round's state as soon as it exists
	// madePools is told the round's pools once they exist. They are kept
	// apart from the round's state, which a sequential body parked in a
	// round that a controlled run ended holds on its coroutine's stack.
	madePools func([]*pool.Pool)
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

	mu sync.Mutex // guards novels, seen: the harness's bookkeeping, no switch point
	// novels are the runtimes seen waiting that are no pool's, in the
	// order they were first seen (halted and waited for in that order: a
	// map's order would differ from run to run, and so would a controlled
	// schedule's steps).
	novels []weak.Pointer[rt.Runtime]
	seen   map[weak.Pointer[rt.Runtime]]bool
	halted int // novels[:halted] were halted by haltAll

	// controlled: the round runs under the controlled scheduler, where
	// time is virtual (see teardown).
	controlled bool
}

// RunRound runs r once on fresh pools and checks it: every program's
// recorded steps against model.ContTrace, and no two of its steps at once.
// All pools are closed and joined at the end.
func RunRound(r Round, o Options) Result {
	res := runContRound(r, o)
	if res.Failed() {
		collectParked()
	}
	return res
}

// letGo drains the mailboxes of a round that a controlled run ended
// before its teardown (the run's goroutines ended with runtime.Goexit):
// a sequential body parked in one of the programs holds the round, and so
// its mailboxes, and the continuations in them would keep the body's
// coroutine from ever being collected and stopped (impl/seq.New's
// cleanup). It clears the round's pools too: their runtimes' goroutines
// ended without their teardown, so they never reach Dead, and a
// forgotten pool's cleanup would wait for ever to join them. It reports
// whether the drains returned within a second; a lock that an ended
// goroutine kept would hold them up.
func (run *contRun) letGo(pools []*pool.Pool) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, b := range run.boxes {
			b.Drain()
		}
		for _, p := range pools {
			p.Clear()
		}
	}()
	select {
	case <-done:
		return true
	case <-time.After(time.Second):
		return false
	}
}

// collectParked stops the coroutines of sequential continuations left
// parked (lost, or abandoned by a failed round): seq stops each once its
// continuation is unreachable, which it is now that the round's pools
// are.
func collectParked() {
	runtime.GC()
	runtime.GC()
}

// RunRoundScheduled runs r once, as RunRound does, as the main function
// of a run of impl/seam's controlled scheduler (a build with -tags sched)
// with ch choosing who goes at every switch point, and returns the
// round's result and the scheduler's. Time is virtual there: the round's
// Deadline passes once every goroutine of the round is blocked, so a lost
// continuation is reported as soon as nothing can move. A run that the
// scheduler ends (a deadlock, blocking outside the seam, the step limit)
// is a lost round whose Problems say why; one that the chooser stopped
// (a replay that left its token) is one too, and seam.Result says so. The
// error is seam.ErrDisabled in a build without the tag.
func RunRoundScheduled(r Round, o Options, ch seam.Chooser) (Result, seam.Result, error) {
	var (
		res      Result
		panicked string
	)
	var (
		made      *contRun
		madePools []*pool.Pool
	)
	sr, err := seam.Run(ch, func() {
		defer func() {
			if v := recover(); v != nil {
				panicked = fmt.Sprintf("the round's driver panicked: %v\n%s", v, debug.Stack())
			}
		}()
		o.controlled = true
		o.made = func(run *contRun) { made = run }
		o.madePools = func(ps []*pool.Pool) { madePools = ps }
		res = runContRound(r, o)
	}, seam.Options{Trace: true})
	if err != nil {
		return Result{}, sr, err
	}
	switch {
	case sr.Outcome != seam.Finished:
		// The round did not run to its end, so its own checks say
		// nothing: the scheduler's verdict is the round's.
		res = Result{Lost: true, Problems: []string{"the controlled run ended the round: " + sr.Failure}}
		if made != nil && !made.letGo(madePools) {
			res.Problems = append(res.Problems, "the mailboxes of the ended round could not be drained within a second")
		}
	case panicked != "":
		res.Errors += panicked
	}
	if res.Failed() {
		collectParked()
	}
	return res, sr, nil
}

func runContRound(r Round, o Options) Result {
	if o.Dispatcher == nil {
		o.Dispatcher = pool.Waiter
	}
	if o.Deadline <= 0 {
		o.Deadline = 10 * time.Second
	}
	chaos.SetSeed(o.ChaosSeed) // the harness's setting, not a step: chaos.Point itself is reached through seam.Point
	run := &contRun{round: r, where: map[weak.Pointer[rt.Runtime]]model.Where{}, allDone: make(chan struct{}),
		seen: map[weak.Pointer[rt.Runtime]]bool{}, controlled: o.controlled}
	if o.made != nil {
		o.made(run)
	}
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
	if o.madePools != nil {
		o.madePools(slices.Clone(pools))
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
	// seam.WithTimeout: a real deadline outside a controlled run, a
	// virtual one inside (it passes once nothing else can move).
	deadline, cancel := seam.WithTimeout(context.Background(), o.Deadline)
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

// teardownLimit bounds the wait for the pools' workers, and the runtimes
// spawned by NovelThread, to end once told to; teardownTick is how often a
// round whose programs did not all finish halts what was spawned since.
// Outside a controlled run both are real time. Inside one time is virtual
// (seam.WithTimeout): a tick passes once nothing else can move, and the
// limit is the first tick at which halting has nothing new to halt (a
// limit of its own would pass at the same moment as a tick, and which of
// the two came first would be the scheduler's choice).
const (
	teardownLimit = 10 * time.Second
	teardownTick  = 5 * time.Millisecond
)

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
	var limit context.Context = context.Background() // controlled: made after the joins
	if !run.controlled {
		var cancel context.CancelFunc
		limit, cancel = seam.WithTimeout(context.Background(), teardownLimit)
		defer cancel()
	}
	for {
		tick, cancelTick := seam.WithTimeout(limit, teardownTick)
		which := seam.Await2(joined, tick.Done())
		cancelTick()
		if which == 0 {
			break
		}
		var stuck bool
		if run.controlled {
			// Nothing could move: unless halting finds a runtime it has
			// not halted yet, nothing ever will.
			stuck = finished || !run.haltAll(pools)
		} else if stuck = limit.Err() != nil; !stuck && !finished {
			run.haltAll(pools) // runtimes spawned since
		}
		if stuck {
			// The bug: a worker that does not end once its mailbox is
			// closed and drained (graceful), or once halted: a step that
			// ignores its context, a dispatcher that never returns.
			within := fmt.Sprintf("within %v of the close", teardownLimit)
			if run.controlled {
				within = "once nothing else could move"
			}
			problems = append(problems, fmt.Sprintf("the pools' workers did not end %s:\n%s", within, stacks()))
			run.haltAll(pools)
			if !run.controlled {
				seam.Await(joined)
			} // else nothing can move: the joiner is left blocked, and ends with the run
			break
		}
	}
	if run.controlled {
		var cancel context.CancelFunc
		limit, cancel = seam.WithTimeout(context.Background(), teardownLimit)
		defer cancel()
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
	for _, r := range run.liveNovels() {
		if seam.Await2(r.Done(), limit.Done()) == 1 {
			problems = append(problems, fmt.Sprintf("a runtime spawned by NovelThread did not end within %v", teardownLimit))
			r.Halt()
		}
	}
	return b.String(), problems
}

// liveNovels returns the runtimes spawned by NovelThread that were seen
// waiting and have not ended, in the order they were seen. One that the
// collector took has ended (its goroutine held it until then), and one
// that has ended is left out too, so that when the collector runs changes
// no step of a controlled schedule.
func (run *contRun) liveNovels() []*rt.Runtime {
	run.mu.Lock()
	defer run.mu.Unlock()
	var live []*rt.Runtime
	for _, wr := range run.novels {
		if r := wr.Value(); r != nil && !ended(r) {
			live = append(live, r)
		}
	}
	return live
}

// ended reports whether r has ended. It only looks: a receive that cannot
// block, no switch point.
func ended(r *rt.Runtime) bool {
	select { // outside the seam: never blocks
	case <-r.Done():
		return true
	default:
		return false
	}
}

// haltAll halts every pool's workers and every runtime spawned by
// NovelThread that was seen waiting and has not ended, and reports whether
// one of those was seen since the last haltAll.
func (run *contRun) haltAll(pools []*pool.Pool) (more bool) {
	for _, p := range pools {
		p.Halt()
	}
	for _, r := range run.liveNovels() {
		r.Halt()
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	more = len(run.novels) > run.halted
	run.halted = len(run.novels)
	return more
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
