package campaign

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seq"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// The continuation campaign runs random programs of Goto, ComeFrom,
// NovelThread and Coop (model.ContInstr) over random topologies of pools,
// several programs at once in the same mailboxes, written as step
// continuations (impl/cont) and as sequential ones (impl/seq), and checks
// that every step of every program ran exactly once, in program order, on
// the pool the program says (model.ContTrace), and that no two steps of a
// program ever ran at once. It is not a linearizability check, but it
// reports like one: a round is a history, a program that went wrong counts
// as Illegal, a lost continuation as a hang.

// ContForm is how a program is written.
type ContForm uint8

const (
	// FormSteps: step continuations (cont.Goto, cont.ComeFrom,
	// cont.NovelThread, c.Coop; cont.NewCall for remote parts that move).
	FormSteps ContForm = iota
	// FormSeq: a sequential continuation (seq.New, k.Goto, seq.ComeFrom,
	// seq.NovelThread, k.Coop).
	FormSeq
	// FormMixed: step continuations whose remote parts are sequential
	// ones, started with cont.NewCall.
	FormMixed
	contForms
)

var contFormNames = [contForms]string{"steps", "seq", "mixed"}

func (f ContForm) String() string { return contFormNames[f%contForms] }

// ContPool is one pool of a topology.
type ContPool struct {
	Workers  int  // 1 to 3
	Cap      int  // the mailbox's capacity, or spec.Unbounded
	OSThread bool // workers on OS threads of their own (rt.OSThread)
}

// ContProgram is one program of a round: what one continuation does,
// starting on pool Start.
type ContProgram struct {
	Start int
	Form  ContForm
	Body  []model.ContInstr
}

// ContRound is one round: a topology, and programs that run on it at
// once.
type ContRound struct {
	Pools    []ContPool
	Programs []ContProgram
}

// Ops returns the round's operations, as the summary counts them: the
// programs' top-level instructions (a ComeFrom or NovelThread counts as
// one, whatever its remote part holds).
func (r ContRound) Ops() int {
	n := 0
	for _, p := range r.Programs {
		n += len(p.Body)
	}
	return n
}

// String renders the round: the pools, then each program on a line.
func (r ContRound) String() string {
	var b strings.Builder
	b.WriteString("    pools:")
	for i, p := range r.Pools {
		fmt.Fprintf(&b, " %d: %d worker(s), ", i, p.Workers)
		if p.Cap == spec.Unbounded {
			b.WriteString("unbounded")
		} else {
			fmt.Fprintf(&b, "capacity %d", p.Cap)
		}
		if p.OSThread {
			b.WriteString(", OS threads")
		}
		b.WriteString(";")
	}
	for i, p := range r.Programs {
		fmt.Fprintf(&b, "\n    program %d (%v, starts on pool %d): %s", i, p.Form, p.Start, model.FormatCont(p.Body))
	}
	return b.String()
}

// Generation limits: remote parts nest at most contMaxDepth deep and hold
// 1 to contMaxSub instructions.
const (
	contMaxDepth = 2
	contMaxSub   = 3
)

// Two parts of the language found real bugs of impl/ when they were first
// generated; each has a regression test of its own in
// continuation_test.go. The switches stay, so that a bisection can leave
// either part out of generated rounds.
const (
	// remoteMoves: a remote part (of ComeFrom or NovelThread) may Goto.
	// TestContRemotePartThatMoves: a remote part that moved was never
	// seen to finish, and its caller waited for good (the move dropped
	// cont.NewCall's wrapper of the child's steps).
	remoteMoves = true
	// seqOnOSThreads: sequential programs (FormSeq, FormMixed) in rounds
	// with OS-thread pools. TestContSeqAcrossOSThreads: a sequential
	// continuation resumed on a thread locked differently from where its
	// coroutine was made killed the process (Go's fatal error "coro: OS
	// thread locking must match locking at coroutine creation").
	seqOnOSThreads = true
)

