package queue

// White-box tests of the slot protocol's rare paths, driven by hand so
// that they run every time rather than when the scheduler happens to
// produce them.

import (
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/segment"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// An empty queue polled many times must neither advance head (burning
// indices that producers then skip) nor allocate segments.
func TestEmptyPollsClaimNothing(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := New[int]()
	seg := q.headSeg.Load()
	allocs := testing.AllocsPerRun(10000, func() {
		if q.Pop() != nil {
			t.Fatal("Pop on an empty queue returned an item")
		}
	})
	if h := q.head.Load(); h != 0 {
		t.Fatalf("after empty polls head is %d, want 0: indices were burnt", h)
	}
	if allocs != 0 || q.headSeg.Load() != seg {
		t.Fatalf("empty polls allocated (%v per Pop) or moved to a new segment", allocs)
	}
	if got := atomic.LoadPointer(seg.Slot(0)); got != nil {
		t.Fatalf("slot 0 left as %p by empty polls, want nil", got)
	}
}

// A producer that has claimed an index but not written it, when a consumer
// arrives: the consumer must not wait forever (it abandons the slot after a
// bounded wait), must not return nil while the claimed item may be pending
// and others follow, and the producer's item must come out later.
func TestAbandonedSlotIsSkipped(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := New[int]()
	q.tail.Add(1) // a producer claims index 0 and stalls
	if got := q.Pop(); got != nil {
		t.Fatalf("Pop returned %v from a claimed but unwritten slot", got)
	}
	if got := atomic.LoadPointer(q.headSeg.Load().Slot(0)); got != taken {
		t.Fatalf("the stalled producer's slot is %p, want taken", got)
	}
	// The pop that abandoned slot 0 then saw slot 1 unclaimed and stopped
	// without claiming it: head is 1, tail is 1, the queue is empty.
	if h, tl := q.head.Load(), q.tail.Load(); h != 1 || tl != 1 || q.Len() != 0 {
		t.Fatalf("head %d tail %d len %d, want 1 1 0", h, tl, q.Len())
	}
	x := 7
	q.Push(&x)
	if q.Len() != 1 {
		t.Fatalf("Len = %d after one push, want 1", q.Len())
	}
	if got := q.Pop(); got != &x {
		t.Fatalf("Pop = %v, want the pushed pointer", got)
	}
}

// A producer whose slot a consumer marked waiting hands its item over.
func TestHandOver(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := New[int]()
	s := q.tailSeg.Load()
	atomic.StorePointer(s.Slot(0), waiting) // a consumer arrived first and waits
	q.head.Store(1)
	x := 1
	q.Push(&x)
	if got := atomic.LoadPointer(s.Slot(0)); got != unsafe.Pointer(&x) {
		t.Fatalf("the producer did not hand over into the waiting slot")
	}
}

// A producer whose slot was abandoned claims another index. (The other
// branch, a slot given back to nil between the producer's two CASes, needs
// a consumer to act inside that window; the concurrent tests and the stress
// suites under -tags chaos reach it.)
func TestAbandonedSlotMovesProducerOn(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := New[int]()
	s := q.tailSeg.Load()
	atomic.StorePointer(s.Slot(0), taken) // abandoned before the producer came
	x := 1
	q.Push(&x)
	if q.tail.Load() != 2 || atomic.LoadPointer(s.Slot(1)) != unsafe.Pointer(&x) {
		t.Fatalf("a producer finding its slot taken did not move on to the next index")
	}
}

// Segments are linked and found across boundaries, from either side, and
// consumed segments drop out of the queue's reach.
func TestSegmentsChainAndRetire(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := New[int]()
	first := q.headSeg.Load()
	n := 3*segment.Span + 5
	vals := make([]int, n)
	for i := range vals {
		vals[i] = i
		q.Push(&vals[i])
	}
	if got := q.tailSeg.Load().ID(); got != 3 {
		t.Fatalf("tail hint at segment %d after %d pushes, want 3", got, n)
	}
	for i := range vals {
		if p := q.Pop(); p != &vals[i] {
			t.Fatalf("pop %d returned %v, want &vals[%d]", i, p, i)
		}
	}
	if q.headSeg.Load() == first || q.headSeg.Load().ID() != 3 {
		t.Fatalf("head hint did not move past consumed segments")
	}
}
