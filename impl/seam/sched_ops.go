//go:build sched

package seam

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
)

// Enabled reports whether this build was made with -tags sched, in which
// every call of this package is a switch point of the controlled
// scheduler (see Run).
const Enabled = true

// step marks a switch point of kind o, called by a seam function called
// by the code whose place is recorded.
func step(o op) { stepAt(o, 2) }

// stepAt passes a switch point for the calling goroutine if it belongs to
// a run in progress; skip counts the frames above the code to name.
func stepAt(o op, skip int) {
	r, g := current()
	if r == nil {
		return
	}
	if g == nil {
		r.outside()
		return
	}
	at := where(skip + 1)
	r.mu.Lock()
	if !r.ended {
		r.record(g, o, at)
		g.state, g.yielded = runnable, o == opYield
		r.schedule(g)
	}
	r.mu.Unlock()
}

// stepIn passes a switch point of kind o for the caller's caller if the
// calling goroutine belongs to a run in progress, and reports whether it
// did.
func stepIn(o op) bool {
	r, g := current()
	if g == nil {
		if r != nil {
			r.outside()
		}
		return false
	}
	at := where(2)
	r.mu.Lock()
	ok := !r.ended
	if ok {
		r.record(g, o, at)
		g.state, g.yielded = runnable, o == opYield
		r.schedule(g)
	}
	r.mu.Unlock()
	return ok
}

// block makes g, of run r, wait for w at a switch point of kind o. r.mu
// is held; set, if not nil, fills in what g waits for.
func (r *run) block(g *gor, o op, w waitKind, at string, set func()) {
	r.record(g, o, at)
	g.state, g.wait = blocked, w
	if set != nil {
		set()
	}
	r.schedule(g)
}

func (r *run) outside() {
	r.mu.Lock()
	r.res.Outside++
	r.mu.Unlock()
}

