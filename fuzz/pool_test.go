package fuzz

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/pool/pooltest"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// The operations of a decoded pool program.
type poolStep uint8

const (
	poolSend      poolStep = iota // a job of 1 to 4 steps (the byte's high bits)
	poolGate                      // open or close the gate that holds jobs' steps back
	poolAdd                       // Add
	poolSpawn                     // Spawn 1 or 2 workers over the pool's mailbox
	poolDrain                     // Drain
	poolClear                     // Clear
	poolCount                     // Count and Items, against the model
	poolInterrupt                 // Interrupt
	poolFreeze                    // Freeze a worker (the byte's high bits pick it)
	poolThaw                      // Thaw a worker
	poolHalt                      // Halt, then Join
	poolCancel                    // Cancel a worker
	poolSteps
)

var poolStepNames = [poolSteps]string{"send", "gate", "add", "spawn", "drain", "clear", "count",
	"interrupt", "freeze", "thaw", "halt", "cancel"}

// poolOpOf is the pooltest operation a step runs in the concurrent
// program (the gate, which pooltest's jobs do not have, reads the
// completions; Clear, which pooltest's clients do not make, is Drain).
var poolOpOf = [poolSteps]string{"submit", "done", "add", "add", "drain", "drain", "count",
	"interrupt", "freeze", "thaw", "halt", "cancel"}

// poolModelOps is the model's operation of each step's pooltest operation.
var poolModelOps = [poolSteps]model.PoolOp{model.PoolSubmit, model.PoolDone, model.PoolAdd, model.PoolAdd,
	model.PoolDrain, model.PoolDrain, model.PoolCount, model.PoolInterrupt, model.PoolFreeze, model.PoolThaw,
	model.PoolHalt, model.PoolCancel}

// A poolInput is a decoded pool fuzz input.
type poolInput struct {
	runner  bool // the dispatcher: pool.Runner, else pool.Waiter
	clients int
	workers int  // at New
	open    bool // the gate at the start
	steps   []poolStep
	arg     []int // each step's high bits: job steps, worker, spawn count
}

// decodePool turns data into a program, deterministically; every byte
// string is a valid input. Byte 0: bit 0 the dispatcher (1: Runner),
// bits 1-2 the clients less one, bits 3-4 the workers at New, bit 5 the
// gate open at the start. Each byte after it, up to maxSteps, is a step:
// its low 4 bits the operation (12 to 15 are sends), its high 4 bits the
// argument, whose value modulo the clients is also the client that runs
// it in the concurrent program.
func decodePool(data []byte) poolInput {
	in := poolInput{clients: 1}
	if len(data) > 0 {
		in.runner = data[0]&1 != 0
		in.clients = 1 + int(data[0]>>1&3)
		in.workers = int(data[0] >> 3 & 3)
		in.open = data[0]&32 != 0
		data = data[1:]
	}
	if len(data) > maxSteps {
		data = data[:maxSteps]
	}
	for _, b := range data {
		st := poolStep(b & 15)
		if st >= poolSteps {
			st = poolSend
		}
		in.steps = append(in.steps, st)
		in.arg = append(in.arg, int(b>>4))
	}
	return in
}

// poolJobs are the jobs of a replay: each counts its completions and
// notes, from inside, a step run by two workers at once or after it
// completed. A closed gate holds every job's steps back until it opens or
// the step's context ends (a Freeze, Halt, Interrupt or Cancel of its
// worker): a job caught there is in the middle.
type poolJobs struct {
	gate      atomic.Pointer[chan struct{}]
	completed []*atomic.Int32
	bad       atomic.Pointer[string]
	byCont    map[*cont.C]int
}

func (j *poolJobs) setGate(open bool) {
	ch := make(chan struct{})
	if open {
		close(ch)
	}
	if old := j.gate.Swap(&ch); old != nil {
		select {
		case <-*old:
		default:
			close(*old) // wake the steps waiting at the old gate: they look at the new one
		}
	}
}

