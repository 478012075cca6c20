//go:build sched

package queue

import (
	"fmt"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// recycleRound runs one round under chooser c: through a queue of
// segments of 2 positions, a producer pushes one item while another
// pushes six and pops after each, and a consumer pops four times; then
// the queue is drained. Every item pushed must come out exactly once. It
// returns what went wrong, if anything, and the run's result.
//
// The bug it catches (knownbad.SegmentRecyclesEarly): the first producer
// claims its position and is held between its check of the segment and
// its write, while the others move both hints past the segment (a
// consumer abandons the held slot) and the reclaimer recycles it; the
// producer then writes into the segment's next life, and its item is
// lost or comes out in another's place.
func recycleRound(c seam.Chooser) (string, seam.Result) {
	q := newSpan[int](2)
	items := make([]int, 7)
	for i := range items {
		items[i] = i
	}
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
	pop := func() {
		if v := q.Pop(); v != nil {
			got = append(got, v)
		}
	}
	calls := []func(){
		func() { q.Push(&items[0]) },
		func() {
			for i := 1; i < len(items); i++ {
				q.Push(&items[i])
				pop()
			}
		},
		func() {
			for range 4 {
				pop()
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
	for v := q.Pop(); v != nil; v = q.Pop() {
		got = append(got, v)
	}
	for i := range items {
		n := 0
		for _, v := range got {
			if v == &items[i] {
				n++
			}
		}
		if n != 1 {
			return fmt.Sprintf("item %d came out %d times (%d items out)", i, n, len(got)), res
		}
	}
	if len(got) != len(items) {
		return fmt.Sprintf("%d items out, %d pushed", len(got), len(items)), res
	}
	return "", res
}

// Controlled schedules find a producer writing into a segment recycled
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
		if strings.HasPrefix(why, "panic") {
			continue // the producer found its segment gone: caught, but not the write into the reuse
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
