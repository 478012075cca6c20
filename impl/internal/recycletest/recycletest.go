// Package recycletest holds the controlled-schedule check that impl/queue
// and impl/mailbox share: a segment is never recycled under an operation
// that still needs it (knownbad.SegmentRecyclesEarly is the bug it must
// find). Only tests built with -tags sched use it.
package recycletest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// A FIFO is a queue or mailbox of segments of 2 positions, unbounded.
type FIFO interface {
	// Put adds v; it never fails.
	Put(v *int)
	// Take removes and returns the oldest item, or nil if there is none.
	Take() *int
}

// Round runs one round under chooser c on f: a producer puts one item
// while another puts six and takes after each, and a consumer takes four
// times; then f is drained. Every item put must come out exactly once,
// and nothing else; explain, if not nil, names what a value that was
// never put is (a slot's final value, say). Round returns what went
// wrong, if anything, and the run's result.
//
// The bug it catches (knownbad.SegmentRecyclesEarly): the first producer
// claims its position and is held before it writes, while the others
// move both hints past the segment (a consumer abandons the held slot,
// or waits on it) and the reclaimer recycles it; the producer then writes
// into the segment's next life, and its item is lost, comes out in
// another's place, or a consumer there takes a final value for an item.
func Round(c seam.Chooser, f FIFO, explain func(*int) string) (string, seam.Result) {
	items := make([]int, 7)
	var got []*int
	var panicked string
	guard := func(call func()) func() {
		return func() {
			defer func() {
				if r := recover(); r != nil {
					panicked = fmt.Sprint(r)
				}
			}()
			call()
		}
	}
	take := func() {
		if v := f.Take(); v != nil {
			got = append(got, v)
		}
	}
	calls := []func(){
		func() { f.Put(&items[0]) },
		func() {
			for i := 1; i < len(items); i++ {
				f.Put(&items[i])
				take()
			}
		},
		func() {
			for range 4 {
				take()
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
	for v := f.Take(); v != nil; v = f.Take() {
		got = append(got, v)
	}
	return conserved(items, got, explain), res
}

// conserved says what is wrong with got, the items out, if items were
// put: an item out other than once, or a value out that was never put.
func conserved(items []int, got []*int, explain func(*int) string) string {
	n := make([]int, len(items))
	for _, v := range got {
		i := -1
		for k := range items {
			if v == &items[k] {
				i = k
			}
		}
		if i < 0 {
			what := fmt.Sprintf("%p, which was never put", v)
			if explain != nil && explain(v) != "" {
				what = explain(v)
			}
			return fmt.Sprintf("took %s, as an item (%d items out)", what, len(got))
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

// FindsEarlyRecycling runs Round on a fresh FIFO from newFIFO under 400
// schedules (random and pct:3, alternately): the real reclaimer must pass
// every one, and with knownbad.SegmentRecyclesEarly on, one of them must
// show a write into a recycled segment, and its decisions must replay the
// failure exactly. A round in which a producer finds its segment gone (a
// panic, or a round that does not finish) counts as caught, but is not
// the failure looked for.
func FindsEarlyRecycling(t *testing.T, newFIFO func() FIFO, explain func(*int) string) {
	t.Helper()
	testdeadline.Guard(t, testdeadline.Default)
	const seeds = 400
	strategy := func(seed uint64) schedule.Strategy {
		if seed%2 == 1 {
			return schedule.PCT{Depth: 3}
		}
		return schedule.Random{}
	}
	round := func(c seam.Chooser) (string, seam.Result) { return Round(c, newFIFO(), explain) }
	for seed := range uint64(seeds) {
		st := strategy(seed)
		if why, _ := round(st.Explore(seed, 0).Next(nil)); why != "" {
			t.Fatalf("the real reclaimer, schedule %d under %s: %s", seed, st, why)
		}
	}
	knownbad.SegmentRecyclesEarly.Store(true)
	defer knownbad.SegmentRecyclesEarly.Store(false)
	var found []string
	for seed := range uint64(seeds) {
		st := strategy(seed)
		why, res := round(st.Explore(seed, 0).Next(nil))
		if why == "" {
			continue
		}
		found = append(found, fmt.Sprintf("%d/%s", seed, st))
		if strings.HasPrefix(why, "panic") || strings.HasPrefix(why, "the round") {
			continue // the producer found its segment gone: caught, but not the write into the reuse
		}
		again, res2 := round(&schedule.Replay{Choices: res.Choices})
		if again != why || res2.Hash != res.Hash {
			t.Fatalf("schedule %d under %s: %s; replayed: %q, hash %#x, was %#x", seed, st, why, again, res2.Hash, res.Hash)
		}
		t.Logf("schedule %d under %s (of %d failing: %s): %s; replayed exactly", seed, st, len(found), strings.Join(found, " "), why)
		return
	}
	t.Fatalf("no schedule of %d showed a write into a recycled segment (failing: %v)", seeds, found)
}
