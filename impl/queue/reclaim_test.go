package queue

// Tests of segment reclamation as the queue uses it: a queue of bounded
// length allocates nothing once warm, one that shrank keeps few segments,
// and every item comes out exactly once while segments are recycled
// under contention; the last fails with segments recycled too early
// (knownbad.SegmentRecyclesEarly).

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/internal/segment"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// A queue whose length stays below a bound allocates nothing once warm:
// ten million items pushed and popped through a queue that never holds
// more than 1000, with no allocation and no collection after the first
// round. Without recycling, every segment's worth of items (1016) would
// allocate a segment: about 9800 allocations, and collections with them.
func TestSteadyStateAllocatesNothing(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const bound = 1000
	rounds := 10_000
	if short {
		rounds = 100
	}
	q := New[int]()
	items := make([]int, bound)
	round := func() {
		for i := range items {
			q.Push(&items[i])
		}
		for range items {
			if q.Pop() == nil {
				t.Fatal("an item went missing")
			}
		}
	}
	for range 3 { // warm up: the segments the queue needs, and its free list
		round()
	}
	made := q.segs.Made()
	runtime.GC() // finish any cycle that earlier tests' garbage started
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(rounds-1, round)
	runtime.ReadMemStats(&after)
	if n := q.segs.Made() - made; n != 0 || allocs != 0 || after.NumGC != before.NumGC {
		t.Fatalf("%d items through a queue of at most %d: %d segments made, %v allocations a round (of %d items), %d collections",
			rounds*bound, bound, n, allocs, bound, after.NumGC-before.NumGC)
	}
	t.Logf("%d items: %d segments made after warm-up, %d mallocs in all, %d collections",
		rounds*bound, q.segs.Made()-made, after.Mallocs-before.Mallocs, after.NumGC-before.NumGC)
}

// A queue that grew to a million items and drained keeps its last
// segment and at most segment.FreeMax free ones: the rest went back to
// the collector. Without reclamation the count of live segments is not
// tracked at all; with a free list that is not bounded it would keep a
// thousand.
func TestDrainedQueueKeepsFewSegments(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	n := 1_000_000
	if short {
		n = 100_000
	}
	q := New[int]()
	items := make([]int, n)
	for i := range items {
		q.Push(&items[i])
	}
	if live, _ := q.segs.Count(); live < n/segment.Span {
		t.Fatalf("a million items held in %d segments", live)
	}
	for i := range items {
		if p := q.Pop(); p != &items[i] {
			t.Fatalf("pop %d returned %p, want %p", i, p, &items[i])
		}
	}
	live, free := q.segs.Count()
	if live > 2 || free > segment.FreeMax {
		t.Fatalf("drained, the queue keeps %d live segments and %d free; want at most 2 and %d", live, free, segment.FreeMax)
	}
	t.Logf("drained: %d live segments, %d free", live, free)
}

// conserve pushes items distinct items from producers goroutines and pops
// them from consumers goroutines through a queue of segments of span
// positions, so that segments are recycled all the time, and says what
// went wrong: an item out twice, an item lost, something out that was
// never pushed, or a panic. It gives up after limit.
func conserve(span, producers, consumers, items int, limit time.Duration) string {
	q := newSpan[int](span)
	vals := make([]int, items)
	for i := range vals {
		vals[i] = i
	}
	seen := make([]int32, items)
	var (
		mu      sync.Mutex
		problem string
		wg      sync.WaitGroup
		pushed  sync.WaitGroup
		done    = make(chan struct{})
	)
	fail := func(why string) {
		mu.Lock()
		if problem == "" {
			problem = why
		}
		mu.Unlock()
	}
	guard := func(f func()) func() {
		return func() {
			defer func() {
				if r := recover(); r != nil {
					fail(fmt.Sprint("panic: ", r, "\n", string(debug.Stack())))
				}
			}()
			f()
		}
	}
	deadline := time.Now().Add(limit)
	for p := range producers {
		pushed.Add(1)
		wg.Go(guard(func() {
			defer pushed.Done()
			for i := p; i < items; i += producers {
				q.Push(&vals[i])
			}
		}))
	}
	var out [64]int
	for c := range consumers {
		wg.Go(guard(func() {
			for {
				v := q.Pop()
				if v == nil {
					select {
					case <-done:
						return
					default:
					}
					if time.Now().After(deadline) {
						return
					}
					runtime.Gosched()
					continue
				}
				off := uintptr(unsafe.Pointer(v)) - uintptr(unsafe.Pointer(&vals[0]))
				i := int(off / unsafe.Sizeof(vals[0]))
				if off >= uintptr(items)*unsafe.Sizeof(vals[0]) || &vals[i] != v {
					fail(fmt.Sprintf("popped %p, which was never pushed", v))
					return
				}
				mu.Lock()
				seen[i]++
				if seen[i] > 1 && problem == "" {
					problem = fmt.Sprintf("item %d came out %d times", i, seen[i])
				}
				mu.Unlock()
				out[c]++
			}
		}))
	}
	pushed.Wait()
	// The producers are done: what is left is drained; a Pop that finds
	// the queue empty now means it is.
	for q.Len() > 0 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	close(done)
	wg.Wait()
	if problem != "" {
		return problem
	}
	for i, n := range seen {
		if n != 1 {
			return fmt.Sprintf("item %d came out %d times (of %d items)", i, n, items)
		}
	}
	return ""
}

// Every item pushed comes out exactly once while segments of 8 positions
// are recycled under four producers and four consumers: a stalled
// producer's slot keeps its segment alive, and a recycled segment is
// never mistaken for its former self.
func TestRecyclingConservesItems(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	items := 200_000
	if short {
		items = 20_000
	}
	for _, span := range []int{1, 2, 8} {
		if why := conserve(span, 4, 4, items, 20*time.Second); why != "" {
			t.Fatalf("segments of %d positions: %s", span, why)
		}
	}
}

// The same check fails when segments are recycled as soon as the hints
// have passed them (knownbad.SegmentRecyclesEarly): a producer descheduled
// between its claim and its write writes into the segment's next life, or
// finds its position's segment gone.
func TestConservationCatchesEarlyRecycling(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	knownbad.SegmentRecyclesEarly.Store(true)
	defer knownbad.SegmentRecyclesEarly.Store(false)
	start := time.Now()
	items := 200_000
	if short {
		items = 20_000
	}
	for try := 1; time.Since(start) < 40*time.Second; try++ {
		if why := conserve(2, 4, 4, items, 5*time.Second); why != "" {
			t.Logf("caught on try %d, after %v: %s", try, time.Since(start).Round(time.Millisecond), why)
			return
		}
	}
	t.Fatal("segments recycled too early went uncaught for 40s")
}
