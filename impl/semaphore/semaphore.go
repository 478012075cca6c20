// Package semaphore provides a counting semaphore: a limit of n on how
// many goroutines hold a permit at once, with a context for the wait.
//
// Acquire and TryAcquire take a permit, Release gives one back, and Do
// runs a function holding one. Waiters are served first come, first
// served: a Release while goroutines wait hands its permit to the one that
// has waited longest, and wakes exactly that one. With the Barging
// option a caller may overtake the sleepers, as with sync.Mutex, for
// throughput under contention (see Barging). A waiter parks; it uses no
// CPU while it waits. The contract is spec.Semaphore's.
//
// # Design
//
// One atomic word, state, holds the free permits and a bit, queued, that
// says goroutines are asleep waiting for one:
//
//	state = free permits | queued (bit 62)
//
// The calls that do not wait touch that word only: a TryAcquire, and an
// Acquire that finds a permit free, take one with a compare-and-swap; a
// Release with no waiter gives one back with a compare-and-swap. A mutex,
// mu, guards the list of sleeping waiters, and only two kinds of call take
// it: an Acquire that must sleep, and a Release that finds queued set and so
// has a waiter to hand its permit to.
//
// Invariants (every atomic access is sequentially consistent, as all of
// sync/atomic's are):
//
//  1. queued is set exactly while the list of waiters is non-empty. Both
//     change only under mu, together: the waiter that makes the list
//     non-empty sets the bit, and whoever empties it clears it.
//  2. Served in order (the default): queued set ⇒ no permit is free. The
//     bit is set by a compare-and-swap that finds nothing free, and a
//     Release that finds it set hands its permit to a sleeper instead of
//     freeing it. While the bit is set the word is exactly queued, and
//     only holders of mu change it.
//  3. Permits are conserved: free permits plus permits held (by callers,
//     and by waiters they were handed to) is n, at every instant.
//  4. A waiter is on the list from the push that parks it until exactly
//     one party takes it off, under mu: a Release, which sets granted (or
//     woken) and then unparks it once, or the waiter itself, giving up,
//     which nobody then unparks. So its parker gets at most one wake-up
//     per time on the list, and that wake-up is taken before the waiter
//     sleeps again or is reused.
//
// No lost wake-up: a sleeping Acquire sets queued (2) in the same
// compare-and-swap that finds no permit free, under mu. A Release that
// came before it changed the word, so the compare-and-swap fails and the
// Acquire looks again; a Release after it sees the bit and takes mu, which
// it can only get once the waiter is on the list.
//
// FIFO: while anyone is asleep no permit is ever free (2), so neither a
// TryAcquire nor an Acquire that has not slept can overtake a sleeper; the
// sleepers are granted in the order they joined the list. The cost is the
// convoy of every FIFO handoff (a permit handed to a sleeper is idle until
// the sleeper runs); an Acquire that finds nothing free yields a few times
// (acquireSpins) before it sleeps, while nobody sleeps, which is enough for
// a holder doing a little work to give its permit back.
//
// # Barging
//
// With the Barging option a Release that finds sleepers frees its permit
// and wakes the oldest to come and take it, as sync.Mutex does in its
// normal mode: a caller that comes meanwhile may take the permit first,
// and the woken waiter, finding none, goes back to the head of the list.
// Invariant 2 is replaced by:
//
//	2b. woken is set exactly while one waiter, taken off the list by a
//	   Release with no permit handed to it, has not yet looked again; its
//	   own woken field says so, under mu. queued set and woken clear ⇒ no
//	   permit is free (outside a critical section of mu that is changing
//	   it).
//
// A Release that finds woken set, or queued clear, frees its permit
// without the lock: someone is on the way to look. So at most one
// sleeper is awake for nothing at a time, and a holder that gives a
// permit back and takes it again does so without the lock. The woken
// waiter looks under mu: it takes a free permit and, if one is still
// free and others sleep, passes woken on to the next (2b); or, finding
// none, clears woken and sets queued in one compare-and-swap that finds
// nothing free, and sleeps again at the head. A woken waiter that gives
// up does the same, without sleeping again.
//
// Starvation is bounded: a waiter that went back to sleep overtakeLimit
// times is handed the next permit directly, as without the option.
package semaphore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

