//go:build sched

package seam

// The controlled scheduler. Invariants:
//
//   - At most one goroutine of a run is between two switch points: the one
//     that holds the turn (run.cur). Every other goroutine of the run waits
//     on its own turn channel, inside schedule.
//   - run.mu guards every field of the run and of its goroutines, and the
//     scheduler's fields of the Mutex, Cond and Parker values in use. The
//     turn holder takes it at each switch point; goroutines outside the run
//     and the stall watchdog take it too, which is why it is a lock and not
//     left to the turn alone.
//   - A blocked goroutine is never woken by another: the one that holds the
//     turn finds, at each decision, which blocked goroutines could go on
//     (ready), and the effect of waking (taking a permit, a mutex) happens
//     at the decision that picks it.

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type gstate uint8

const (
	runnable gstate = iota
	blocked
	exited
)

type waitKind uint8

const (
	waitNone waitKind = iota
	waitParker
	waitMutex
	waitCond
	waitAwait
	waitIdle
)

var waitNames = [...]string{"nothing", "a Parker", "a Mutex", "a Cond", "a channel to close", "the others to block"}

// gor is a goroutine of a run.
type gor struct {
	id      int
	goid    uint64  // for finding its stack in a dump
	key     uintptr // self(): its key in the registry
	run     *run
	turn    chan struct{} // one token: the goroutine's turn to run
	state   gstate
	yielded bool
	at      string // file:line of its last switch point

	// What a blocked goroutine waits for, and what waking it meant.
	wait     waitKind
	parker   *Parker
	mutex    *Mutex
	signaled bool // a Cond waiter that Signal or Broadcast picked
	chans    [2]<-chan struct{}
	until    int // an idle wait ends at this step count too, if not 0
	result   int

	// A goroutine in Until: polling while its condition came out false,
	// and pollWrites the run's writes before that check (see quiet).
	polling    bool
	pollWrites uint64

	// The place and the run's writes at the goroutine's last Yield, and
	// whether that Yield found both unchanged since the one before
	// (Decision.Spinning).
	spinAt     string
	spinWrites uint64
	spun       bool
}

type run struct {
	mu      sync.Mutex
	chooser Chooser
	opts    Options
	gs      []*gor
	cur     *gor
	res     Result
	hash    hashState
	ended   bool
	aborted bool
	done    chan struct{} // closed when the run has ended
	dec     Decision
	lone    int    // consecutive Yields by a goroutine that alone could run
	streak  int    // consecutive decisions that kept the same goroutine running
	writes  uint64 // switch points that may have changed memory: all but loads, yields and points
}

// maxLoneYields bounds a wait loop that nobody can end: past it, the run
// is a deadlock.
const maxLoneYields = 2000

var (
	runMu    sync.Mutex // one controlled run at a time
	registry sync.Map   // self() -> *gor, for every goroutine of a run, live or aborted
	active   atomic.Pointer[run]
	live     atomic.Int64 // goroutines in registry
)

// current returns the calling goroutine's gor and its run if it belongs to
// a run (in progress or ended), and otherwise the run in progress, if any,
// with a nil gor.
func current() (*run, *gor) {
	r := active.Load()
	if r == nil && live.Load() == 0 {
		return nil, nil
	}
	if v, ok := registry.Load(self()); ok {
		g := v.(*gor)
		return g.run, g
	}
	return r, nil
}

// Run runs main as goroutine 0 of a controlled run, and every goroutine it
// starts through Go (and they through Go, and so on) as the run's others.
// Exactly one of them runs between two switch points; at each point c
// chooses who goes next. Run returns when every goroutine of the run has
// exited, or main has returned while the rest are blocked (they are ended
// with runtime.Goexit), or the run fails: a deadlock, blocking outside the
// seam, too many steps, or a stop asked by c. Runs do not overlap: a
// second Run waits for the first.
func Run(c Chooser, main func(), o Options) (Result, error) {
	if o.MaxSteps <= 0 {
		o.MaxSteps = 200000
	}
	if o.Stall <= 0 {
		o.Stall = 2 * time.Second
	}
	if o.Fair <= 0 {
		o.Fair = 1000
	}
	runMu.Lock()
	defer runMu.Unlock()
	r := &run{chooser: c, opts: o, done: make(chan struct{}), hash: newHash()}
	r.mu.Lock()
	g0 := r.spawn(main)
	r.cur = g0
	active.Store(r)
	g0.turn <- struct{}{}
	r.mu.Unlock()
	r.watch()
	active.Store(nil)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Goroutines = len(r.gs)
	r.res.Hash = r.hash.sum()
	return r.res, nil
}