func (j *poolJobs) isOpen() bool {
	select {
	case <-*j.gate.Load():
		return true
	default:
		return false
	}
}

// job returns job id of k steps.
func (j *poolJobs) job(id, k int) *cont.C {
	var busy atomic.Bool
	done := new(atomic.Int32)
	j.completed = append(j.completed, done)
	n := 0
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if !busy.CompareAndSwap(false, true) {
			j.violation(fmt.Sprintf("job %d stepped by two workers at once", id))
			return c.Next()
		}
		defer busy.Store(false)
		if done.Load() > 0 {
			j.violation(fmt.Sprintf("job %d ran a step after it completed", id))
		}
		for {
			gate := *j.gate.Load()
			select {
			case <-gate:
				if !j.isOpen() {
					continue // closed again: wait at the new gate
				}
			case <-ctx.Done():
				return c.Next() // the cooperative point, no progress
			}
			break
		}
		if n++; n >= k {
			done.Add(1)
			return nil
		}
		runtime.Gosched()
		return c.Next()
	})
	j.byCont[c] = id
	return c
}

func (j *poolJobs) violation(s string) { j.bad.CompareAndSwap(nil, &s) }

// fuzzWorker is a runtime of the replayed pool and its reference.
type fuzzWorker struct {
	r   *rt.Runtime
	ref *model.RuntimeRef
}

// settled polls cond for up to five seconds.
func settled(cond func() bool) bool {
	for start := time.Now(); !cond(); runtime.Gosched() {
		if time.Since(start) > 5*time.Second {
			return false
		}
	}
	return true
}

// poolReplay runs in's steps one at a time on a fresh pool of d's workers
// and on model.PoolRef, each worker beside its model.RuntimeRef: after
// every step the members (Count, Items, Drain's pick) must be the
// model's, and, for a waiter, whose workers live on, every runtime's flags
// must settle at its reference's. At the end, the gate open and every
// runtime thawed, Close, and model.PoolLedger's audit of every job:
// completed once, still queued, or left over.
func poolReplay(d pool.Dispatcher, in poolInput) error {
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(d, box, in.workers)
	if err != nil {
		return err
	}
	var ref model.PoolRef[*fuzzWorker]
	for r := range p.Items() {
		ref.Add(&fuzzWorker{r, new(model.RuntimeRef)})
	}
	jobs := &poolJobs{byCont: map[*cont.C]int{}}
	jobs.setGate(in.open)
	var ledger model.PoolLedger
	defer func() { // whatever happened, nothing runs on
		jobs.setGate(true)
		box.CloseRead()
		for _, w := range ref.All() {
			w.r.Halt()
			w.r.Join()
		}
	}()
	pick := func(arg int) *fuzzWorker {
		ws := ref.Items()
		if len(ws) == 0 {
			return nil
		}
		return ws[arg%len(ws)]
	}
	for i, st := range in.steps {
		where := func(f string, args ...any) error {
			return fmt.Errorf("step %d (%s %d): %s", i, poolStepNames[st], in.arg[i], fmt.Sprintf(f, args...))
		}
		arg := in.arg[i]
		switch st {
		case poolSend:
			id := ledger.Send()
			if err := box.Send(jobs.job(id, 1+arg%4)); err != nil {
				return where("Send: %v", err)
			}
		case poolGate:
			jobs.setGate(!jobs.isOpen())
		case poolAdd, poolSpawn:
			var rs []*rt.Runtime
			if st == poolAdd {
				r, err := p.Add()
				if err != nil {
					return where("Add: %v", err)
				}
				rs = []*rt.Runtime{r}
			} else if rs, err = p.Spawn(d, box, 1+arg%2); err != nil {
				return where("Spawn: %v", err)
			}
			for _, r := range rs {
				ref.Add(&fuzzWorker{r, new(model.RuntimeRef)})
			}
		case poolDrain:
			got := p.Drain()
			// The bug: a Drain that takes another runtime than the newest,
			// or finds one in an empty pool.
			if w, ok := ref.Drain(); (ok && got != w.r) || (!ok && got != nil) {
				return where("Drain took %v, want the newest member", got)
			}
		case poolClear:
			p.Clear()
			ref.Clear()
		case poolInterrupt:
			p.Interrupt()
		case poolFreeze, poolThaw, poolCancel:
			w := pick(arg)
			if w == nil {
				continue
			}
			var got, want bool
			switch st {
			case poolFreeze:
				got, want = w.r.Freeze(), w.ref.Freeze()
			case poolThaw:
				got, want = w.r.Thaw(), w.ref.Thaw()
			default:
				got, want = w.r.Cancel(), w.ref.Cancel()
			}
			if got != want && !in.runner { // a runner may have ended: its reference does not know
				return where("%v, want %v", got, want)
			}
		case poolHalt:
			p.Halt()
			for _, w := range ref.Items() {
				w.ref.Halt()
			}
			if !settled(func() bool { return allDead(ref.Items()) }) {
				return where("the pool's runtimes did not end after Halt")
			}
		}
		if err := poolMembersMatch(p, &ref); err != nil {
			return where("%v", err)
		}
		if in.runner {
			continue
		}
		for k, w := range ref.All() {
			want := w.ref.Flags() &^ spec.RtPolling // workers do not poll
			// The bug: a worker that ends when its mailbox is empty or its
			// wait interrupted, or that a Freeze, Halt or Cancel misses.
			if !settled(func() bool { return w.r.Flags() == want }) {
				return where("runtime %d: flags %v, want %v", k, w.r.Flags(), want)
			}
		}
		if bad := jobs.bad.Load(); bad != nil {
			return where("%s", *bad)
		}
	}
	return poolAudit(p, box, &ref, jobs, &ledger, in.runner)
}