var _ spec.Semaphore = (*Semaphore)(nil)

// ErrCapacity is the error of New given a capacity it cannot have: less
// than 1, or more than MaxCapacity. The error New returns wraps it.
var ErrCapacity = errors.New("semaphore: bad capacity")

// ErrNilFunc is Do's error when given a nil function; it acquires nothing.
var ErrNilFunc = errors.New("semaphore: Do with a nil function")

// MaxCapacity is the largest capacity New accepts.
const MaxCapacity = woken - 1

const (
	// queued is the bit of state that says goroutines sleep on the list.
	queued = 1 << 62
	// woken is the bit of state that says a waiter was woken, with the
	// Barging option, to look for a free permit and has not yet looked.
	woken = 1 << 61
	// free is the mask of state's count of free permits.
	free = woken - 1
)

// acquireSpins is how many times an Acquire that finds no permit free
// yields the processor, looking again after each, before it sleeps. It
// spins only while nobody sleeps, or with the Barging option: in order,
// behind a sleeper no permit will be free for it.
const acquireSpins = 4

// overtakeLimit is how many times a waiter, with the Barging option, may
// be woken and find its permit taken before a Release hands it one.
const overtakeLimit = 2

// Semaphore is a counting semaphore. The zero value is not usable; call
// New. A Semaphore must not be copied after first use.
type Semaphore struct {
	// state is the free permits | queued | woken. Written by
	// compare-and-swap by every call that takes or gives back a permit
	// without sleeping, and, under mu, by the sleeper that sets queued,
	// by whoever clears it, and by whoever sets or clears woken
	// (invariants 1, 2 and 2b).
	state seam.Int64
	// n is the capacity; written once by New.
	n int64
	// mu guards waiters and every change of the queued and woken bits.
	mu seam.Mutex
	// waiters are the sleeping Acquire calls, oldest first; under mu.
	waiters list
	// refuse is the bits of state that make TryAcquire refuse a free
	// permit: queued in order, none with Barging. Written once by New.
	refuse int64
	// barging is the Barging option; written once by New.
	barging bool
}

// An Option changes the Semaphore that New makes.
type Option func(*Semaphore)

// Barging lets a caller that comes while others sleep take a permit
// ahead of them, as sync.Mutex lets a Lock overtake its waiters: a
// Release that finds sleepers frees its permit and wakes the one that
// has waited longest, which takes the permit if nobody took it first and
// otherwise sleeps again, first in line. A Release wakes at most one:
// none while a waiter woken earlier has not yet looked, since that one
// takes the permit freed meanwhile or passes the wake-up on. A waiter that
// has found its permit taken twice is handed the next one directly, so
// none waits for ever.
//
// Under contention this trades order for throughput: a holder that gives
// its permit back and wants it again soon takes it again at once, where
// in order it would sleep behind the waiters and each handoff would wait
// for a sleeper to run.
func Barging() Option { return func(s *Semaphore) { s.barging, s.refuse = true, 0 } }

// New returns a semaphore of capacity n, with all n permits free. Waiters
// are served in the order they came, unless the Barging option says
// otherwise (a nil Option changes nothing). A capacity below 1 or above
// MaxCapacity is an error that wraps ErrCapacity.
func New(n int, opts ...Option) (*Semaphore, error) {
	if n < 1 || int64(n) > MaxCapacity {
		return nil, fmt.Errorf("%w: New(%d): the capacity must be at least 1 and at most %d", ErrCapacity, n, int64(MaxCapacity))
	}
	s := &Semaphore{n: int64(n), refuse: queued}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.state.Store(int64(n))
	return s, nil
}

// TryAcquire takes a permit and reports true if one is free, and reports
// false if none is, without waiting. In order (without Barging) it never
// takes a permit while an Acquire sleeps (none is free then), so it does
// not overtake waiters.
func (s *Semaphore) TryAcquire() bool {
	for {
		st := s.state.Load()
		if st&free == 0 || st&s.refuse != 0 {
			return false
		}
		if s.state.CompareAndSwap(st, st-1) {
			return true
		}
	}
}

