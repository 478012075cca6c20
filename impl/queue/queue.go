// Package queue provides an unbounded, lock-free, multi-producer
// multi-consumer FIFO queue of pointers.
//
// The queue moves pointers and never copies the objects they point to:
// Push stores the pointer it is given and Pop hands back that same pointer,
// so ownership of the object moves from producer to consumer ("zero copy").
// Nil is the empty result of [Queue.Pop], so it cannot be queued; [Queue.Push]
// panics when given nil.
//
// # Algorithm
//
// The queue is a fetch-and-add array queue over linked segments, the family
// of designs introduced by Morrison and Afek (LCRQ, PPoPP 2013), in the
// unbounded segment-list form of Yang and Mellor-Crummey ("A wait-free
// queue as fast as fetch-and-add", PPoPP 2016) that the Nim original's
// queue also follows (Giersch and Nolte, "Fast and Portable Concurrent FIFO
// Queues With Deterministic Memory Reclamation", IEEE TPDS 2022). Two
// monotonic 64-bit counters, tail and head, hand out slot indices: a
// producer claims index i with one atomic add on tail and writes its
// pointer into slot i; a consumer claims index i with one atomic add on
// head and takes whatever slot i holds. Slots live in segments of
// segmentSlots slots, linked in index order and created on demand by
// whichever side first needs one (package impl/internal/segment).
//
// A slot moves through these states, each change an atomic operation on
// the slot:
//
//	nil ──producer CAS──▶ item ──consumer Swap──▶ consumed       (the usual way)
//	nil ──consumer Swap──▶ waiting ──producer CAS──▶ item ──consumer Swap──▶ consumed
//	                                                                     (hand-over)
//	    waiting ──consumer CAS──▶ taken ──producer Store──▶ gone    (abandoned)
//
// "waiting", "taken", "consumed" and "gone" are the addresses of private
// sentinel objects, never integers dressed as pointers, so the garbage
// collector sees every pointer the queue holds; a consumed slot keeps a
// sentinel, not the item, so an item is collectable as soon as it has
// been popped. Consumed and gone are final: each is the last access of
// the slot's last operation (the consumer's, or the producer's of an
// abandoned slot), so a segment whose slots are all final is done with,
// and impl/internal/segment recycles it (see Memory).
//
// Emptiness rests on one invariant: a consumer that has claimed index i
// either takes what is written at i or abandons slot i, after which nothing
// can be written there. So if a consumer reads tail ≤ h, where h is a value
// of head, every index a producer had claimed at that instant belonged to a
// consumer, and the queue was empty then. Pop checks this before claiming:
// it looks at the slot at the current head, and only if that slot is still
// nil does it read tail; an empty queue polled in a loop therefore claims
// no index and allocates nothing, and a non-empty one costs consumers no
// read of the producers' counter. A consumer that claims i and finds the
// slot empty reads tail too: if tail ≤ i it abandons i and returns nil;
// otherwise i's producer is between its claim and its write, so the
// consumer re-reads the slot a bounded number of times for the hand-over,
// then abandons i and claims another index. A producer whose slot was
// abandoned claims another index.
//
// (An earlier version let a consumer that found the queue empty give its
// index back, moving head from i+1 to i. The linearizability checker found
// the flaw: a consumer above it could decide "empty" while an item sat at
// the index being given back. The invariant above is what that version
// broke.)
//
// # Progress
//
// Push and Pop are lock-free: neither takes a lock or parks, and every wait
// is bounded. In the common case a Push is one fetch-and-add on tail and
// one compare-and-swap on its slot, and a Pop is two loads (head, and the
// slot it is about to claim), one fetch-and-add on head and one atomic
// exchange on the slot. A Push claims another index only
// when a consumer abandoned its slot, and a Pop claims another index only
// when it abandoned one whose producer was still on its way; in either case
// another operation has made progress. They are not wait-free: a producer
// can in principle be overtaken forever by consumers abandoning its slots.
//
// # Memory
//
// Slots live in the segments of impl/internal/segment: 8 KiB each, 8.06
// bytes per queued item, consecutive indices in different cache lines. A
// segment whose slots are all final, that both hints have passed and that
// no walk has pinned goes back to the queue's free list of a few segments
// and is linked again at the tail with a new ID, so a queue whose length
// stays bounded allocates nothing once warm, and one that shrinks keeps
// at most segment.FreeMax segments beyond those it needs. Why no
// operation can then touch the segment, however slow, and why a recycled
// segment cannot be mistaken for its former self, is the invariant in
// the package documentation of impl/internal/segment.
package queue