func allDead(ws []*fuzzWorker) bool {
	for _, w := range ws {
		if w.r.Flags()&rt.FlagDead == 0 {
			return false
		}
	}
	return true
}

// poolMembersMatch checks Count and Items against the model. The bug: a
// pool that keeps the wrong runtimes, or in the wrong order.
func poolMembersMatch(p *pool.Pool, ref *model.PoolRef[*fuzzWorker]) error {
	want := ref.Items()
	i := 0
	for r := range p.Items() {
		if i >= len(want) || r != want[i].r {
			return fmt.Errorf("Items()[%d] is not the model's", i)
		}
		i++
	}
	if i != len(want) || p.Count() != len(want) {
		return fmt.Errorf("Items has %d runtimes, Count says %d; want %d", i, p.Count(), len(want))
	}
	return nil
}

// poolAudit ends the replay gracefully and accounts for every job.
func poolAudit(p *pool.Pool, box *pool.Box, ref *model.PoolRef[*fuzzWorker], jobs *poolJobs, ledger *model.PoolLedger, runner bool) error {
	jobs.setGate(true)
	alive := false
	for _, w := range ref.All() {
		w.r.Thaw()
		w.ref.Thaw()
		alive = alive || !w.ref.Dead()
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		p.Close() // errors are the workers' own: canceled ones
		for _, w := range ref.Gone() {
			w.r.Join()
		}
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("the end: Close and the joins of the runtimes that left did not return")
	}
	if bad := jobs.bad.Load(); bad != nil {
		return fmt.Errorf("the end: %s", *bad)
	}
	ids := func(cs []*cont.C) []int {
		out := make([]int, len(cs))
		for i, c := range cs {
			id, ok := jobs.byCont[c]
			out[i] = -1
			if ok {
				out[i] = id
			}
		}
		return out
	}
	queued, left := box.Drain(), p.Leftovers()
	for id, n := range jobs.completed {
		for range n.Load() {
			ledger.Complete(id)
		}
	}
	// The bug: a job lost (dropped by a dispatcher, or hidden from
	// Leftovers), or run twice.
	if err := ledger.Audit(ids(queued), ids(left)); err != nil {
		return fmt.Errorf("the audit: %w", err)
	}
	// The bug: a waiter that ends while work is queued.
	if alive && !runner && len(queued) > 0 {
		return fmt.Errorf("the audit: %d jobs still queued though a live waiter ran until the mailbox was drained", len(queued))
	}
	return nil
}