// watch waits for the run to end, and ends it if the turn holder stalls
// outside the seam.
func (r *run) watch() {
	tick := time.NewTicker(min(r.opts.Stall/4, 100*time.Millisecond))
	defer tick.Stop()
	last, since := -1, time.Now()
	for {
		select {
		case <-r.done:
			return
		case <-tick.C:
		}
		r.mu.Lock()
		if r.ended {
			r.mu.Unlock()
			return
		}
		if r.res.Steps != last {
			last, since = r.res.Steps, time.Now()
			r.mu.Unlock()
			continue
		}
		if time.Since(since) < r.opts.Stall {
			r.mu.Unlock()
			continue
		}
		g := r.cur
		stack, state := stackOf(g.goid)
		r.fail(Uncontrolled, fmt.Sprintf("uncontrolled blocking: goroutine %d of the run went %v without a switch point after %s; it is %s, which the seam does not see (route it through impl/seam: Parker, Await, Mutex, Go)\n%s",
			g.id, r.opts.Stall, g.at, state, stack))
		r.mu.Unlock()
		return
	}
}

// spawn registers a new goroutine running f and starts it; it waits for
// its turn before it calls f. r.mu is held.
func (r *run) spawn(f func()) *gor {
	g := &gor{id: len(r.gs), run: r, turn: make(chan struct{}, 1), at: "start"}
	r.gs = append(r.gs, g)
	registered := make(chan struct{})
	go func() {
		g.goid, g.key = goid(), self()
		registry.Store(g.key, g)
		live.Add(1)
		close(registered)
		defer func() {
			registry.Delete(g.key)
			live.Add(-1)
		}()
		<-g.turn
		if r.isAborted() {
			return
		}
		normal := false
		defer func() {
			if normal {
				r.exit(g)
			}
		}()
		f()
		normal = true
	}()
	// The goroutine must be known by its goid before anyone can pick it
	// (it could pass a switch point at once). Waiting here is outside the
	// turn discipline, but brief: the new goroutine only registers.
	r.mu.Unlock()
	<-registered
	r.mu.Lock()
	return g
}

func (r *run) isAborted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.aborted
}

// exit ends g, which returned normally, and passes the turn on.
func (r *run) exit(g *gor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.aborted {
		return
	}
	r.record(g, opExit, "exit")
	g.state = exited
	r.schedule(g)
}

// record counts a step of g and adds it to the hash and the trace.
func (r *run) record(g *gor, o op, at string) {
	switch {
	case o == opYield:
		g.spun = g.spinAt == at && g.spinWrites == r.writes
		g.spinAt, g.spinWrites = at, r.writes
	case o != opLoad && o != opPoint:
		r.writes++
	}
	g.at = at
	r.res.Steps++
	r.hash.add(g.id, o, at)
	if r.opts.Trace {
		r.res.Trace = append(r.res.Trace, Event{G: g.id, Op: o.String(), At: at})
	}
}

