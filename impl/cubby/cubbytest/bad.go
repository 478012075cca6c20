package cubbytest

import (
	"errors"
	"fmt"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// A Bug is one deliberate fault of a known-bad cubby (Peterson). Every
// check of a cubby must be shown to catch the bugs it claims to catch:
// the linearizability scenario (free and controlled), the fuzz target and
// the stress suite take their known-bad cubbies from here. Each reaches
// its shared words through impl/seam, so that a controlled scheduler can
// interleave it: the bugs are in the algorithm, which is what the checks
// must catch. A bug whose window is a few instructions wide yields the
// processor inside it (seam.Yield), as a preemption there would, so that
// the free checks meet it in thousands of calls rather than millions;
// under the controlled scheduler the yield is one more switch point.
type Bug uint8

const (
	// Correct is no bug: Peterson's algorithm written again, independently
	// of impl/cubby, the control that shows a check passes what it should.
	Correct Bug = iota
	// NoTurn: Peterson without the turn variable. Each side sets its flag
	// and waits while the other's is set: a writer and a reader that want
	// in at once both wait, for good. The scenario's liveness check
	// (Stuck, or the controlled scheduler's deadlock) must report it.
	NoTurn
	// NoWant: Peterson without the flags (the interest): each side gives
	// the other the turn and waits while the other has it, strict
	// alternation. A side waits until the other side comes, which it need
	// never do: a Store with no reader waits for good. Stuck must report
	// a call waiting with the other party out of the cubby.
	NoWant
	// TurnFirst: the turn set at the wrong moment, before the flag, by
	// the writer. A writer that gives the turn away and is preempted
	// before it raises its flag lets the reader in; then it raises its
	// flag, finds the turn its own, and goes in too: both critical
	// sections at once, and the reader sees a torn pair. The
	// linearizability check must find the history Illegal, the stress
	// suite reads that mix two writes.
	TurnFirst
	// WakeLost: a waiter that parks looks for the last time before it
	// says it sleeps (asleep set after the look): a leaving side in
	// between finds nobody asleep and wakes nobody. Stuck must report a
	// call asleep with the other party out of the cubby.
	WakeLost
	// UpdateKeepsVersion: Update does not count its write, so a TryLoad
	// after an Update says nothing is new. The linearizability check and
	// the fuzz target's sequential replay must find it.
	UpdateKeepsVersion
	// Spins: a waiter yields and looks again for as long as it must wait,
	// and never parks: correct answers, at the cost of a processor per
	// waiter. Every history is still linearizable, so only impl/cubby's
	// CPU check (a waiter blocked behind a long View costs no CPU) and the
	// bench can tell.
	Spins
	// TryLoadWaits: TryLoad enters the critical section before it looks
	// at the version, so that a TryLoad with nothing new waits for a
	// writer inside Update. Every history is still linearizable; only
	// impl/cubby's check that TryLoad returns at once beside a writer
	// stopped inside Update can tell.
	TryLoadWaits
	bugs
)

var bugNames = [bugs]string{"correct", "no-turn", "no-want", "turn-first", "wake-lost", "update-keeps-version", "spins", "try-load-waits"}

// Scenario reports whether the linearizability scenario is a check that
// catches b, free or controlled (the others: Spins, TryLoadWaits, see
// their comments).
func (b Bug) Scenario() bool { return b != Correct && b < Spins }

// String names b, as the self-checks' reports do.
func (b Bug) String() string {
	if b < bugs {
		return bugNames[b]
	}
	return fmt.Sprintf("Bug(%d)", b)
}

// Bugs lists every bug but Correct, in order.
func Bugs() []Bug {
	var bs []Bug
	for b := Correct + 1; b < bugs; b++ {
		bs = append(bs, b)
	}
	return bs
}

// ErrNilFunc is the known-bad cubbies' error for a nil function.
var ErrNilFunc = errors.New("cubbytest: Update or View with a nil function")

// Peterson returns a cubby of pairs built with Peterson's algorithm, with
// bug. It panics if bug is not a Bug.
func Peterson(bug Bug) *Bad {
	if bug >= bugs {
		panic(fmt.Sprintf("cubbytest: Peterson(%v)", bug))
	}
	return &Bad{bug: bug, park: [2]seam.Parker{seam.MakeParker(), seam.MakeParker()}}
}

// Bad is the cubby Peterson returns: flags, a turn, a parker per side, and
// the pair in two atomic words, written and read one after the other. A
// bug that lets both sides in at once tears the pair (a switch point of
// the controlled scheduler falls between the halves) without a data race,
// so that the checks, not the race detector, must catch it.
type Bad struct {
	bug       Bug
	want      [2]seam.Bool
	turn      seam.Uint32
	asleep    [2]seam.Bool
	park      [2]seam.Parker
	version   seam.Uint64
	unblocked seam.Bool
	a, b      seam.Uint64
}

var _ spec.Cubby[Pair] = (*Bad)(nil)

// put writes p, one half after the other.
func (b *Bad) put(p Pair) {
	b.a.Store(p.A)
	b.b.Store(p.B)
}

// get reads the pair, one half after the other.
func (b *Bad) get() Pair { return Pair{A: b.a.Load(), B: b.b.Load()} }

// must reports whether side me must wait.
func (b *Bad) must(me uint32) bool {
	other := me ^ 1
	switch b.bug {
	case NoTurn:
		return b.want[other].Load() // BUG: no tie-break
	case NoWant:
		return b.turn.Load() == other // BUG: waits for the other even if it is not there
	}
	return b.want[other].Load() && b.turn.Load() == other
}

func (b *Bad) enter(me uint32) {
	other := me ^ 1
	switch b.bug {
	case NoTurn:
		b.want[me].Store(true)
		seam.Yield() // widens the window in which both flags go up
	case NoWant:
		b.turn.Store(other)
	case TurnFirst:
		if me == 0 {
			b.turn.Store(other) // BUG: the reader may pass before our flag is up
			seam.Yield()        // widens that window, as a preemption there would
			b.want[me].Store(true)
			break
		}
		fallthrough
	default:
		b.want[me].Store(true)
		b.turn.Store(other)
	}
	b.wake(other)
	for b.must(me) && !b.unblocked.Load() {
		if b.bug == Spins {
			seam.Yield() // BUG: for as long as it waits
			continue
		}
		if b.bug == WakeLost {
			// BUG: the look was the loop's; a leaving side that comes
			// before this store finds nobody asleep. The yield widens
			// the window, as a preemption there would.
			seam.Yield()
			b.asleep[me].Store(true)
			b.park[me].Park()
			continue
		}
		b.asleep[me].Store(true)
		if !b.must(me) {
			if !b.asleep[me].Swap(false) {
				b.park[me].Park()
			}
			return
		}
		b.park[me].Park()
	}
}

func (b *Bad) leave(me uint32) {
	if b.bug != NoWant {
		b.want[me].Store(false)
	}
	b.wake(me ^ 1)
}

// wake unparks side s if it is asleep. With WakeLost a waiter that parked
// never said so, and nobody wakes it.
func (b *Bad) wake(s uint32) {
	if b.asleep[s].Load() && b.asleep[s].Swap(false) {
		b.park[s].Unpark()
	}
}

// Store puts a copy of x in.
func (b *Bad) Store(x Pair) {
	b.enter(0)
	b.put(x)
	b.version.Add(1)
	b.leave(0)
}

// Update calls f on the value in place.
func (b *Bad) Update(f func(*Pair)) error {
	if f == nil {
		return ErrNilFunc
	}
	b.enter(0)
	defer b.leave(0)
	p := b.get()
	f(&p)
	b.put(p)
	if b.bug != UpdateKeepsVersion { // BUG if not: the write is not counted
		b.version.Add(1)
	}
	return nil
}

// Load returns a copy of the value and the version.
func (b *Bad) Load() (Pair, uint64) {
	b.enter(1)
	v, n := b.get(), b.version.Load()
	b.leave(1)
	return v, n
}

// TryLoad is Load if the version is not seen.
func (b *Bad) TryLoad(seen uint64) (Pair, uint64, bool) {
	var zero Pair
	if b.bug == TryLoadWaits {
		if v, n := b.Load(); n != seen { // BUG: waits for the writer first
			return v, n, true
		}
		return zero, seen, false
	}
	if n := b.version.Load(); n == seen {
		return zero, n, false
	}
	v, n := b.Load()
	if n == seen {
		return zero, n, false
	}
	return v, n, true
}

// View calls f on the value in place.
func (b *Bad) View(f func(*Pair)) (uint64, error) {
	if f == nil {
		return 0, ErrNilFunc
	}
	b.enter(1)
	defer b.leave(1)
	p := b.get()
	f(&p)
	return b.version.Load(), nil
}

// Unblock lets every waiter in, for good, and wakes the sleepers, so that
// the goroutines of a round that hung can exit after the report.
func (b *Bad) Unblock() {
	b.unblocked.Store(true)
	for s := range b.park {
		b.park[s].Unpark()
	}
}