// poolProgram builds the linearize program of in on pooltest's
// operations: client arg%clients runs each step, as poolOpOf says.
func poolProgram(in poolInput) linearize.Program {
	ops := pooltest.Ops()
	p := make(linearize.Program, in.clients)
	for c := range p {
		p[c] = []linearize.Step{}
	}
	for i, st := range in.steps {
		op := opIndex(ops, poolOpOf[st])
		input := model.PoolInput{Op: poolModelOps[st], Worker: in.arg[i]}
		c := in.arg[i] % in.clients
		p[c] = append(p[c], linearize.Step{Op: op, Input: input})
	}
	return p
}

// poolConcurrent runs in's program once, one goroutine per client, on
// pooltest's scenario of d, and checks the history against model.Pool.
func poolConcurrent(name string, d pool.Dispatcher, in poolInput, chaosSeed uint64) error {
	sc := pooltest.Scenario(name, d)
	p := poolProgram(in)
	res := sc.RunProgram(p, chaosSeed)
	// The bug: a history no pool could produce (a job lost or run twice,
	// a member count off), a call that never returns, a panic.
	if !res.Failed() {
		return nil
	}
	return fmt.Errorf("concurrent run failed: %w", sc.Failure(p, res, chaosSeed, 0))
}

// checkPool is the whole test of one input on dispatcher d (or, with a
// nil d, the input's own: pool.Waiter or pool.Runner): sequential, then
// concurrent.
func checkPool(d pool.Dispatcher, data []byte) error {
	in := decodePool(data)
	name := "pool-waiter"
	switch {
	case d != nil:
		name = "pool-known-bad"
	case in.runner:
		d, name = pool.Runner, "pool-runner"
	default:
		d = pool.Waiter
	}
	if err := poolReplay(d, in); err != nil {
		return fmt.Errorf("sequential replay: %w", err)
	}
	return poolConcurrent(name, d, in, chaosSeed(data))
}

func FuzzPool(f *testing.F) {
	testdeadline.Guard(f, testdeadline.Default)
	f.Add([]byte{})
	f.Add([]byte{0x10, 0x10, 0x20, 0x02, 0x06, 0x04, 0x06, 0x05, 0x06})             // two waiters: sends, add, drain, clear
	f.Add([]byte{0x08, 0x30, 0x30, 0x08, 0x09, 0x01, 0x08, 0x01, 0x09})             // gate closed: jobs caught mid-way by freeze and thaw
	f.Add([]byte{0x10, 0x30, 0x30, 0x30, 0x0a, 0x01})                               // gate closed: halt with jobs in hand
	f.Add([]byte{0x11, 0x00, 0x00, 0x02, 0x00, 0x03, 0x13, 0x06, 0x04})             // runners: sends, add, spawn
	f.Add([]byte{0x1e, 0x00, 0x10, 0x20, 0x30, 0x07, 0x0b, 0x18, 0x29, 0x3a, 0x01}) // four clients: interrupt, cancel, freeze, thaw, halt
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkPool(nil, data); err != nil {
			t.Fatalf("input %q: %v", data, err)
		}
	})
}