// GenContRound draws a round of programs programs of instrs top-level
// instructions each, every choice from intn (which returns a number in
// [0, n)): linearize.Gen's Intn for seeded and rapid programs, a byte
// decoder for fuzzing. Every round it makes can run to its end, whatever
// the choices:
//
//   - a worker waiting for a remote part (ComeFrom, NovelThread) holds its
//     worker, so a remote part (and whatever it calls in turn, and
//     wherever it moves) only ever runs on pools numbered above every pool
//     that its callers hold: resources taken in one order cannot deadlock;
//   - a program occupies at most one worker of a pool and one mailbox slot
//     at a time (by the rule above), so a bounded mailbox gets a capacity
//     above programs minus its workers: when it is full some worker of its
//     pool is free to take from it, and a send that waits (spec: it waits
//     with its step's context, which nothing ends here) always ends.
func GenContRound(intn func(n int) int, programs, instrs int) ContRound {
	var r ContRound
	pick := func(n int) int {
		if n <= 1 {
			return 0
		}
		return intn(n)
	}
	np := 2 + pick(3)
	for range np {
		p := ContPool{Workers: 1 + pick(3), Cap: spec.Unbounded}
		if pick(3) == 0 {
			p.Cap = max(1, programs-p.Workers+1) + pick(2)
		}
		p.OSThread = pick(16) == 15
		r.Pools = append(r.Pools, p)
	}
	osThreads := false
	for _, p := range r.Pools {
		osThreads = osThreads || p.OSThread
	}
	for range programs {
		start := pick(np)
		form := ContForm(pick(int(contForms)))
		if osThreads && !seqOnOSThreads {
			form = FormSteps
		}
		step := 0
		body := genContBody(pick, np, -1, model.Where(start), 0, instrs, &step)
		r.Programs = append(r.Programs, ContProgram{Start: start, Form: form, Body: body})
	}
	return r
}

// genContBody draws n instructions for a continuation at cur whose callers
// hold workers of pools up to held (-1: none); step numbers the work.
func genContBody(pick func(int) int, np, held int, cur model.Where, depth, n int, step *int) []model.ContInstr {
	var out []model.ContInstr
	for range n {
		// Weights: work 4, goto 2, comefrom 2, novel 1, coop 1.
		k := pick(10)
		lo := held + 1 // a Goto's lowest pool
		callee := max(held, int(cur)) + 1
		switch {
		case k < 4:
		case k < 6 && lo < np && (depth == 0 || remoteMoves):
			p := lo + pick(np-lo)
			out = append(out, model.ContInstr{Kind: model.ContGoto, Pool: p})
			cur = model.Where(p)
			continue
		case k < 8 && callee < np && depth < contMaxDepth:
			p := callee + pick(np-callee)
			sub := genContBody(pick, np, callee-1, model.Where(p), depth+1, 1+pick(contMaxSub), step)
			out = append(out, model.ContInstr{Kind: model.ContComeFrom, Pool: p, Sub: sub})
			continue
		case k == 8 && depth < contMaxDepth:
			sub := genContBody(pick, np, callee-1, model.Novel, depth+1, 1+pick(contMaxSub), step)
			out = append(out, model.ContInstr{Kind: model.ContNovelThread, Sub: sub})
			continue
		case k == 9:
			out = append(out, model.ContInstr{Kind: model.ContCoop})
			continue
		}
		*step++
		out = append(out, model.ContInstr{Kind: model.ContWork, Step: *step})
	}
	return out
}

