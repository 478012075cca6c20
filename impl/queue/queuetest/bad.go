package queuetest

import (
	"fmt"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// A Bug is one deliberate fault of a known-bad queue (BadQueue). Every
// check of a queue must be shown to catch the bugs it claims to catch:
// the linearizability scenario (package linearize's tests), the stress
// suites' conservation and storm, and the fuzz target's replay all take
// their known-bad queues from here. Each queue uses its atomics and
// mutexes correctly, so the race detector has nothing to say: the bugs
// are in the logic, which is what the checks must catch. Like the queues
// they stand in for, they touch shared memory and synchronise only
// through impl/seam, so that a controlled scheduler can interleave them.
type Bug uint8

const (
	// Correct is no bug: a slice under a mutex, the control that shows a
	// check passes what it should.
	Correct Bug = iota
	// ClaimsTailLate claims its tail slot with a load and a later store
	// instead of one atomic add: two producers that read the same tail
	// write the same slot, and one item is lost (lock-free).
	ClaimsTailLate
	// Drops drops every n-th push.
	Drops
	// Doubles queues every n-th push twice.
	Doubles
	// LIFO pops the newest item: a stack, wrong as soon as two items wait.
	LIFO
	// Copies pops a copy of every n-th item: the right value, not the
	// pointer pushed (zero copy broken).
	Copies
	// LenOff reports a Len one too many.
	LenOff
	// Reorders takes a side list when its lock is busy, which consumers
	// read only once the main list is empty: FIFO broken under contention
	// only.
	Reorders
	// RacyEmpty keeps a "non-empty" flag beside its locked list so that
	// Pop can answer "empty" without the lock, and clears it after
	// unlocking: the clear can land after a push's set, and the queue then
	// says empty while an item waits.
	RacyEmpty
	// StaleTail decides emptiness from a tail read before the head: a
	// push and other pops meanwhile make it report empty though the queue
	// never was. Seeing it takes three clients at once.
	StaleTail
	// Hangs waits in Pop for an item instead of returning nil: a Pop with
	// no push to follow never returns (Release ends the waits).
	Hangs
	// Panics panics at its third Pop.
	Panics
	// PublishesEarly is the window of publication before initialisation:
	// a lock-free linked queue (Michael and Scott's) whose producer links
	// its node, which makes it reachable to consumers, before it writes
	// the item into the node. A consumer that takes the node in between
	// reads an item not yet written, returns nil (empty) though the queue
	// was not, and the item is lost. Nothing widens the window, which is
	// the producer's few steps between the link and the write.
	PublishesEarly
	bugs
)

var bugNames = [bugs]string{"correct", "claims-tail-late", "drops", "doubles", "lifo", "copies",
	"len-off", "reorders", "racy-empty", "stale-tail", "hangs", "panics", "publishes-early"}

func (b Bug) String() string {
	if b < bugs {
		return bugNames[b]
	}
	return fmt.Sprintf("Bug(%d)", b)
}

// BadQueue returns an empty queue with bug. every is how often a bug that
// counts strikes (Drops, Doubles, Copies: every every-th call; 1 or less:
// every call); the others strike when their window opens.
func BadQueue[T any](bug Bug, every int) spec.Queue[T] {
	every = max(every, 1)
	switch bug {
	case ClaimsTailLate:
		return new(lateTail[T])
	case StaleTail:
		return new(staleTail[T])
	case PublishesEarly:
		return newEarlyPublish[T]()
	case Reorders:
		return new(reorder[T])
	case RacyEmpty:
		return new(racyEmpty[T])
	case Hangs:
		q := new(locked[T])
		q.cond = new(seam.Cond)
		q.cond.Init(&q.mu)
		q.hang = true
		return q
	case Correct, Drops, Doubles, LIFO, Copies, LenOff, Panics:
		return &locked[T]{bug: bug, every: every}
	}
	panic(fmt.Sprintf("queuetest: BadQueue(%v): no such bug", bug))
}

// Release ends every wait of a Hangs queue (for Scenario.Unblock, after the
// hang is reported), so that its goroutines can exit; for any other queue
// it does nothing.
func Release[T any](q spec.Queue[T]) {
	if l, ok := q.(*locked[T]); ok && l.hang {
		l.mu.Lock()
		l.released = true
		l.mu.Unlock()
		l.cond.Broadcast()
	}
}

// locked is a slice under a mutex, with the bugs that need no window.
type locked[T any] struct {
	mu       seam.Mutex
	items    []*T
	bug      Bug
	every    int
	pushes   int
	pops     int
	hang     bool
	cond     *seam.Cond // Hangs: Pop waits on it
	released bool
}

func (q *locked[T]) Push(v *T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pushes++
	strike := q.pushes%max(q.every, 1) == 0
	if q.bug == Drops && strike {
		return
	}
	q.items = append(q.items, v)
	if q.bug == Doubles && strike {
		q.items = append(q.items, v)
	}
	if q.cond != nil {
		q.cond.Signal()
	}
}

func (q *locked[T]) Pop() *T {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pops++
	if q.bug == Panics && q.pops == 3 {
		panic("queuetest: the Panics queue's third Pop")
	}
	for q.hang && len(q.items) == 0 && !q.released {
		q.cond.Wait() // the Hangs bug
	}
	if len(q.items) == 0 {
		return nil
	}
	var v *T
	if q.bug == LIFO {
		v, q.items = q.items[len(q.items)-1], q.items[:len(q.items)-1]
	} else {
		v, q.items = q.items[0], q.items[1:]
	}
	if q.bug == Copies && q.pops%max(q.every, 1) == 0 {
		c := *v
		return &c
	}
	return v
}

func (q *locked[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.bug == LenOff {
		return len(q.items) + 1
	}
	return len(q.items)
}

// slots is an array queue of fixed size: producers claim tail indices,
// consumers head indices.
type slots[T any] struct {
	slots [1 << 14]seam.Pointer[T]
	head  seam.Int64
	tail  seam.Int64
}

func (q *slots[T]) Len() int { return int(max(q.tail.Load()-q.head.Load(), 0)) }

// lateTail is the ClaimsTailLate queue.
type lateTail[T any] struct{ slots[T] }

func (q *lateTail[T]) Push(v *T) {
	t := q.tail.Load() // the bug: not claimed atomically
	seam.Yield()
	q.slots.slots[t].Store(v)
	q.tail.Store(t + 1)
}

func (q *lateTail[T]) Pop() *T {
	for {
		h := q.head.Load()
		if h >= q.tail.Load() {
			return nil
		}
		if q.head.CompareAndSwap(h, h+1) {
			return q.slots.slots[h].Load()
		}
	}
}

// staleTail is the StaleTail queue; its producers are serialised, so that
// only emptiness is wrong.
type staleTail[T any] struct {
	slots[T]
	mu seam.Mutex
}

func (q *staleTail[T]) Push(v *T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.tail.Load()
	q.slots.slots[t].Store(v)
	q.tail.Store(t + 1)
}

func (q *staleTail[T]) Pop() *T {
	for {
		t := q.tail.Load()
		seam.Yield()
		h := q.head.Load() // the bug: t may be stale by now
		if h >= t {
			return nil
		}
		if q.head.CompareAndSwap(h, h+1) {
			return q.slots.slots[h].Load()
		}
	}
}

// reorder is the Reorders queue.
type reorder[T any] struct {
	mu     seam.Mutex
	main   []*T
	sideMu seam.Mutex
	side   []*T
}

func (q *reorder[T]) Push(v *T) {
	if !q.mu.TryLock() {
		q.sideMu.Lock() // the bug: a second path with its own order
		q.side = append(q.side, v)
		q.sideMu.Unlock()
		return
	}
	q.main = append(q.main, v)
	seam.Yield() // hold the lock a while, so others find it busy
	q.mu.Unlock()
}

func (q *reorder[T]) Pop() *T {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.main) > 0 {
		v := q.main[0]
		q.main = q.main[1:]
		return v
	}
	q.sideMu.Lock()
	defer q.sideMu.Unlock()
	if len(q.side) > 0 {
		v := q.side[0]
		q.side = q.side[1:]
		return v
	}
	return nil
}

func (q *reorder[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sideMu.Lock()
	defer q.sideMu.Unlock()
	return len(q.main) + len(q.side)
}

// racyEmpty is the RacyEmpty queue.
type racyEmpty[T any] struct {
	mu       seam.Mutex
	items    []*T
	nonEmpty seam.Bool
}

func (q *racyEmpty[T]) Push(v *T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.nonEmpty.Store(true)
}

func (q *racyEmpty[T]) Pop() *T {
	if !q.nonEmpty.Load() {
		return nil
	}
	q.mu.Lock()
	var v *T
	if len(q.items) > 0 {
		v = q.items[0]
		q.items = q.items[1:]
	}
	empty := len(q.items) == 0
	q.mu.Unlock()
	if empty {
		seam.Yield()
		q.nonEmpty.Store(false) // the bug: races with Push's Store(true)
	}
	return v
}

func (q *racyEmpty[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// node is a node of the PublishesEarly queue's list: its item and its
// successor, both written through the seam.
type node[T any] struct {
	v    seam.Pointer[T]
	next seam.Pointer[node[T]]
}

// earlyPublish is the PublishesEarly queue: a Michael-Scott list whose
// head is a dummy node, lock-free and correct but for the order of the
// producer's writes: it links its node, which makes the node reachable to
// consumers, before it writes the item into it.
type earlyPublish[T any] struct {
	head, tail seam.Pointer[node[T]]
	n          seam.Int64 // pushes less pops that took an item, for Len
}

func newEarlyPublish[T any]() *earlyPublish[T] {
	q := new(earlyPublish[T])
	dummy := new(node[T])
	q.head.Store(dummy)
	q.tail.Store(dummy)
	return q
}

func (q *earlyPublish[T]) Push(v *T) {
	n := new(node[T]) // the item belongs in here before the link below
	for {
		t := q.tail.Load()
		next := t.next.Load()
		if next != nil {
			q.tail.CompareAndSwap(t, next) // help a lagging tail along
			continue
		}
		if t.next.CompareAndSwap(nil, n) { // the bug: published here...
			n.v.Store(v) // ...and initialised only here
			q.n.Add(1)
			q.tail.CompareAndSwap(t, n)
			return
		}
	}
}

func (q *earlyPublish[T]) Pop() *T {
	for {
		h := q.head.Load()
		next := h.next.Load()
		if next == nil {
			return nil
		}
		if q.head.CompareAndSwap(h, next) {
			v := next.v.Load() // nil if its producer has yet to write it
			if v != nil {
				q.n.Add(-1)
			}
			return v
		}
	}
}

func (q *earlyPublish[T]) Len() int { return int(max(q.n.Load(), 0)) }