// Acquire takes a permit, waiting until one is free or ctx is done. It
// returns nil once the caller holds a permit, or ctx.Err() if ctx ended
// while none was free: the call then took none. A call whose ctx is
// already done still takes a permit that is free. If a permit is handed
// to the caller as its ctx ends, Acquire returns nil: the permit is the
// caller's, to Release. Waiters are served in the order they began to
// wait, unless the Barging option says otherwise.
//
// ctx must not be nil (use context.Background()): Acquire panics if it
// is, as context.WithCancel does with a nil parent.
func (s *Semaphore) Acquire(ctx context.Context) error {
	if ctx == nil {
		panic("semaphore: Acquire with a nil context.Context: use context.Background()")
	}
	if s.TryAcquire() {
		return nil
	}
	return s.acquireSlow(ctx)
}

// acquireSlow is Acquire once a first look found no permit free.
func (s *Semaphore) acquireSlow(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for range acquireSpins {
		if s.state.Load()&s.refuse != 0 {
			break
		}
		seam.Yield()
		if s.TryAcquire() {
			return nil
		}
	}
	// Under mu: take a free permit, or list w to sleep, setting queued.
	// (Inline, not a function: a call here lengthens the critical
	// section every sleeper and Release waits on.)
	w := getWaiter()
	took := false
	s.mu.Lock()
	for {
		st := s.state.Load()
		if st&s.refuse != 0 {
			break // in order: others sleep, and nothing is free (invariant 2)
		}
		if st&free > 0 {
			if took = s.state.CompareAndSwap(st, st-1); took {
				break
			}
			continue
		}
		if s.state.CompareAndSwap(st, st|queued) {
			break // nothing free, and now queued
		}
	}
	if !took {
		s.waiters.push(w)
	}
	s.mu.Unlock()
	for !took {
		if !w.p.ParkOr(ctx.Done()) {
			return s.giveUp(ctx, w)
		}
		if w.granted {
			break // a Release handed us its permit
		}
		// Barging: woken (2b) to look for a free permit.
		s.mu.Lock()
		var next *waiter
		took, next = s.lookAgain(w, true)
		s.mu.Unlock()
		next.wake()
	}
	putWaiter(w)
	return nil
}

// lookAgain is, under mu, what a waiter woken with Barging does (2b): it
// takes a free permit and reports true, passing woken on to the next
// sleeper, returned to be woken after mu, if a permit is still free; or,
// finding none, clears woken and, if sleep, lists w again at the head.
func (s *Semaphore) lookAgain(w *waiter, sleep bool) (took bool, next *waiter) {
	w.woken = false
	for {
		st := s.state.Load()
		if st&free == 0 {
			nst := st &^ woken
			if sleep {
				nst |= queued
			}
			if !s.state.CompareAndSwap(st, nst) {
				continue
			}
			if sleep {
				w.overtaken++
				s.waiters.pushFront(w)
			}
			return false, nil
		}
		nst := st - 1
		pass := nst&free > 0 && st&queued != 0
		switch {
		case !pass:
			nst &^= woken
		case s.waiters.head.next == nil:
			nst -= queued // the last sleeper is the one woken (invariant 1)
		}
		if !s.state.CompareAndSwap(st, nst) {
			continue
		}
		if pass {
			next = s.waiters.head
			s.waiters.remove(next)
			next.woken = true
		}
		return true, next
	}
}

// giveUp is Acquire's end when ctx ends while w sleeps or was woken.
func (s *Semaphore) giveUp(ctx context.Context, w *waiter) error {
	s.mu.Lock()
	if w.granted || w.woken {
		// A Release took us off the list first: its Unpark follows its
		// Unlock, and we take that wake-up so that w goes back with
		// nothing in its parker. Handed a permit, it is ours; woken, we
		// look once more, and take one that is free.
		took, next := w.granted, (*waiter)(nil)
		if !took {
			took, next = s.lookAgain(w, false)
		}
		s.mu.Unlock()
		next.wake()
		w.p.Park()
		putWaiter(w)
		if took {
			return nil
		}
		return ctx.Err()
	}
	s.waiters.remove(w)
	if s.waiters.head == nil {
		s.state.Add(-queued) // invariant 1
	}
	s.mu.Unlock()
	putWaiter(w)
	return ctx.Err()
}