// pollOutside waits, for a goroutine outside the run, until try (called
// with r.mu held) succeeds.
func (r *run) pollOutside(try func() bool) {
	r.outside()
	for {
		r.mu.Lock()
		ok := try()
		r.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// where names the code skip frames up, as dir/file.go:line. The names
// are cached by program counter: resolving one costs more than the rest
// of a switch point.
func where(skip int) string {
	var pc [1]uintptr
	if runtime.Callers(skip+2, pc[:]) == 0 {
		return "?"
	}
	if at, ok := places.Load(pc[0]); ok {
		return at.(string)
	}
	f, _ := runtime.CallersFrames(pc[:]).Next()
	file := f.File
	if i := strings.LastIndexByte(file, '/'); i > 0 {
		if j := strings.LastIndexByte(file[:i], '/'); j >= 0 {
			file = file[j+1:]
		}
	}
	at := file + ":" + strconv.Itoa(f.Line)
	places.Store(pc[0], at)
	return at
}

var places sync.Map // program counter -> "dir/file.go:line"

// exitAborted ends a goroutine of an ended run at a wait it cannot
// finish: nobody will run the code that would end it.
func exitAborted(r *run) {
	r.mu.Unlock()
	runtime.Goexit()
}

// Mutex is a mutual exclusion lock, like sync.Mutex. Its zero value is an
// unlocked mutex.
type Mutex struct {
	mu   sync.Mutex
	held bool // in a run: whether it is locked (run.mu guards it)
}

// Lock locks m, waiting until it is free.
func (m *Mutex) Lock() {
	r, g := current()
	switch {
	case r == nil:
		m.mu.Lock()
		return
	case g == nil:
		r.pollOutside(func() bool {
			if m.held {
				return false
			}
			m.held = true
			return true
		})
		return
	}
	at := where(1)
	r.mu.Lock()
	if r.ended {
		if m.held {
			exitAborted(r)
		}
		m.held = true
		r.mu.Unlock()
		return
	}
	r.record(g, opLock, at)
	g.state = runnable
	r.schedule(g)
	if m.held {
		g.state, g.wait, g.mutex = blocked, waitMutex, m
		r.schedule(g) // wake takes m for g
	} else {
		m.held = true
	}
	r.mu.Unlock()
}

// Unlock unlocks m. It is a run-time error if m is not locked.
func (m *Mutex) Unlock() {
	r, g := current()
	if r == nil {
		if m.held { // a goroutine of an ended run that was not yet told
			m.held = false
			return
		}
		m.mu.Unlock()
		return
	}
	if g != nil {
		stepAt(opUnlock, 1)
	}
	r.mu.Lock()
	m.held = false
	r.mu.Unlock()
}

// TryLock tries to lock m and reports whether it succeeded.
func (m *Mutex) TryLock() bool {
	r, g := current()
	if r == nil {
		return m.mu.TryLock()
	}
	if g != nil {
		stepAt(opLock, 1)
	}
	r.mu.Lock()
	ok := !m.held
	m.held = true
	r.mu.Unlock()
	return ok
}

// Cond is a condition variable on a Mutex, like sync.Cond. Call Init
// before its first use.
type Cond struct {
	c       sync.Cond
	l       *Mutex
	waiters []*gor // in a run: goroutines in Wait, oldest first
}

// Init makes l the Mutex of c, which Wait unlocks while it waits.
func (c *Cond) Init(l *Mutex) { c.c.L, c.l = &l.mu, l }

// Wait unlocks c's Mutex, waits for a Signal or Broadcast, and locks it
// again before it returns.
func (c *Cond) Wait() {
	r, g := current()
	if r == nil {
		c.c.Wait()
		return
	}
	if g == nil {
		panic("seam: Cond.Wait in a goroutine outside the controlled run (start it with seam.Go)")
	}
	at := where(1)
	r.mu.Lock()
	if r.ended {
		exitAborted(r)
	}
	c.l.held = false
	r.block(g, opWait, waitCond, at, func() {
		g.signaled = false
		c.waiters = append(c.waiters, g)
	})
	r.mu.Unlock()
	c.l.Lock()
}

// Signal wakes one goroutine waiting on c, if there is any.
func (c *Cond) Signal() { c.wake(false) }

// Broadcast wakes every goroutine waiting on c.
func (c *Cond) Broadcast() { c.wake(true) }

func (c *Cond) wake(all bool) {
	r, g := current()
	if r == nil {
		if all {
			c.c.Broadcast()
		} else {
			c.c.Signal()
		}
		return
	}
	if g != nil {
		stepAt(opSignal, 2)
	}
	r.mu.Lock()
	for len(c.waiters) > 0 {
		w := c.waiters[0]
		c.waiters = c.waiters[1:]
		if w.state == blocked && w.wait == waitCond {
			w.signaled = true
			if !all {
				break
			}
		}
	}
	r.mu.Unlock()
}

// Parker lets one goroutine sleep until another wakes it. It holds at
// most one permit: Unpark leaves one if nobody is parked (a second Unpark
// before the Park adds nothing), and Park takes it, or waits for it. Make
// one with MakeParker; its zero value is not usable.
type Parker struct {
	ch     chan struct{}
	permit bool // in a run: the permit (run.mu guards it)
}

// MakeParker returns a Parker with no permit.
func MakeParker() Parker { return Parker{ch: make(chan struct{}, 1)} }

// Park waits until p has a permit and takes it.
func (p *Parker) Park() { p.park(nil) }

// ParkOr waits until p has a permit, and takes it and returns true, or
// until done is closed, and returns false. A nil done never closes.
func (p *Parker) ParkOr(done <-chan struct{}) bool { return p.park(done) }

func (p *Parker) park(done <-chan struct{}) bool {
	r, g := current()
	if r == nil {
		select {
		case <-p.ch:
			return true
		case <-done:
			return false
		}
	}
	got := false
	take := func() bool {
		if p.permit {
			p.permit, got = false, true
			return true
		}
		return closed(done)
	}
	if g == nil {
		r.pollOutside(take)
		return got
	}
	at := where(2)
	r.mu.Lock()
	if r.ended {
		if !take() {
			exitAborted(r)
		}
		r.mu.Unlock()
		return got
	}
	r.block(g, opPark, waitParker, at, func() { g.parker, g.chans[0] = p, done })
	got = g.result == 1
	r.mu.Unlock()
	return got
}

// Unpark leaves a permit in p, waking its parked goroutine if there is
// one. It never blocks.
func (p *Parker) Unpark() {
	r, g := current()
	if r == nil {
		select {
		case p.ch <- struct{}{}:
		default:
		}
		return
	}
	if g == nil {
		r.outside()
	} else {
		stepAt(opUnpark, 1)
	}
	r.mu.Lock()
	p.permit = true
	r.mu.Unlock()
}

// Await waits until done is closed.
func Await(done <-chan struct{}) { await(done, nil) }

// Await2 waits until a or b is closed, and returns 0 for a and 1 for b.
// If both are, it may return either.
func Await2(a, b <-chan struct{}) int { return await(a, b) }

func await(a, b <-chan struct{}) int {
	r, g := current()
	if r == nil || g == nil {
		select {
		case <-a:
			return 0
		case <-b:
			return 1
		}
	}
	at := where(2)
	r.mu.Lock()
	if r.ended {
		which := -1
		switch {
		case closed(a):
			which = 0
		case closed(b):
			which = 1
		default:
			exitAborted(r)
		}
		r.mu.Unlock()
		return which
	}
	r.block(g, opAwait, waitAwait, at, func() { g.chans = [2]<-chan struct{}{a, b} })
	which := g.result
	r.mu.Unlock()
	return which
}

// Close closes done, a channel that Await and Await2 watch.
func Close(done chan struct{}) {
	stepAt(opClose, 1)
	close(done)
}

// Go runs f in a new goroutine. Under the controlled scheduler the
// goroutine takes part in the run; a goroutine started with a plain go
// statement does not.
func Go(f func()) {
	r, g := current()
	if g == nil {
		if r != nil {
			r.outside()
		}
		go f()
		return
	}
	at := where(1)
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		go f()
		return
	}
	r.record(g, opGo, at)
	r.spawn(f)
	g.state = runnable
	r.schedule(g)
	r.mu.Unlock()
}

// Yield gives the processor to another goroutine, like runtime.Gosched.
// A loop that waits for another goroutine to move must call it (or pass
// another switch point) on every turn.
func Yield() {
	if !stepIn(opYield) {
		runtime.Gosched()
	}
}

// Point marks a place where another goroutine's step matters, with no
// memory access of its own. Without tags it does nothing; with -tags
// chaos it is impl/chaos's perturbation point; with -tags sched it is a
// switch point.
func Point() {
	if !stepIn(opPoint) {
		chaos.Point()
	}
}

// AwaitIdle, in a goroutine of a controlled run, waits until every other
// goroutine of the run is blocked or has exited. Outside a run it returns
// at once.
func AwaitIdle() {
	if _, g := current(); g != nil {
		awaitIdle(nil, 1)
	}
}

// Sleep pauses the calling goroutine for at least d, like time.Sleep.
// Under the controlled scheduler time is virtual: the sleeper wakes once
// every other goroutine of the run is blocked, as if the clock jumped.
func Sleep(d time.Duration) {
	if r, g := current(); g != nil && !r.isEnded() {
		awaitIdle(nil, 1)
		return
	}
	time.Sleep(d)
}

// WithTimeout is context.WithTimeout. Under the controlled scheduler the
// deadline is virtual: the context is cancelled at a switch point once
// every goroutine of the run is blocked (unless cancel came first), so
// that when it fires is the scheduler's choice, and a replay repeats it.
func WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	r, g := current()
	if g == nil || r.isEnded() {
		return context.WithTimeout(parent, d)
	}
	ctx, cancel := context.WithCancelCause(parent)
	Go(func() {
		if awaitIdle(ctx.Done(), 1) {
			cancel(context.DeadlineExceeded)
		}
	})
	return &virtualDeadline{ctx}, func() { cancel(context.Canceled) }
}

