// Package cubby provides a Cubby: a cell of any type T shared by one
// writer and one reader, guarded by Peterson's algorithm, as the Nim
// original's cubby is.
//
// The writer puts a value in with Store, or changes it in place with
// Update; the reader takes a copy out with Load, looks at it in place with
// View, or asks TryLoad whether there is anything new since the version it
// last saw, which answers at once when there is not. The contract is
// spec.Cubby's.
//
// # What it is for in Go
//
// atomic.Pointer[T] publishes a value without a lock, but each write must
// allocate a new T (a value already published may be in a reader's hands),
// and every value lives on the heap. A Cubby copies a value of any size in
// and out of one cell it owns: a struct of several words is stored and
// loaded without allocating, and the reader never sees it torn. Against a
// sync.Mutex around a value it gives the two parties a fixed pairing
// (neither can overtake the other twice while the other waits) and a
// TryLoad that does not touch the lock when nothing changed. Use it for a
// latest-value cell between one producer and one consumer: a sample, a
// snapshot of counters, a configuration handed from one goroutine to
// another.
//
// # Design
//
// Peterson's algorithm for two parties, writer (side 0) and reader (side
// 1). Each side has a flag, want[side], and both share turn:
//
//	enter(me):  want[me] = true; turn = other; wait while want[other] && turn == other
//	leave(me):  want[me] = false
//
// Invariants. Every access below is a sync/atomic (through impl/seam)
// load, store, swap or compare-and-swap, and all of those are sequentially
// consistent in Go's memory model: there is one order of all of them that
// every goroutine agrees on, and each sees the latest store before it in
// that order. Peterson's algorithm needs exactly that (a store of want
// must not be reordered after the load of the other's want that follows
// it, which weaker orders allow), and is wrong without it.
//
//  1. Mutual exclusion: the writer's and the reader's critical sections
//     (from enter to leave) never overlap. If both were inside, each set
//     want before it set turn, and the side that set turn last, say s,
//     then read want[other] = true (set before the other's turn store,
//     which came first) and turn = other (nobody stored since): it would
//     still be waiting.
//  2. v is written only inside the writer's critical section and read only
//     inside the reader's: by (1) the reader sees a whole value, never
//     torn. Go's race detector sees the same: each entry reads a want or
//     turn that the other side stored after its last critical section.
//  3. version counts the writes; it is stored only inside the writer's
//     critical section, just after v, so a reader inside its own sees the
//     version of the value it sees. TryLoad reads it outside: a version
//     equal to the one the reader saw means no write has finished since.
//  4. Bounded bypass: a side that wants in while the other is inside gets
//     in before the other gets in again, since the other's next entry sets
//     turn to this side.
//  5. want[me] is set only by side me, by a compare-and-swap from false:
//     a second caller of one role, overlapping the first, fails it and
//     panics (spec.Cubby's programmer error), without touching the state.
//
// Waiting. A side that must wait looks again: up to waitLooks times at
// once (where there is more than one processor), then up to waitYields
// times yielding the processor (seam.Yield) before each look, and then it
// parks on its own seam.Parker: a parked side uses no CPU. Every look is
// an atomic load, a switch point of the controlled scheduler. It parks by setting
// asleep[me] and looking once more; the other side, after each store that
// may let it in (its turn store on entry, its want store on leaving),
// looks at asleep[me] and, if it takes it from true to false, unparks it.
// One of the two sees the other's store (sequential consistency again), so
// no wake-up is lost; and whoever clears asleep[me] unparks exactly once,
// so a side that finds its flag already taken parks once more to take
// that permit, and its Parker is empty whenever it is not waiting.
package cubby

