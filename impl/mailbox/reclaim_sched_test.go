//go:build sched

package mailbox

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// recycleRound runs one round under chooser c: through an unbounded
// mailbox of segments of 2 positions, a sender sends one item while
// another sends six and receives after each, and a receiver receives four
// times; then the mailbox is drained. Every item sent must come out
// exactly once, and nothing else. It returns what went wrong, if
// anything, and the run's result.
//
// The bug it catches (knownbad.SegmentRecyclesEarly): the first sender
// claims its position and is held before it writes, while a receipt that
// claimed the same position waits for it and the others move both hints
// past the segment; the reclaimer recycles the segment, and the sender
// then writes into its next life, over another sender's item or under
// another receipt, which takes the first receipt's consumed mark for an
// item.
func recycleRound(c seam.Chooser) (string, seam.Result) {
	m := newSpan[int](Unbounded, 2)
	items := make([]int, 7)
	var got []*int
	var panicked string
	guard := func(f func()) func() {
		return func() {
			defer func() {
				if r := recover(); r != nil {
					panicked = fmt.Sprint(r)
				}
			}()
			f()
		}
	}
	recv := func() {
		if v, r := m.TryRecv(); r == Received {
			got = append(got, v)
		}
	}
	calls := []func(){
		func() { m.TrySend(&items[0]) },
		func() {
			for i := 1; i < len(items); i++ {
				m.TrySend(&items[i])
				recv()
			}
		},
		func() {
			for range 4 {
				recv()
			}
		},
	}
	res, err := seam.Run(c, func() {
		done := make([]chan struct{}, len(calls))
		for i, call := range calls {
			done[i] = make(chan struct{})
			seam.Go(func() { guard(call)(); seam.Close(done[i]) })
		}
		for _, d := range done {
			seam.Await(d)
		}
	}, seam.Options{})
	switch {
	case err != nil:
		return err.Error(), res
	case res.Outcome != seam.Finished:
		return "the round did not finish: " + res.Failure, res
	case panicked != "":
		return "panic: " + panicked, res
	}
	for v, r := m.TryRecv(); r == Received; v, r = m.TryRecv() {
		got = append(got, v)
	}
	return conserved(items, got), res
}

// conserved says what is wrong with got, the items received, if items
// were sent: an item out other than once, or out that was never sent.
func conserved(items []int, got []*int) string {
	n := make([]int, len(items))
	for _, v := range got {
		i := -1
		for k := range items {
			if v == &items[k] {
				i = k
			}
		}
		switch {
		case unsafe.Pointer(v) == consumed:
			return fmt.Sprintf("received the consumed mark, a slot's final value, as an item (%d items out)", len(got))
		case i < 0:
			return fmt.Sprintf("received %p, which was never sent (%d items out)", v, len(got))
		}
		n[i]++
	}
	for i := range items {
		if n[i] != 1 {
			return fmt.Sprintf("item %d came out %d times (%d items out)", i, n[i], len(got))
		}
	}
	return ""
}

// Controlled schedules find a sender writing into a segment recycled
// under it (knownbad.SegmentRecyclesEarly), and its decisions replay the
// failure exactly; the real reclaimer passes every one of the same
// schedules.
func TestScheduleFindsEarlyRecycling(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const seeds = 400
	strategy := func(seed uint64) schedule.Strategy {
		if seed%2 == 1 {
			return schedule.PCT{Depth: 3}
		}
		return schedule.Random{}
	}
	for seed := range uint64(seeds) {
		st := strategy(seed)
		if why, _ := recycleRound(st.Explore(seed, 0).Next(nil)); why != "" {
			t.Fatalf("the real reclaimer, schedule %d under %s: %s", seed, st, why)
		}
	}
	knownbad.SegmentRecyclesEarly.Store(true)
	defer knownbad.SegmentRecyclesEarly.Store(false)
	var found []string
	for seed := range uint64(seeds) {
		st := strategy(seed)
		why, res := recycleRound(st.Explore(seed, 0).Next(nil))
		if why == "" {
			continue
		}
		found = append(found, fmt.Sprintf("%d/%s", seed, st))
		if strings.HasPrefix(why, "panic") || strings.HasPrefix(why, "the round") {
			continue // the sender found its segment gone: caught, but not the write into the reuse
		}
		again, res2 := recycleRound(&schedule.Replay{Choices: res.Choices})
		if again != why || res2.Hash != res.Hash {
			t.Fatalf("schedule %d under %s: %s; replayed: %q, hash %#x, was %#x", seed, st, why, again, res2.Hash, res.Hash)
		}
		t.Logf("schedule %d under %s (of %d failing: %s): %s; replayed exactly", seed, st, len(found), strings.Join(found, " "), why)
		return
	}
	t.Fatalf("no schedule of %d showed a write into a recycled segment (failing: %v)", seeds, found)
}