// virtualDeadline reports context.DeadlineExceeded, as a context whose
// deadline passed does, when its timer goroutine cancelled it.
type virtualDeadline struct{ context.Context }

func (v *virtualDeadline) Err() error {
	if err := v.Context.Err(); err != nil {
		if cause := context.Cause(v.Context); cause == context.DeadlineExceeded {
			return cause
		}
		return err
	}
	return nil
}

// Until waits until cond reports true, and then returns true, or until
// limit has passed, and then returns false. It polls: use it where the
// code under test gives no wake-up to wait for (a known-bad variant's
// settling, say). Under the controlled scheduler limit is virtual: it
// passes once every other goroutine of the run is blocked.
func Until(cond func() bool, limit time.Duration) bool {
	r, g := current()
	if g == nil || r.isEnded() {
		for deadline := time.Now().Add(limit); !cond(); {
			if !time.Now().Before(deadline) {
				return false
			}
			time.Sleep(10 * time.Microsecond)
		}
		return true
	}
	for !cond() {
		r.mu.Lock()
		idle := r.othersBlocked(g)
		r.mu.Unlock()
		if idle {
			return false
		}
		stepAt(opYield, 1)
	}
	return true
}

// awaitIdle blocks the caller, a goroutine of a run, until every other
// goroutine of the run is blocked (it returns true) or done is closed
// (false). skip counts the frames above the code to name.
func awaitIdle(done <-chan struct{}, skip int) bool {
	return awaitIdleSteps(done, 0, skip+1) == 0
}