// schedule picks who goes next after g reached a switch point (g's state
// says whether it can go on), hands the turn over, and, unless g exited,
// waits until g's turn comes again. r.mu is held, and held again on
// return. If the run is aborted meanwhile, g ends with runtime.Goexit.
func (r *run) schedule(g *gor) {
	if r.ended {
		r.abortSelf(g)
		return
	}
	if r.res.Steps > r.opts.MaxSteps {
		r.fail(StepLimit, fmt.Sprintf("step limit: more than %d switch points (a loop that waits for another goroutine must call seam.Yield); goroutine %d was at %s", r.opts.MaxSteps, g.id, g.at))
		r.abortSelf(g)
		return
	}
	if r.streak >= r.opts.Fair && g.state == runnable {
		g.yielded = true // fairness: a goroutine that would run for ever gives way
	}
	d := &r.dec
	d.Step, d.Choice, d.Current, d.Yielded, d.Spinning = r.res.Steps, len(r.res.Choices), -1, false, false
	d.Runnable = d.Runnable[:0]
	if g.state != exited && r.ready(g) {
		d.Current = g.id
		d.Yielded = g.yielded
		d.Spinning = g.yielded && g.spun
		if !g.yielded {
			d.Runnable = append(d.Runnable, g.id)
		}
	}
	for _, o := range r.gs {
		if o != g && o.state != exited && r.ready(o) {
			d.Runnable = append(d.Runnable, o.id)
		}
	}
	if d.Yielded {
		d.Runnable = append(d.Runnable, g.id) // last: it gives way
	}
	g.yielded = false
	switch {
	case len(d.Runnable) > 1:
		r.lone = 0
	case d.Yielded:
		// g waits in a loop for others, and none of them can move.
		if r.lone++; r.lone > maxLoneYields {
			r.fail(Deadlock, fmt.Sprintf("deadlock: goroutine %d spins (Yield at %s) while every other goroutine of the run is blocked%s", g.id, g.at, r.waits()))
			r.abortSelf(g)
			return
		}
	}
	if len(d.Runnable) == 0 {
		r.noneRunnable(g)
		return
	}
	i := 0
	if len(d.Runnable) > 1 {
		i = r.chooser.Choose(d)
		if i < 0 || i >= len(d.Runnable) {
			why := fmt.Sprintf("the chooser picked %d of %d", i, len(d.Runnable))
			if s, ok := r.chooser.(interface{ Stopped() string }); ok && i < 0 {
				why = s.Stopped()
			}
			r.fail(Stopped, "stopped: "+why)
			r.abortSelf(g)
			return
		}
		r.res.Choices = append(r.res.Choices, Choice{N: len(d.Runnable), Picked: i})
		if d.Preempts(i) {
			r.res.Preemptions++
		}
	}
	next := r.gs[d.Runnable[i]]
	if next == g && len(d.Runnable) > 1 {
		r.streak++
	} else if len(d.Runnable) > 1 || next != g {
		r.streak = 0
	}
	r.wake(next)
	if next == g {
		return
	}
	r.cur = next
	next.turn <- struct{}{}
	if g.state == exited {
		return
	}
	r.mu.Unlock()
	<-g.turn
	r.mu.Lock()
	if r.aborted {
		r.abortSelf(g)
	}
}

// ready reports whether g could go on now. r.mu is held.
func (r *run) ready(g *gor) bool {
	if g.state == runnable {
		return true
	}
	switch g.wait {
	case waitParker:
		return g.parker.permit || closed(g.chans[0])
	case waitMutex:
		return !g.mutex.held
	case waitCond:
		return g.signaled
	case waitAwait:
		return closed(g.chans[0]) || closed(g.chans[1])
	case waitIdle:
		return closed(g.chans[0]) || r.othersBlocked(g) || g.until > 0 && r.res.Steps >= g.until
	}
	return false
}

// othersBlocked reports whether every goroutine of the run but g, and but
// those that wait for the run to be idle, is blocked, has exited, or is
// quiet in Until: nothing but time can move the run then. r.mu is held.
func (r *run) othersBlocked(g *gor) bool {
	for _, o := range r.gs {
		if o == g || o.state == exited || r.quiet(o) {
			continue
		}
		if o.state == runnable || o.wait != waitIdle && r.ready(o) {
			return false
		}
	}
	return true
}

// quiet reports whether o polls in Until a condition that came out false
// with no write of anyone's since it began to check it: the condition
// reads the same memory each time round, so only time, or another
// goroutine's write, can end the wait. (A loop on Yield is not judged so:
// it may end after a bounded number of turns, and write.) r.mu is held.
func (r *run) quiet(o *gor) bool {
	return o.polling && o.pollWrites == r.writes
}

func (r *run) isEnded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended
}

