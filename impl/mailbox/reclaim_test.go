package mailbox

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/segment"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// A mailbox of capacity 1024 kept full and emptied, ten million items in
// all, makes no segment and runs no collection once warm: its segments
// are recycled (impl/internal/segment). Before recycling, every 1016
// items allocated a segment: some 9800 of them.
func TestSteadyStateAllocatesNothing(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const bound = 1000
	rounds := 10_000
	if short {
		rounds = 100
	}
	m := New[int](1024)
	items := make([]int, bound)
	round := func() {
		for i := range items {
			if m.TrySend(&items[i]) != spec.Delivered {
				t.Fatal("a send was refused")
			}
		}
		for range items {
			if _, r := m.TryRecv(); r != spec.Received {
				t.Fatal("an item went missing")
			}
		}
	}
	for range 3 { // warm up: the segments the mailbox needs, and its free list
		round()
	}
	made := m.segs.Made()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(rounds-1, round)
	runtime.ReadMemStats(&after)
	if n := m.segs.Made() - made; n != 0 || allocs != 0 || after.NumGC != before.NumGC {
		t.Fatalf("%d items through a mailbox of at most %d: %d segments made, %v allocations a round, %d collections",
			rounds*bound, bound, n, allocs, after.NumGC-before.NumGC)
	}
	t.Logf("%d items: %d segments made after warm-up, %d mallocs in all, %d collections",
		rounds*bound, m.segs.Made()-made, after.Mallocs-before.Mallocs, after.NumGC-before.NumGC)
}

// An unbounded mailbox that grew to a million items and was drained keeps
// at most 2 live segments and segment.FreeMax free ones.
func TestDrainedMailboxKeepsFewSegments(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	n := 1_000_000
	if short {
		n = 100_000
	}
	m := New[int](Unbounded)
	items := make([]int, n)
	for i := range items {
		if m.TrySend(&items[i]) != spec.Delivered {
			t.Fatalf("send %d refused", i)
		}
	}
	for i := range items {
		if v, r := m.TryRecv(); r != spec.Received || v != &items[i] {
			t.Fatalf("receipt %d: %p %v, want %p", i, v, r, &items[i])
		}
	}
	live, free := m.segs.Count()
	if live > 2 || free > segment.FreeMax {
		t.Fatalf("drained, the mailbox keeps %d live segments and %d free; want at most 2 and %d", live, free, segment.FreeMax)
	}
}

// conserve sends items distinct items from senders goroutines to
// receivers goroutines through a mailbox of the given capacity whose
// segments hold span positions, so that segments are recycled all the
// time, and says what went wrong: an item out twice or never, something
// out that was never sent, a send refused, or a panic. Senders alternate
// Send and TrySendMany (batches of up to 3, which cross segments);
// receivers take turns at Recv, TryRecvMany and Drain, until the mailbox,
// closed for writing once every item is in, is drained.
func conserve(span, capacity, senders, receivers, items int) string {
	m := newSpan[int](capacity, span)
	vals := make([]int, items)
	seen := make([]int32, items)
	var (
		mu      sync.Mutex
		problem string
		wg      sync.WaitGroup
		sent    sync.WaitGroup
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
	for s := range senders {
		sent.Add(1)
		wg.Go(guard(func() {
			defer sent.Done()
			var batch []*int
			for i := s; i < items; i += senders {
				if batch = append(batch, &vals[i]); i/senders%2 == 0 && len(batch) < 3 && i+senders < items {
					continue // gather a batch
				}
				if len(batch) == 1 {
					if err := m.Send(batch[0]); err != nil {
						fail(fmt.Sprintf("Send: %v", err))
						return
					}
					batch = batch[:0]
					continue
				}
				for len(batch) > 0 {
					n, r := m.TrySendMany(batch)
					switch r {
					case Delivered:
						batch = batch[n:]
					case Full:
						runtime.Gosched()
					default:
						fail(fmt.Sprintf("TrySendMany: %v", r))
						return
					}
				}
			}
		}))
	}
	received := func(v *int) bool {
		off := uintptr(unsafe.Pointer(v)) - uintptr(unsafe.Pointer(&vals[0]))
		i := int(off / unsafe.Sizeof(vals[0]))
		if off >= uintptr(items)*unsafe.Sizeof(vals[0]) || &vals[i] != v {
			fail(fmt.Sprintf("received %p, which was never sent (consumed mark: %v)", v, unsafe.Pointer(v) == consumed))
			return false
		}
		mu.Lock()
		seen[i]++
		if seen[i] > 1 && problem == "" {
			problem = fmt.Sprintf("item %d came out %d times", i, seen[i])
		}
		mu.Unlock()
		return true
	}
	for range receivers {
		wg.Go(guard(func() {
			buf := make([]*int, 3)
			for k := 0; ; k++ {
				if k%2 == 0 {
					v, err := m.Recv()
					if err != nil {
						return // Unreadable: closed for writing, and drained
					}
					if !received(v) {
						return
					}
					continue
				}
				if k%3 == 1 {
					for _, v := range m.Drain() { // keeps its first segment across its takes
						if !received(v) {
							return
						}
					}
					continue
				}
				n, r := m.TryRecvMany(buf)
				for _, v := range buf[:n] {
					if !received(v) {
						return
					}
				}
				if r == Unreadable {
					return
				}
			}
		}))
	}
	sent.Wait()
	m.CloseWrite()
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

// Every item sent comes out exactly once, and nothing else, while
// segments of 1, 2 and 8 positions are recycled under four senders and
// four receivers, in an unbounded mailbox and in one of capacity 5: a
// stalled sender's or receipt's slot keeps its segment alive, and a
// recycled segment is never mistaken for its former self. The check
// fails on segments recycled too early (TestScheduleFindsEarlyRecycling,
// -tags sched, shows it on the same kind of mailbox); a free run that
// found it could leave a receipt waiting for ever on a slot whose sender
// panicked, so the known-bad runs under controlled schedules only.
func TestRecyclingConservesItems(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	items := 100_000
	if short {
		items = 10_000
	}
	for _, span := range []int{1, 2, 8} {
		for _, capacity := range []int{Unbounded, 5} {
			if why := conserve(span, capacity, 4, 4, items); why != "" {
				t.Fatalf("segments of %d positions, capacity %d: %s", span, capacity, why)
			}
		}
	}
}
