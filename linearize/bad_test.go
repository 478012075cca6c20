package linearize_test

// Known-bad queues. Each implements spec.Queue[int] with one deliberate
// bug, and each is kept here, in a test file, never in impl/. They use
// atomics and mutexes correctly, so the race detector has nothing to say:
// their bugs are in the logic, which is what the linearizability checker
// must catch. runtime.Gosched() calls widen the windows in which the bugs
// show.

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// lossyQueue claims its tail slot with a load and a later store instead of
// one atomic add: two producers that read the same tail write the same
// slot, and one item is lost.
type lossyQueue struct {
	slots [1 << 12]atomic.Pointer[int]
	head  atomic.Int64
	tail  atomic.Int64
}

func (q *lossyQueue) Push(v *int) {
	t := q.tail.Load() // BUG: not claimed atomically
	runtime.Gosched()
	q.slots[t].Store(v)
	q.tail.Store(t + 1)
}

func (q *lossyQueue) Pop() *int {
	for {
		h := q.head.Load()
		if h >= q.tail.Load() {
			return nil
		}
		if q.head.CompareAndSwap(h, h+1) {
			return q.slots[h].Load()
		}
	}
}

func (q *lossyQueue) Len() int { return int(max(q.tail.Load()-q.head.Load(), 0)) }

// reorderQueue takes a side path when its lock is busy: a producer that
// finds the lock held puts its item on a side list, which consumers only
// look at once the main list is empty. Items pushed under contention
// overtake nothing but are overtaken by later ones: FIFO is broken, but
// only under contention.
type reorderQueue struct {
	mu     sync.Mutex
	main   []*int
	sideMu sync.Mutex
	side   []*int
}

func (q *reorderQueue) Push(v *int) {
	if !q.mu.TryLock() {
		q.sideMu.Lock() // BUG: a second path with its own order
		q.side = append(q.side, v)
		q.sideMu.Unlock()
		return
	}
	q.main = append(q.main, v)
	runtime.Gosched() // hold the lock a while, so others find it busy
	q.mu.Unlock()
}

func (q *reorderQueue) Pop() *int {
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

func (q *reorderQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sideMu.Lock()
	defer q.sideMu.Unlock()
	return len(q.main) + len(q.side)
}

// racyEmptyQueue keeps a "non-empty" flag beside a locked list so that
// Pop can answer "empty" without the lock. A consumer that empties the list
// clears the flag after unlocking, so its store can land after a producer's
// store of true: the flag then says empty while an item is queued, and
// every later Pop returns nil.
type racyEmptyQueue struct {
	mu       sync.Mutex
	items    []*int
	nonEmpty atomic.Bool
}

func (q *racyEmptyQueue) Push(v *int) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.nonEmpty.Store(true)
}

func (q *racyEmptyQueue) Pop() *int {
	if !q.nonEmpty.Load() {
		return nil
	}
	q.mu.Lock()
	var v *int
	if len(q.items) > 0 {
		v = q.items[0]
		q.items = q.items[1:]
	}
	empty := len(q.items) == 0
	q.mu.Unlock()
	if empty {
		runtime.Gosched()
		q.nonEmpty.Store(false) // BUG: races with Push's Store(true)
	}
	return v
}

func (q *racyEmptyQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// stuckQueue's Pop waits for an item when the queue is empty, instead of
// returning nil: a Pop with no Push to follow it never returns. Release
// ends every wait, as a Scenario's Unblock does after reporting the hang.
type stuckQueue struct {
	mu       sync.Mutex
	cond     *sync.Cond
	items    []*int
	released bool
}

func newStuckQueue() *stuckQueue {
	q := &stuckQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *stuckQueue) Push(v *int) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *stuckQueue) Pop() *int {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && !q.released { // BUG: blocks instead of returning nil
		q.cond.Wait()
	}
	if len(q.items) == 0 {
		return nil
	}
	v := q.items[0]
	q.items = q.items[1:]
	return v
}

func (q *stuckQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (q *stuckQueue) release() {
	q.mu.Lock()
	q.released = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// lifoQueue is a stack: correct under no contention only when at most one
// item is ever queued. It is the sequential bug rapid must shrink.
type lifoQueue struct {
	mu    sync.Mutex
	items []*int
}

func (q *lifoQueue) Push(v *int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, v)
}

func (q *lifoQueue) Pop() *int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil
	}
	v := q.items[len(q.items)-1] // BUG: takes the newest
	q.items = q.items[:len(q.items)-1]
	return v
}

func (q *lifoQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// fifoQueue is a correct queue, a slice under a mutex: the control that
// shows the harness passes what it should.
type fifoQueue struct {
	mu    sync.Mutex
	items []*int
}

func (q *fifoQueue) Push(v *int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, v)
}

func (q *fifoQueue) Pop() *int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil
	}
	v := q.items[0]
	q.items = q.items[1:]
	return v
}

func (q *fifoQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// panickyQueue is fifoQueue, except that its third Pop panics.
type panickyQueue struct {
	fifoQueue
	pops atomic.Int32
}

func (q *panickyQueue) Pop() *int {
	if q.pops.Add(1) == 3 {
		panic("panickyQueue: third pop")
	}
	return q.fifoQueue.Pop()
}

// staleTailQueue decides emptiness from a stale snapshot: Pop reads tail,
// then (later) head, and reports empty if head has caught up with the tail
// it read. Meanwhile a push may have completed and other pops consumed the
// older items, so the queue was never empty during the Pop. Seeing it takes
// three clients at once: a slow consumer, a producer and a fast consumer.
type staleTailQueue struct {
	lossyQueue
	mu sync.Mutex // serialises producers, so that only emptiness is wrong
}

func (q *staleTailQueue) Push(v *int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.tail.Load()
	q.slots[t].Store(v)
	q.tail.Store(t + 1)
}

func (q *staleTailQueue) Pop() *int {
	for {
		t := q.tail.Load()
		runtime.Gosched()
		h := q.head.Load() // BUG: t may be stale by now
		if h >= t {
			return nil
		}
		if q.head.CompareAndSwap(h, h+1) {
			return q.slots[h].Load()
		}
	}
}