// Release gives a permit back. If goroutines wait, it hands the permit to
// the one that has waited longest and wakes it (exactly one); otherwise
// the permit becomes free. With Barging it frees the permit and wakes the
// waiter to take it, unless one woken before has not yet looked.
//
// Releasing more permits than were acquired is a programmer error:
// Release panics if all n permits are free already, as sync.Mutex's
// Unlock of an unlocked mutex does. While other permits are held an extra
// Release cannot be told from theirs, and is not detected.
func (s *Semaphore) Release() {
	for {
		st := s.state.Load()
		if st&queued == 0 || st&woken != 0 {
			if st&free >= s.n {
				panic(fmt.Sprintf("semaphore: Release with all %d permits free: more Releases than Acquires", s.n))
			}
			if s.state.CompareAndSwap(st, st+1) {
				return
			}
			continue
		}
		// Under mu: hand the permit to the oldest sleeper, or with
		// Barging free it and mark the oldest woken (inline, as in
		// acquireSlow). The word changes by one Add, not a
		// compare-and-swap: with queued set and woken clear no permit is
		// free (invariants 2 and 2b), so no TryAcquire takes one, no
		// Release frees one without mu, and every other writer holds mu.
		s.mu.Lock()
		st = s.state.Load()
		if st&queued == 0 || st&woken != 0 {
			s.mu.Unlock()
			continue // the last sleeper gave up, or one was woken meanwhile
		}
		w := s.waiters.head
		s.waiters.remove(w)
		var d int64
		if s.barging && w.overtaken < overtakeLimit {
			w.woken, d = true, 1|woken // free the permit; a waiter is on its way
		} else {
			w.granted = true // hand the permit over
		}
		if s.waiters.head == nil {
			d -= queued // invariant 1
		}
		if d != 0 {
			s.state.Add(d)
		}
		if testHookReleasing != nil {
			testHookReleasing(w)
		}
		s.mu.Unlock()
		w.p.Unpark()
		return
	}
}

// testHookReleasing, set only by this package's tests, runs inside a
// Release's critical section, once it has chosen the waiter w and before
// it lets go of mu and wakes w: the moment the barging tests build.
var testHookReleasing func(w *waiter)

// Do runs f holding a permit: it acquires one (see Acquire), runs f, and
// releases the permit when f returns or panics. If the Acquire fails, f
// does not run and Do returns the Acquire's error. A nil f is an error,
// ErrNilFunc, and acquires nothing.
func (s *Semaphore) Do(ctx context.Context, f func()) error {
	if f == nil {
		return ErrNilFunc
	}
	if err := s.Acquire(ctx); err != nil {
		return err
	}
	defer s.Release()
	f()
	return nil
}

// Available returns the number of free permits at one instant: exact
// while no other call is in progress.
func (s *Semaphore) Available() int {
	return int(s.state.Load() & free)
}

// A waiter is one sleeping Acquire.
type waiter struct {
	p          seam.Parker
	granted    bool // under mu: a Release handed this waiter its permit
	woken      bool // under mu: a Release woke it to look (Barging, 2b)
	overtaken  int  // times it was woken and found nothing free
	prev, next *waiter
}

// wake unparks w, if there is one.
func (w *waiter) wake() {
	if w != nil {
		w.p.Unpark()
	}
}

// waiterPool is outside the seam on purpose: it recycles waiters between
// calls and holds no state the protocol depends on (invariant 4: a waiter
// goes back off the list, with no permit in its parker).
var waiterPool = sync.Pool{New: func() any { return &waiter{p: seam.MakeParker()} }}

func getWaiter() *waiter {
	w := waiterPool.Get().(*waiter)
	w.granted, w.woken, w.overtaken = false, false, 0
	return w
}

func putWaiter(w *waiter) { waiterPool.Put(w) }

// list is a doubly linked list of waiters, oldest first; under mu.
type list struct{ head, tail *waiter }

func (l *list) push(w *waiter) {
	w.prev, w.next = l.tail, nil
	if l.tail == nil {
		l.head = w
	} else {
		l.tail.next = w
	}
	l.tail = w
}

func (l *list) pushFront(w *waiter) {
	w.prev, w.next = nil, l.head
	if l.head == nil {
		l.tail = w
	} else {
		l.head.prev = w
	}
	l.head = w
}

func (l *list) remove(w *waiter) {
	if w.prev == nil {
		l.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		l.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
}