import (
	"errors"
	"runtime"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

var _ spec.Cubby[int] = (*Cubby[int])(nil)

// ErrNilFunc is the error of Update and View given a nil function; they
// then do nothing.
var ErrNilFunc = errors.New("cubby: Update or View with a nil function")

// The two sides of Peterson's algorithm.
const (
	writer = 0
	reader = 1
)

// waitYields is how many times a side that must wait yields the processor
// and looks again before it parks: the other side's critical section is
// a copy, which a yield or two usually outlasts. A variable only so that
// the tests can turn the looks and yields off (export_test.go): under the
// controlled scheduler a yield lets the other side go first, so a waiter
// that yields never parks while the other can move, and the parking
// protocol is reached only with them off.
var waitYields = 4

// waitLooks is how many times a side that must wait first looks again
// without yielding, where there is more than one processor (on one, the
// other side cannot move while it looks): the other side's copy is
// usually done in that time, and a yield costs more than the copy. Under
// the controlled scheduler every look is a switch point, and the count is
// the same on every machine, so that a schedule replays anywhere.
var waitLooks = func() int {
	if seam.Enabled || runtime.NumCPU() > 1 {
		return 32
	}
	return 0
}()

// misuse is the panic of a second caller of a role (invariant 5).
var misuse = [2]string{
	writer: "cubby: two Store or Update calls at once: a Cubby has one writer at a time (or Store or Update was called from inside Update's function)",
	reader: "cubby: two Load, TryLoad or View calls at once: a Cubby has one reader at a time (or one was called from inside View's function)",
}

// Cubby is a cell of a T for one writer and one reader. The zero value is
// not usable; call New. A Cubby must not be copied after first use.
type Cubby[T any] struct {
	// want[s] is true from side s's entry to its leaving. Written only by
	// side s (invariant 5); read by the other side's wait.
	want [2]seam.Bool
	// turn is the side that must wait if both want in: each side stores
	// the other on entry.
	turn seam.Uint32
	// asleep[s] is true while side s is parked or about to park. Set by s;
	// cleared by s, or by the other side, which then unparks s.
	asleep [2]seam.Bool
	// park[s] is where side s sleeps; made by New.
	park [2]seam.Parker
	_    [cacheLine]byte
	// version is the number of writes; stored by the writer inside its
	// critical section, loaded by the reader anywhere (invariant 3). A
	// line of its own: a reader that polls it with TryLoad does not pull
	// the words the writer's entry and exit write.
	version seam.Uint64
	_       [cacheLine - 8]byte
	// v is the value: written inside the writer's critical section, read
	// inside the reader's (invariant 2).
	v T
}

// cacheLine is the span that keeps the version apart from the words
// around it.
const cacheLine = 64

// New returns an empty cubby: T's zero value, version 0.
func New[T any]() *Cubby[T] {
	return &Cubby[T]{park: [2]seam.Parker{seam.MakeParker(), seam.MakeParker()}}
}

// Store puts a copy of x in the cubby, for the reader's next Load. It
// waits only while the reader is copying the value out (or inside View's
// function), and then no longer than the reader's one critical section.
//
// Store is the writer's: it must not overlap another Store or Update, and
// panics if it finds one inside.
func (c *Cubby[T]) Store(x T) {
	c.enter(writer)
	c.v = x
	c.version.Add(1)
	c.leave(writer)
}

// Update calls f with a pointer to the cubby's value, which f may change
// in place, as the writer: the reader waits meanwhile. Use it to change
// part of a big value without copying the rest. The pointer is valid only
// until f returns. If f panics, what it wrote stays, counts as a write,
// and the panic goes on; the cubby is usable. A nil f is ErrNilFunc.
//
// f must not call the cubby's methods: a Store or Update from f panics,
// and a Load, TryLoad or View from f waits for f, for ever.
func (c *Cubby[T]) Update(f func(*T)) error {
	if f == nil {
		return ErrNilFunc
	}
	c.enter(writer)
	defer func() {
		c.version.Add(1)
		c.leave(writer)
	}()
	f(&c.v)
	return nil
}

// Load returns a copy of the cubby's value and its version (0 before the
// first write). It waits only while the writer is inside Store or Update,
// and then no longer than that one write.
//
// Load is the reader's: it must not overlap another Load, TryLoad or View,
// and panics if it finds one inside.
func (c *Cubby[T]) Load() (v T, n uint64) {
	c.enter(reader)
	v, n = c.v, c.version.Load()
	c.leave(reader)
	return v, n
}

// TryLoad returns T's zero value, the version and false at once, without
// waiting, if the version is still seen: nothing was written since the
// reader saw version seen. Otherwise it is Load, and returns true. A
// reader that keeps the last version it got polls with it:
//
//	if v, n, ok := c.TryLoad(seen); ok { seen = n; use(v) }
func (c *Cubby[T]) TryLoad(seen uint64) (T, uint64, bool) {
	var zero T
	if n := c.version.Load(); n == seen {
		return zero, n, false
	}
	v, n := c.Load()
	if n == seen {
		// Only a seen from no earlier call can catch up with the writer
		// meanwhile; the answer is still the version's.
		return zero, n, false
	}
	return v, n, true
}

// View calls f with a pointer to the cubby's value, which f must only
// read, as the reader: the writer waits meanwhile. It returns the version
// f saw. Use it to read part of a big value without copying it. The
// pointer is valid only until f returns. A nil f is ErrNilFunc.
//
// f must not call the cubby's methods: a Load, TryLoad or View from f
// panics, and a Store or Update from f waits for f, for ever.
func (c *Cubby[T]) View(f func(*T)) (uint64, error) {
	if f == nil {
		return 0, ErrNilFunc
	}
	c.enter(reader)
	defer c.leave(reader)
	f(&c.v)
	return c.version.Load(), nil
}

// enter is Peterson's entry for side me: it returns inside me's critical
// section.
func (c *Cubby[T]) enter(me uint32) {
	if !c.want[me].CompareAndSwap(false, true) {
		panic(misuse[me])
	}
	other := me ^ 1
	c.turn.Store(other)
	// The other side may be waiting on the turn this store gave it.
	c.wake(other)
	if c.mustWait(other) {
		c.wait(me, other)
	}
}

// leave is Peterson's exit for side me.
func (c *Cubby[T]) leave(me uint32) {
	c.want[me].Store(false)
	c.wake(me ^ 1)
}

// mustWait reports whether the side that is not other must wait: other
// wants in and has the turn.
func (c *Cubby[T]) mustWait(other uint32) bool {
	return c.want[other].Load() && c.turn.Load() == other
}

// wait returns once side me may enter: it looks again a few times,
// yielding between, and then parks until the other side lets it in.
func (c *Cubby[T]) wait(me, other uint32) {
	for range waitLooks {
		if !c.mustWait(other) {
			return
		}
	}
	for range waitYields {
		seam.Yield()
		if !c.mustWait(other) {
			return
		}
	}
	for {
		c.asleep[me].Store(true)
		if !c.mustWait(other) {
			if !c.asleep[me].Swap(false) {
				// The other side took the flag and unparks us once:
				// take that permit, so that park[me] is left empty.
				c.park[me].Park()
			}
			return
		}
		c.park[me].Park() // whoever woke us cleared asleep[me]
	}
}

// wake unparks side s if it is asleep, once.
func (c *Cubby[T]) wake(s uint32) {
	if c.asleep[s].Load() && c.asleep[s].Swap(false) {
		c.park[s].Unpark()
	}
}