import (
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/segment"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// Queue[int] is a spec.Queue[int]. The assertion also instantiates
// Queue[int] here, so that compiling this package inlines every impl/seam
// call that Queue's methods make; a package's export data carries the
// bodies of the functions it inlines itself, besides its own, and not of
// the rest of its dependencies (cmd/compile's noder.linker.exportBody).
// Queue's methods are generic, compiled again by each package that
// instantiates them: without the bodies here, one that imports this
// package and not impl/seam (nor another package that inlines the same
// calls) would call seam.(*Uint64).Add and the rest where a bare atomic
// instruction is meant to be.
var _ spec.Queue[int] = (*Queue[int])(nil)

// spinLoads bounds how many times a consumer re-reads a slot whose producer
// has claimed it but not yet written it, before abandoning the slot.
const spinLoads = 128

// Sentinels. Their addresses mark slot states; their contents are never
// read. They are one byte each so that each has an address of its own.
var (
	waitingObj  byte
	takenObj    byte
	consumedObj byte
	goneObj     byte
	waiting     = unsafe.Pointer(&waitingObj)
	taken       = unsafe.Pointer(&takenObj)
	consumed    = unsafe.Pointer(&consumedObj)
	gone        = unsafe.Pointer(&goneObj)
)

// pad separates fields that different cores write, so that they never share
// a cache line (two lines, for CPUs that prefetch lines in pairs).
type pad [128]byte

// Queue is an unbounded lock-free FIFO queue of *T. The zero value is not
// usable; call [New]. A Queue must not be copied after first use.
type Queue[T any] struct {
	_ pad
	// tail is the next index a producer will claim; only producers write
	// it, once per push, so it has a cache line of its own.
	tail seam.Uint64
	_    pad
	// tailSeg is a segment at or before the one holding tail. It changes
	// once per segment, so it sits on a line of its own that producers can
	// keep shared; beside tail, every push would pull that line twice. A
	// producer loads tailSeg before it claims an index; tailSeg only ever
	// moves to the segment of an index already claimed, so the index the
	// producer then claims is never behind the segment it loaded, and it
	// only walks forward.
	tailSeg seam.Pointer[segment.Segment]
	_       pad
	// head and headSeg are the consumers' twins of tail and tailSeg.
	head    seam.Uint64
	_       pad
	headSeg seam.Pointer[segment.Segment]
	_       pad
	// segs is the queue's list of segments and its free list, which only
	// a goroutine crossing into a new segment touches.
	segs segment.List
	_    pad
}

// New returns an empty queue.
func New[T any]() *Queue[T] { return newSpan[T](segment.Span) }

// newSpan returns an empty queue whose segments hold span positions each:
// tests use a few, so that a few operations recycle segments.
func newSpan[T any](span int) *Queue[T] {
	q := new(Queue[T])
	q.segs.InitSpan([2]unsafe.Pointer{consumed, gone}, &q.tailSeg, &q.headSeg, span)
	return q
}

// Push appends v to the tail of the queue. It never blocks and never fails
// (memory permitting). The queue stores the pointer itself: the object is
// not copied, and the caller should not use it after pushing unless it is
// safe to share.
//
// Push panics if v is nil: nil is what Pop returns for an empty queue, so
// a queued nil could not be told apart from emptiness.
func (q *Queue[T]) Push(v *T) {
	if v == nil {
		panic("queue: Push(nil): nil is the empty result of Pop, so it cannot be queued")
	}
	p := unsafe.Pointer(v)
	for {
		s := q.tailSeg.Load() // before claiming: see the comment on tailSeg
		i := q.tail.Add(1) - 1
		seam.Point() // a consumer may now find i claimed but unwritten
		_, slot := q.segs.Locate(&q.tailSeg, s, i)
		// Each successful CAS publishes v: it is a release that pairs with
		// the consumer's Swap or Load (an acquire) of this slot, so the
		// consumer sees the object as the producer left it.
		if seam.CompareAndSwapPointer(slot, nil, p) {
			return
		}
		// A consumer got here first. If it is waiting, hand the item over;
		// if it has abandoned the slot (taken), say that we have left it
		// too (gone: final), and claim another index.
		if seam.CompareAndSwapPointer(slot, waiting, p) {
			return
		}
		seam.StorePointer(slot, gone)
	}
}

// Pop removes and returns the item at the head of the queue, or nil if the
// queue is empty. It never blocks.
func (q *Queue[T]) Pop() *T {
	for {
		s := q.headSeg.Load() // before claiming: see the comment on tailSeg
		h := q.head.Load()
		empty, full := q.emptyAt(s, h)
		if empty {
			return nil
		}
		i := q.head.Add(1) - 1
		seam.Point()
		_, slot := q.segs.Locate(&q.headSeg, s, i)
		// The usual case: the item is there, and consumed (the slot's last
		// access) takes its place; only its consumer writes a slot that
		// holds an item. If we claimed the position we saw written (h),
		// nobody claimed it before us, so what we saw was its item, still
		// there: one swap takes it. Otherwise we look first, and if
		// nothing is there the swap says we are waiting, unless the item
		// came meanwhile.
		if full && i == h {
			return (*T)(seam.SwapPointer(slot, consumed))
		}
		p := seam.LoadPointer(slot)
		if p == nil {
			p = seam.SwapPointer(slot, waiting)
		}
		if p != nil {
			seam.StorePointer(slot, consumed)
			return (*T)(p)
		}
		// Read tail before deciding: if no producer had claimed i, the
		// queue was empty at this read (see emptyAt), and we abandon i
		// and return nil. Otherwise i's producer is between its claim and
		// its write: our swap left "waiting", so it will hand the item
		// over; wait a bounded while for it, then abandon i and retry.
		empty = q.tail.Load() <= i
		if !empty {
			for range spinLoads {
				if seam.LoadPointer(slot) != waiting {
					return takeArrived[T](slot)
				}
			}
		}
		seam.Point()
		if !seam.CompareAndSwapPointer(slot, waiting, taken) {
			return takeArrived[T](slot) // it arrived after all
		}
		if empty {
			return nil
		}
	}
}

// emptyAt reports whether the queue was empty at some instant of the
// call, judging by h, a value of head read by the caller, and s, a segment
// at or before h's. It is true only if tail ≤ h when read; at that instant
// every index a producer had claimed lay below h and so had been claimed by
// a consumer, which takes the item written there or abandons the slot so
// that nothing is ever written there. It reads tail, the producers' line,
// only when slot h is still unwritten, so that a non-empty queue costs a
// consumer no cache miss on the producers' counter, and an empty queue
// polled in a loop claims no index and allocates nothing. full says that
// it saw slot h written: by its producer, unless a consumer has claimed h
// since.
func (q *Queue[T]) emptyAt(s *segment.Segment, h uint64) (empty, full bool) {
	if slot := s.Peek(h); slot != nil && seam.LoadPointer(slot) != nil {
		return false, true
	}
	return q.tail.Load() <= h, false
}

// takeArrived returns the item that a producer wrote into slot after its
// consumer claimed it, leaving consumed (final) so that the slot does not
// keep the item alive. Only the slot's consumer calls it, once the item is
// there.
func takeArrived[T any](slot *unsafe.Pointer) *T {
	return (*T)(seam.SwapPointer(slot, consumed))
}

// Len returns the number of items in the queue. It is exact when no Push or
// Pop is in progress; while operations run concurrently it is an estimate
// that may count an item being pushed or miss one being popped.
func (q *Queue[T]) Len() int {
	h := q.head.Load()
	t := q.tail.Load()
	if t <= h {
		return 0
	}
	return int(t - h)
}
