package mailbox

import (
	"runtime"
	"testing"

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
	if raceEnabled {
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
	if raceEnabled {
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