// wake makes the wait of g, which was picked, come true. r.mu is held.
func (r *run) wake(g *gor) {
	if g.state == runnable {
		return
	}
	switch g.wait {
	case waitParker:
		g.result = 0
		if g.parker.permit {
			g.parker.permit, g.result = false, 1
		}
	case waitMutex:
		g.mutex.held = true
	case waitCond:
		g.signaled = false
	case waitAwait:
		g.result = 1
		if closed(g.chans[0]) {
			g.result = 0
		}
	case waitIdle:
		switch {
		case closed(g.chans[0]):
			g.result = 1
		case r.othersBlocked(g):
			g.result = 0
		default:
			g.result = 2
		}
		g.until = 0
	}
	g.state, g.wait, g.parker, g.mutex, g.chans = runnable, waitNone, nil, nil, [2]<-chan struct{}{}
}

// noneRunnable ends the run when no goroutine can go on: finished if the
// main function is done, a deadlock otherwise. r.mu is held.
func (r *run) noneRunnable(g *gor) {
	left := 0
	for _, o := range r.gs {
		if o.state != exited {
			left++
		}
	}
	if r.gs[0].state == exited {
		r.res.Leftover = left
		r.end()
	} else {
		r.fail(Deadlock, "deadlock: every goroutine of the run is blocked"+r.waits())
	}
	r.abortSelf(g)
}

// waits lists what each blocked goroutine waits for, one per line.
func (r *run) waits() string {
	var b strings.Builder
	for _, o := range r.gs {
		if o.state == blocked {
			fmt.Fprintf(&b, "\n  goroutine %d waits for %s at %s", o.id, waitNames[o.wait], o.at)
		}
	}
	return b.String()
}

// fail ends the run with outcome o. r.mu is held.
func (r *run) fail(o Outcome, msg string) {
	if r.ended {
		return
	}
	r.res.Outcome, r.res.Failure = o, msg
	r.end()
}

// end ends the run: every goroutine still waiting for its turn is woken
// to exit. r.mu is held.
func (r *run) end() {
	if r.ended {
		return
	}
	r.ended, r.aborted = true, true
	for _, o := range r.gs {
		if o.state != exited && o != r.cur {
			select {
			case o.turn <- struct{}{}:
			default:
			}
		}
	}
	close(r.done)
}

// abortSelf ends g, a goroutine of an ended run, unless it already
// exited. r.mu is held; it is released first.
func (r *run) abortSelf(g *gor) {
	if g.state == exited {
		return
	}
	g.state = exited
	r.mu.Unlock()
	runtime.Goexit()
}

// closed reports whether c is closed; a nil c never is.
func closed(c <-chan struct{}) bool {
	if c == nil {
		return false
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// stackOf returns the stack of the goroutine with id goid, and the state
// its header shows (such as "chan receive").
func stackOf(id uint64) (stack, state string) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	prefix := "goroutine " + strconv.FormatUint(id, 10) + " ["
	for _, s := range strings.Split(string(buf), "\n\n") {
		if strings.HasPrefix(s, prefix) {
			state = s[len(prefix):]
			if j := strings.IndexAny(state, ",]"); j >= 0 {
				state = state[:j]
			}
			if state == "running" || state == "runnable" {
				state = "running without a switch point"
			} else {
				state = "blocked on " + state
			}
			return s, state
		}
	}
	return "(stack not found)", "gone"
}

// goid returns the calling goroutine's id, parsed from its stack header.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = b[len("goroutine "):]
	var id uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// hashState is FNV-1a over the steps: each goroutine id, kind and place.
type hashState struct{ h uint64 }

func newHash() hashState { return hashState{h: 14695981039346656037} }

func (h *hashState) byte(b byte) { h.h = (h.h ^ uint64(b)) * 1099511628211 }

func (h *hashState) add(g int, o op, at string) {
	for i := 0; i < 4; i++ {
		h.byte(byte(g >> (8 * i)))
	}
	h.byte(byte(o))
	for i := 0; i < len(at); i++ {
		h.byte(at[i])
	}
	h.byte(0)
}

func (h *hashState) sum() uint64 { return h.h }
