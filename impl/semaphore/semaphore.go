// Package semaphore provides a counting semaphore: a limit of n on how
// many goroutines hold a permit at once, with a context for the wait.
//
// Acquire and TryAcquire take a permit, Release gives one back, and Do
// runs a function holding one. Waiters are served first come, first
// served: a Release while goroutines wait hands its permit to the one that
// has waited longest, and wakes exactly that one. A waiter parks; it uses
// no CPU while it waits. The contract is spec.Semaphore's.
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
//  2. queued set ⇒ no permit is free: the bit is set by a compare-and-swap
//     from exactly 0 (nothing free), and permits are added only by a
//     compare-and-swap from a word without the bit. While the bit is set
//     the word is exactly queued, and only holders of mu change it.
//  3. Permits are conserved: free permits plus permits held (by callers,
//     and by waiters they were handed to) is n, at every instant.
//  4. A waiter is on the list from the push that parks it until exactly
//     one party takes it off, under mu: a Release, which sets granted and
//     then unparks it once, or the waiter itself, giving up, which nobody
//     then unparks. So its parker gets at most one permit per wait, and
//     that permit is taken before the waiter is reused.
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
const MaxCapacity = 1<<62 - 1

// queued is the bit of state that says goroutines sleep on the list.
const queued = 1 << 62

// acquireSpins is how many times an Acquire that finds no permit free
// yields the processor, looking again after each, before it sleeps. It
// spins only while nobody sleeps: behind a sleeper no permit will be free
// for it (FIFO), and the sleepers are served first.
const acquireSpins = 4

// Semaphore is a counting semaphore. The zero value is not usable; call
// New. A Semaphore must not be copied after first use.
type Semaphore struct {
	// state is the free permits | queued. Written by compare-and-swap
	// by every call that takes or gives back a permit without sleeping,
	// and, under mu, by the sleeper that sets queued and by whoever
	// clears it (invariants 1 and 2).
	state seam.Int64
	// n is the capacity; written once by New.
	n int64
	// mu guards waiters and every change of the queued bit.
	mu seam.Mutex
	// waiters are the sleeping Acquire calls, oldest first; under mu.
	waiters list
}

// New returns a semaphore of capacity n, with all n permits free. A
// capacity below 1 or above MaxCapacity is an error that wraps
// ErrCapacity.
func New(n int) (*Semaphore, error) {
	if n < 1 || int64(n) > MaxCapacity {
		return nil, fmt.Errorf("%w: New(%d): the capacity must be at least 1 and at most %d", ErrCapacity, n, int64(MaxCapacity))
	}
	s := &Semaphore{n: int64(n)}
	s.state.Store(int64(n))
	return s, nil
}

// TryAcquire takes a permit and reports true if one is free, and reports
// false if none is, without waiting. It never takes a permit while an
// Acquire sleeps (none is free then), so it does not overtake waiters.
func (s *Semaphore) TryAcquire() bool {
	for {
		st := s.state.Load()
		if st <= 0 || st&queued != 0 {
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
// wait.
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
		if s.state.Load()&queued != 0 {
			break
		}
		seam.Yield()
		if s.TryAcquire() {
			return nil
		}
	}
	w := getWaiter()
	s.mu.Lock()
	for {
		st := s.state.Load()
		if st&queued != 0 {
			break // others sleep, and nothing is free (invariant 2)
		}
		if st > 0 {
			if s.state.CompareAndSwap(st, st-1) {
				s.mu.Unlock()
				putWaiter(w)
				return nil
			}
			continue
		}
		if s.state.CompareAndSwap(0, queued) {
			break // the first sleeper: nothing free, and now queued
		}
	}
	s.waiters.push(w)
	s.mu.Unlock()
	if w.p.ParkOr(ctx.Done()) {
		putWaiter(w) // a Release handed us its permit
		return nil
	}
	s.mu.Lock()
	if w.granted {
		// A Release took us off the list first and handed us its permit;
		// its Unpark follows its Unlock, and we take that wake-up so that
		// w goes back with no permit in its parker.
		s.mu.Unlock()
		w.p.Park()
		putWaiter(w)
		return nil
	}
	s.waiters.remove(w)
	if s.waiters.head == nil {
		s.state.Add(-queued) // the word was exactly queued (invariant 2)
	}
	s.mu.Unlock()
	putWaiter(w)
	return ctx.Err()
}

// Release gives a permit back. If goroutines wait, it hands the permit to
// the one that has waited longest and wakes it (exactly one); otherwise
// the permit becomes free.
//
// Releasing more permits than were acquired is a programmer error:
// Release panics if all n permits are free already, as sync.Mutex's
// Unlock of an unlocked mutex does. While other permits are held an extra
// Release cannot be told from theirs, and is not detected.
func (s *Semaphore) Release() {
	for {
		st := s.state.Load()
		if st&queued == 0 {
			if st >= s.n {
				panic(fmt.Sprintf("semaphore: Release with all %d permits free: more Releases than Acquires", s.n))
			}
			if s.state.CompareAndSwap(st, st+1) {
				return
			}
			continue
		}
		s.mu.Lock()
		if s.state.Load()&queued == 0 {
			s.mu.Unlock() // the last sleeper gave up meanwhile: look again
			continue
		}
		w := s.waiters.head
		s.waiters.remove(w)
		w.granted = true
		if s.waiters.head == nil {
			s.state.Add(-queued) // the word was exactly queued (invariant 2)
		}
		s.mu.Unlock()
		w.p.Unpark()
		return
	}
}

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
	return int(s.state.Load() &^ queued)
}

// A waiter is one sleeping Acquire.
type waiter struct {
	p          seam.Parker
	granted    bool // under mu: a Release handed this waiter its permit
	prev, next *waiter
}

// waiterPool is outside the seam on purpose: it recycles waiters between
// calls and holds no state the protocol depends on (invariant 4: a waiter
// goes back off the list, with no permit in its parker).
var waiterPool = sync.Pool{New: func() any { return &waiter{p: seam.MakeParker()} }}

func getWaiter() *waiter {
	w := waiterPool.Get().(*waiter)
	w.granted = false
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
