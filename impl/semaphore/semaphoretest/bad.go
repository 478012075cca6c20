package semaphoretest

import (
	"context"
	"fmt"
	"slices"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// A Bug is one deliberate fault of a known-bad semaphore (Locked). Every
// check of a semaphore must be shown to catch the bugs it claims to catch:
// the linearizability scenario (free and controlled), the fuzz target and
// the stress suite take their known-bad semaphores from here. Each uses
// its mutex and parkers correctly, through impl/seam, so the race
// detector has nothing to say and a controlled scheduler can interleave
// it: the bugs are in the logic, which is what the checks must catch.
type Bug uint8

const (
	// Correct is no bug: a count and a FIFO list of sleepers under a
	// mutex, the control that shows a check passes what it should, and
	// that the model and the harness accept a second, independent
	// implementation.
	Correct Bug = iota
	// LostWakeup is the check-then-park window: an Acquire that finds no
	// permit free drops the lock, takes it again, lists itself and sleeps
	// without looking again; a Release in between frees its permit with
	// nobody listed to hand it to, and the Acquire sleeps beside it. The
	// scenario's liveness check (Stuck) must report it.
	LostWakeup
	// WakesNone: a Release that finds sleepers frees its permit instead
	// of handing it to one, and wakes nobody. Stuck must report an
	// Acquire asleep beside a free permit.
	WakesNone
	// WakesTwo: a Release that finds two sleepers or more hands a permit
	// to two of them: one permit makes two holders. The linearizability
	// check must find the history Illegal.
	WakesTwo
	// CutShortLeaks: an Acquire cut short by its context returns the
	// context's error but stays on the list of sleepers, so that a later
	// Release hands its permit to a waiter that is gone: the permit is
	// lost. The linearizability check must find the count short (Illegal),
	// or the round hangs with every permit lost.
	CutShortLeaks
	// RacyTry: TryAcquire reads the count, drops the lock, and writes the
	// count less one: two TryAcquires that read the same count both take
	// a permit and take it once (and a write that lands after a Release
	// or an Acquire undoes or redoes it). The linearizability check must
	// find the history Illegal, or Stuck an Acquire asleep beside the
	// permit the write made or behind the one it lost.
	RacyTry
	// LIFO: a Release hands its permit to the sleeper that came last.
	// Every history is still linearizable (the model counts permits and
	// knows no order), so only the FIFO check (impl/semaphore's
	// controlled test, which puts sleepers on the list in a known order)
	// can tell.
	LIFO
	// OverRelease: a Release with every permit free is taken, and the
	// count goes past the capacity, where spec.Semaphore requires a
	// panic. The scenario never releases more than it holds, so only the
	// fuzz target's sequential replay, which does, can tell.
	OverRelease
	// DoKeeps: Do keeps its permit when f panics. The scenario does not
	// call Do; the fuzz target's sequential replay, whose Do panics now
	// and then, must find the count short.
	DoKeeps
	bugs
)

// Scenario reports whether the linearizability scenario is the check
// that catches b (the others: LIFO, OverRelease, DoKeeps, see their
// comments).
func (b Bug) Scenario() bool { return b != Correct && b < LIFO }

var bugNames = [bugs]string{"correct", "lost-wakeup", "wakes-none", "wakes-two", "cut-short-leaks", "racy-try", "lifo", "over-release", "do-keeps"}

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

// Locked returns a semaphore of capacity n built the obvious way, a count
// and a FIFO list of sleepers under a mutex, with bug. It panics if n < 1
// or bug is not a Bug.
func Locked(n int, bug Bug) spec.Semaphore {
	if n < 1 || bug >= bugs {
		panic(fmt.Sprintf("semaphoretest: Locked(%d, %v)", n, bug))
	}
	return &locked{n: n, free: n, bug: bug}
}

// locked is the semaphore Locked returns.
type locked struct {
	mu       seam.Mutex
	n, free  int
	sleepers []*sleeper
	bug      Bug
}

// A sleeper is an Acquire asleep in a locked semaphore. Whoever takes it
// off the list, under mu, sets granted and unparks it, once.
type sleeper struct {
	p       seam.Parker
	granted bool
}

func (l *locked) TryAcquire() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bug == RacyTry {
		seen := l.free
		l.mu.Unlock()
		seam.Yield() // BUG: the count read above may be gone
		l.mu.Lock()
		if seen > 0 {
			l.free = seen - 1
			return true
		}
		return false
	}
	if l.free > 0 {
		l.free--
		return true
	}
	return false
}

func (l *locked) Acquire(ctx context.Context) error {
	if ctx == nil {
		panic("semaphoretest: Acquire with a nil context")
	}
	l.mu.Lock()
	if l.free > 0 {
		l.free--
		l.mu.Unlock()
		return nil
	}
	if l.bug == LostWakeup {
		l.mu.Unlock()
		seam.Yield() // BUG: a Release here frees a permit nobody will see
		l.mu.Lock()
	}
	if err := ctx.Err(); err != nil {
		l.mu.Unlock()
		return err
	}
	s := &sleeper{p: seam.MakeParker()}
	l.sleepers = append(l.sleepers, s)
	l.mu.Unlock()
	if s.p.ParkOr(ctx.Done()) {
		return nil
	}
	l.mu.Lock()
	if s.granted {
		l.mu.Unlock()
		s.p.Park() // the Release's Unpark, which follows its Unlock
		return nil
	}
	if l.bug != CutShortLeaks { // BUG if not: it stays listed
		l.sleepers = slices.DeleteFunc(l.sleepers, func(o *sleeper) bool { return o == s })
	}
	l.mu.Unlock()
	return ctx.Err()
}

func (l *locked) Release() {
	l.mu.Lock()
	if len(l.sleepers) > 0 && l.bug != WakesNone { // BUG if WakesNone: frees it below
		var woken []*sleeper
		switch {
		case l.bug == WakesTwo && len(l.sleepers) > 1:
			woken = slices.Clone(l.sleepers[:2]) // BUG: one permit, two holders
			l.sleepers = l.sleepers[2:]
		case l.bug == LIFO:
			last := len(l.sleepers) - 1
			woken = []*sleeper{l.sleepers[last]} // BUG: the newest first
			l.sleepers = l.sleepers[:last]
		default:
			woken = []*sleeper{l.sleepers[0]}
			l.sleepers = l.sleepers[1:]
		}
		for _, s := range woken {
			s.granted = true
		}
		l.mu.Unlock()
		for _, s := range woken {
			s.p.Unpark()
		}
		return
	}
	defer l.mu.Unlock()
	if l.free == l.n && l.bug != OverRelease { // BUG if OverRelease: counts past n
		panic(fmt.Sprintf("semaphoretest: Release with all %d permits free", l.n))
	}
	l.free++
}

func (l *locked) Do(ctx context.Context, f func()) error {
	if err := l.Acquire(ctx); err != nil {
		return err
	}
	if l.bug == DoKeeps {
		f() // BUG: a panic in f skips the Release
		l.Release()
		return nil
	}
	defer l.Release()
	f()
	return nil
}

func (l *locked) Available() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.free
}

// Unblock hands every sleeper a permit it does not have and wakes it, so
// that the goroutines of a round that hung can exit after the report.
func (l *locked) Unblock() {
	l.mu.Lock()
	woken := l.sleepers
	l.sleepers = nil
	for _, s := range woken {
		s.granted = true
	}
	l.mu.Unlock()
	for _, s := range woken {
		s.p.Unpark()
	}
}