// The checks of FuzzPool must be able to fail: each of pooltest's known-bad
// dispatchers that a pool's own checks claim is handed an input that
// exposes it, and the failure is required, from the check its Bug's
// comment names; the control is the same inputs passing on the plain
// waiter and on pool.Waiter.
func TestPoolChecksCatchBrokenDispatchers(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const (
		// Two waiters, gate closed: three jobs of four steps, a freeze of
		// each worker (their jobs caught in hand), thaw.
		frozenInHand = "\x10\x30\x30\x30\x08\x18\x09\x19"
		// Two waiters, gate closed: three jobs, then Halt with jobs in
		// hand.
		haltedInHand = "\x10\x30\x30\x30\x0a"
		// One waiter, gate open: jobs of one and two steps.
		completes = "\x28\x00\x10\x00\x10"
	)
	for _, c := range []struct {
		bug        pooltest.Bug
		data, want string
	}{
		{pooltest.DropsOnEnd, frozenInHand, "in 0 places"},
		{pooltest.HidesInFlight, haltedInHand, "in 0 places"},
		{pooltest.StepsAfterDone, completes, "after it completed"},
	} {
		t.Run(c.bug.String(), func(t *testing.T) {
			err := checkPool(pooltest.BadDispatcher(c.bug), []byte(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("the checks on input %q: %v; want a failure that says %q", c.data, err, c.want)
			}
			line, _, _ := strings.Cut(err.Error(), "\n")
			t.Logf("caught: %s", line)
		})
	}
	// The concurrent half alone: the known-bads that lose a job halted in
	// hand fail it too, as an Illegal history (the audit does not add
	// up), within a few rounds; pool.Waiter passes the same rounds.
	for _, bug := range []pooltest.Bug{pooltest.DropsOnEnd, pooltest.HidesInFlight} {
		caught := false
		for seed := uint64(1); seed <= 20 && !caught; seed++ {
			err := poolConcurrent("pool-"+bug.String(), pooltest.BadDispatcher(bug), decodePool([]byte(haltedInHand)), seed)
			caught = err != nil && strings.Contains(err.Error(), "Illegal")
		}
		if !caught {
			t.Errorf("%v: the concurrent run passed 20 rounds of input %q", bug, haltedInHand)
		}
	}
	for seed := uint64(1); seed <= 20; seed++ {
		if err := poolConcurrent("pool-waiter", pool.Waiter, decodePool([]byte(haltedInHand)), seed); err != nil {
			t.Errorf("pool.Waiter failed the concurrent run of input %q: %v", haltedInHand, err)
		}
	}
	for _, data := range []string{frozenInHand, haltedInHand, completes} {
		if err := checkPool(pooltest.BadDispatcher(pooltest.Correct), []byte(data)); err != nil {
			t.Errorf("the plain waiter failed input %q: %v", data, err)
		}
		if err := checkPool(nil, []byte(data)); err != nil {
			t.Errorf("pool.Waiter failed input %q: %v", data, err)
		}
	}
}

// decodePool reads byte 0's fields and one step per byte after it, up to
// maxSteps, every operation code valid. The bug: a decoder that drops or
// misreads a field, so that the seed corpus means other programs than
// their comments say.
func TestDecodePool(t *testing.T) {
	in := decodePool([]byte("\x3f\x30\x0a\x0f"))
	if !in.runner || in.clients != 4 || in.workers != 3 || !in.open {
		t.Fatalf("byte 0 decoded as %+v", in)
	}
	want := []poolStep{poolSend, poolHalt, poolSend}
	for i, st := range want {
		if in.steps[i] != st {
			t.Fatalf("step %d is %s, want %s", i, poolStepNames[in.steps[i]], poolStepNames[st])
		}
	}
	if in.arg[0] != 3 || in.arg[1] != 0 {
		t.Fatalf("arguments %v", in.arg)
	}
	if in := decodePool(make([]byte, 1+2*maxSteps)); len(in.steps) != maxSteps {
		t.Fatalf("%d steps decoded, want the cap %d", len(in.steps), maxSteps)
	}
	if in := decodePool(nil); in.clients != 1 || len(in.steps) != 0 {
		t.Fatalf("the empty input decoded as %+v", in)
	}
}
