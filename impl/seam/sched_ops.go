//go:build sched

package seam

import (
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