// awaitIdleSteps is awaitIdle that also ends once the run has passed
// steps more switch points (if steps > 0): it returns 0 for idle, 1 for
// done, 2 for the steps.
func awaitIdleSteps(done <-chan struct{}, steps, skip int) int {
	r, g := current()
	at := where(skip + 1)
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		if closed(done) {
			return 1
		}
		return 0
	}
	r.block(g, opIdle, waitIdle, at, func() {
		g.chans[0] = done
		if steps > 0 {
			g.until = r.res.Steps + steps
		}
	})
	why := g.result
	r.mu.Unlock()
	return why
}

// AwaitIdleFor, in a goroutine of a controlled run, waits until every
// other goroutine of the run is blocked or has exited, and then returns
// true, or until the run has passed steps more switch points, and then
// returns false: a goroutine that never blocks (a runtime stepping a
// continuation for ever) ends the wait after steps. Outside a run it
// returns true at once.
func AwaitIdleFor(steps int) bool {
	if _, g := current(); g != nil {
		return awaitIdleSteps(nil, steps, 1) == 0
	}
	return true
}

// An Owner names the goroutine on whose behalf a coroutine runs (see
// Adopt).
type Owner struct{ g *gor }

// Current returns the calling goroutine as an Owner, for a coroutine it is
// about to resume (iter.Pull's next).
func Current() Owner {
	_, g := current()
	return Owner{g}
}

// Adopt, called by a coroutine's goroutine each time it is resumed, makes
// its seam calls count as o's: under the controlled scheduler o is blocked
// in the resume while the coroutine runs in its place, so the two are one
// goroutine of the run. Drop undoes it before the coroutine yields or
// ends.
func Adopt(o Owner) {
	if o.g != nil {
		registry.Store(self(), o.g)
		live.Add(1)
	}
}

// Drop ends what Adopt began.
func Drop() {
	if _, ok := registry.LoadAndDelete(self()); ok {
		live.Add(-1)
	}
}

// In a build for the controlled scheduler the main goroutine keeps the
// process's main thread for good, so that no goroutine of a controlled run
// lands on it: code that takes another path on the main thread (impl/rt's
// OS-thread runtimes) would take steps that depend on which thread ran it,
// and its schedules would not replay. Only this build pays for it (a
// thread hand-off when the main goroutine blocks).
func init() { runtime.LockOSThread() }

// ID returns the calling goroutine's id in the controlled run it belongs
// to (the run's main function is 0, the others count up in the order they
// started), or -1 outside a run.
func ID() int {
	if _, g := current(); g != nil {
		return g.id
	}
	return -1
}