// ContOptions tune RunContRound.
type ContOptions struct {
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

// ContResult is what one run of a round found.
type ContResult struct {
	Problems []string // one line per problem, naming the program
	Wrong    int      // programs whose trace or ownership was wrong
	Lost     bool     // a program did not finish by the deadline
	Errors   string   // workers' errors (a step panicked), if any
	Dump     string   // every goroutine's stack, taken when a program was lost
}

// Failed reports whether the round failed.
func (r ContResult) Failed() bool {
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
	owner atomic.Int64 // 1 + the step running now, 0 between steps
	done  atomic.Int32 // times the program finished

	mu       sync.Mutex
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
	round ContRound
	boxes []*cont.Box
	where map[weak.Pointer[rt.Runtime]]model.Where // every pool's workers; read-only once built
	progs []*contProg

	left    atomic.Int64 // programs not yet finished
	allDone chan struct{}

	mu     sync.Mutex
	novels map[weak.Pointer[rt.Runtime]]bool // runtimes seen waiting that are no pool's
}

// RunContRound runs r once on fresh pools and checks it: every program's
// recorded steps against model.ContTrace, and no two of its steps at once.
// All pools are closed and joined at the end.
func RunContRound(r ContRound, o ContOptions) ContResult {
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

func runContRound(r ContRound, o ContOptions) ContResult {
	if o.Dispatcher == nil {
		o.Dispatcher = pool.Waiter
	}
	if o.Deadline <= 0 {
		o.Deadline = 10 * time.Second
	}
	chaos.SetSeed(o.ChaosSeed)
	run := &contRun{round: r, where: map[weak.Pointer[rt.Runtime]]model.Where{}, allDone: make(chan struct{}), novels: map[weak.Pointer[rt.Runtime]]bool{}}
	var pools []*pool.Pool
	var res ContResult
	for i, pc := range r.Pools {
		box := mailbox.New[cont.C](pc.Cap)
		var opts []rt.Option
		if pc.OSThread {
			opts = append(opts, rt.OSThread())
		}
		p, err := pool.New(o.Dispatcher, box, pc.Workers, opts...)
		if err != nil {
			panic(fmt.Sprintf("campaign: pool %d: %v", i, err))
		}
		pools = append(pools, p)
		run.boxes = append(run.boxes, box)
		for w := range p.Items() {
			run.where[weak.Make(w)] = model.Where(i)
		}
	}
	run.left.Store(int64(len(r.Programs)))
	if len(r.Programs) == 0 {
		close(run.allDone)
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
	select {
	case <-run.allDone:
	case <-deadline.Done():
	}
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
	joined := make(chan []error, 1)
	go func() {
		var e []error
		for _, p := range pools {
			e = append(e, p.Join())
		}
		joined <- e
	}()
	const limit = 10 * time.Second
	timer := time.NewTimer(limit)
	defer timer.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var joinErrs []error
wait:
	for {
		select {
		case joinErrs = <-joined:
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
			joinErrs = <-joined
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
		select {
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
func (run *contRun) check(p *contProg, pr ContProgram, res *ContResult) bool {
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

// locate returns where the step whose context is ctx runs.
func (run *contRun) locate(ctx context.Context) model.Where {
	r := rt.FromContext(ctx)
	if r == nil {
		return nowhere
	}
	if w, ok := run.where[weak.Make(r)]; ok {
		return w
	}
	return model.Novel
}

// waiting notes the runtime of ctx, if no pool's, before it waits for a
// remote part: a round that fails halts it.
func (run *contRun) waiting(ctx context.Context) {
	r := rt.FromContext(ctx)
	if r == nil {
		return
	}
	wr := weak.Make(r)
	if _, ok := run.where[wr]; ok {
		return
	}
	run.mu.Lock()
	run.novels[wr] = true
	run.mu.Unlock()
}

// work is a Work step of program p: it takes the program's ownership,
// records where it runs, and gives the ownership back.
func (run *contRun) work(p *contProg, step int, ctx context.Context) {
	token := int64(step) + 1
	owned := p.owner.CompareAndSwap(0, token)
	if !owned {
		// The bug: two steps of one continuation at once (a continuation
		// handed to two runners, a caller resumed while its remote part
		// still runs, a dispatcher that steps a continuation it sent on).
		p.problem("step %d started while step %d was running: two runners at once", step, p.owner.Load()-1)
	}
	w := run.locate(ctx)
	p.mu.Lock()
	p.trace = append(p.trace, model.ContEvent{Step: step, Where: w})
	p.mu.Unlock()
	// Let another runner in, if one wrongly holds the continuation too.
	runtime.Gosched()
	chaos.Point()
	if owned && !p.owner.CompareAndSwap(token, 0) {
		p.problem("step %d: its ownership was taken while it ran: two runners at once", step)
	}
}

// finish is the last step of program p.
func (run *contRun) finish(p *contProg) {
	if p.done.Add(1) == 1 && run.left.Add(-1) == 0 {
		close(run.allDone)
	}
}

// program builds program p's continuation.
func (run *contRun) program(p *contProg, pr ContProgram) *cont.C {
	if pr.Form == FormSeq {
		return seq.New(func(k *seq.K) {
			run.seqBody(p, k, pr.Body)
			run.finish(p)
		})
	}
	last := func(ctx context.Context, c *cont.C) cont.Step {
		run.finish(p)
		return nil
	}
	return cont.New(run.steps(p, pr.Body, pr.Form == FormMixed, last))
}

// flat reports whether prog is only Work and Coop: a remote part that
// cont.ComeFrom and cont.NovelThread can run as one function.
func flat(prog []model.ContInstr) bool {
	for _, in := range prog {
		if in.Kind != model.ContWork && in.Kind != model.ContCoop {
			return false
		}
	}
	return true
}

// steps compiles prog into step form, ending with last; seqRemote writes
// its remote parts as sequential continuations. Every step a
// continuation may be received with (its first, and the one after a
// Goto) keeps no state of its own: the state of a remote part in flight
// lives in the steps that wait for it, made when it starts.
func (run *contRun) steps(p *contProg, prog []model.ContInstr, seqRemote bool, last cont.Step) cont.Step {
	next := last
	for i := len(prog) - 1; i >= 0; i-- {
		in, then := prog[i], next
		switch in.Kind {
		case model.ContWork:
			next = func(ctx context.Context, c *cont.C) cont.Step {
				run.work(p, in.Step, ctx)
				return then
			}
		case model.ContCoop:
			next = func(ctx context.Context, c *cont.C) cont.Step { return c.Coop(then) }
		case model.ContGoto:
			box := run.boxes[in.Pool]
			arrived := func(ctx context.Context, c *cont.C) cont.Step {
				if err := cont.MoveErr(ctx); err != nil {
					p.problem("goto(%d) failed: %v", in.Pool, err)
				}
				return then(ctx, c)
			}
			next = func(ctx context.Context, c *cont.C) cont.Step { return c.Goto(box, arrived) }
		case model.ContComeFrom, model.ContNovelThread:
			next = run.remote(p, in, seqRemote, then)
		default:
			panic(fmt.Sprintf("campaign: unknown instruction %v", in.Kind))
		}
	}
	return next
}

// remote compiles a ComeFrom or NovelThread in step form: a step that
// starts the call and returns the step that waits for it.
func (run *contRun) remote(p *contProg, in model.ContInstr, seqRemote bool, then cont.Step) cont.Step {
	what := "novel"
	if in.Kind == model.ContComeFrom {
		what = fmt.Sprintf("comefrom(%d)", in.Pool)
	}
	resume := func(_ struct{}, err error) cont.Step {
		if err != nil {
			// The bug: a remote part that failed (panicked, not sent, no
			// runtime to spawn from) though nothing should stop it.
			p.problem("%s: %v", what, err)
		}
		return then
	}
	if !seqRemote && flat(in.Sub) {
		// cont.ComeFrom and cont.NovelThread: the remote part is one
		// function, which runs every Work of it.
		body := func(ctx context.Context) struct{} {
			for _, s := range in.Sub {
				if s.Kind == model.ContWork {
					run.work(p, s.Step, ctx)
				}
			}
			return struct{}{}
		}
		return func(ctx context.Context, c *cont.C) cont.Step {
			run.waiting(ctx)
			if in.Kind == model.ContComeFrom {
				return c.Coop(cont.ComeFrom(run.boxes[in.Pool], body, resume))
			}
			return c.Coop(cont.NovelThread(body, resume))
		}
	}
	return func(ctx context.Context, c *cont.C) cont.Step {
		run.waiting(ctx)
		cl := cont.NewCall(func(result func(struct{})) *cont.C {
			if seqRemote {
				return seq.New(func(k *seq.K) {
					run.seqBody(p, k, in.Sub)
					result(struct{}{})
				})
			}
			return cont.New(run.steps(p, in.Sub, false, func(ctx context.Context, c *cont.C) cont.Step {
				result(struct{}{})
				return nil
			}))
		})
		send := cl.ToNovel()
		if in.Kind == model.ContComeFrom {
			send = cont.ToBox(run.boxes[in.Pool])
		}
		var wait cont.Step
		wait = func(ctx context.Context, c *cont.C) cont.Step {
			if _, err, ok := cl.Wait(ctx, send); ok {
				return resume(struct{}{}, err)
			}
			return wait
		}
		return wait
	}
}

// seqBody runs prog in a sequential continuation's body.
func (run *contRun) seqBody(p *contProg, k *seq.K, prog []model.ContInstr) {
	for _, in := range prog {
		switch in.Kind {
		case model.ContWork:
			run.work(p, in.Step, k.Context())
		case model.ContCoop:
			if err := k.Coop(); err != nil {
				p.problem("coop: %v", err)
			}
		case model.ContGoto:
			if err := k.Goto(run.boxes[in.Pool]); err != nil {
				p.problem("goto(%d) failed: %v", in.Pool, err)
			}
		case model.ContComeFrom:
			run.waiting(k.Context())
			if _, err := seq.ComeFrom(k, run.boxes[in.Pool], func(k *seq.K) struct{} {
				run.seqBody(p, k, in.Sub)
				return struct{}{}
			}); err != nil {
				p.problem("comefrom(%d): %v", in.Pool, err)
			}
		case model.ContNovelThread:
			run.waiting(k.Context())
			if _, err := seq.NovelThread(k, func(k *seq.K) struct{} {
				run.seqBody(p, k, in.Sub)
				return struct{}{}
			}); err != nil {
				p.problem("novel: %v", err)
			}
		default:
			panic(fmt.Sprintf("campaign: unknown instruction %v", in.Kind))
		}
	}
}

// stacks returns every goroutine's stack, up to 1 MiB.
func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// contFailure reports a failed round: a lost continuation as a hang, the
// workers' errors as a panic, the programs that ran wrong as problems.
func contFailure(seed uint64, round int, r ContRound, res ContResult) *linearize.Failure {
	f := &linearize.Failure{Scenario: "continuation", Seed: seed, Round: round, Hung: res.Lost,
		Problems: res.Problems, Dump: res.Dump, Program: r.String()}
	if res.Errors != "" {
		f.Panic = "workers' errors:\n" + res.Errors
	}
	return f
}

// ContCheck is the continuation campaign's configuration: rounds of
// GenContRound programs, run by RunContRound.
type ContCheck struct {
	Programs int    // programs per round (default 6)
	Instrs   int    // top-level instructions per program (default 6)
	Rounds   int    // rounds (default 100); negative: until the context ends
	Seed     uint64 // 0: INSIDEOUT_SEED, else random
	// Dispatcher returns the dispatcher of a round's pools, fresh for
	// each round; nil means pool.Waiter.
	Dispatcher func() pool.Dispatcher
	Deadline   time.Duration // see ContOptions
}

// Run runs the rounds until they are done, ctx ends or one fails; it
// returns the seed, the summary (a round is a history; its wrong programs
// count as Illegal, a lost continuation as a hang, a worker's error as a
// panic) and a *linearize.Failure for a failed round. INSIDEOUT_ROUND makes
// every round replay that one.
func (c ContCheck) Run(ctx context.Context, progress func(linearize.Summary)) (uint64, linearize.Summary, error) {
	programs, instrs := c.Programs, c.Instrs
	if programs <= 0 {
		programs = 6
	}
	if instrs <= 0 {
		instrs = 6
	}
	return linearize.RunRounds(ctx, c.Seed, c.Rounds, 0, progress, func(seed uint64, round int) linearize.RoundOutcome {
		cr := GenContRound(linearize.NewGen(seed, uint64(round)).Intn, programs, instrs)
		o := ContOptions{Deadline: c.Deadline, ChaosSeed: linearize.ChaosSeed(seed, round)}
		if c.Dispatcher != nil {
			o.Dispatcher = c.Dispatcher()
		}
		res := RunContRound(cr, o)
		out := linearize.RoundOutcome{Ops: cr.Ops(), Hung: res.Lost, Panicked: res.Errors != "", Illegal: res.Wrong}
		if res.Wrong == 0 && len(res.Problems) > 0 {
			out.Illegal = 1 // a problem of the round's own (leftovers)
		}
		if res.Failed() {
			out.Fail = func() error { return contFailure(seed, round, cr, res) }
		}

		return out
	})
}

// Test runs the rounds as part of a test, logging the seed before the
// first round and the summary after the last, and fails t with the
// failure's message.
func (c ContCheck) Test(t linearize.TB) {
	t.Helper()
	seed, err := linearize.ResolveSeed(c.Seed)
	if err != nil {
		t.Fatal(err)
	}
	c.Seed = seed
	t.Logf("continuation: seed %#x (replay: INSIDEOUT_SEED=%#x go test -run '^%s$')", seed, seed, t.Name())
	_, sum, err := c.Run(context.Background(), nil)
	t.Logf("continuation: %d rounds, %d ops in %v", sum.Rounds, sum.Ops, sum.Elapsed.Round(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
}
