package cubby_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/insideout-go/insideout/impl/cubby"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// wide is a value of eight words: a copy of it takes several stores, so
// that a read overlapping a write can see it torn.
type wide [8]uint64

func wideOf(i uint64) wide {
	var w wide
	for k := range w {
		w[k] = i
	}
	return w
}

// whole reports whether every word of w is the same, and which.
func whole(w wide) (uint64, bool) {
	for _, x := range w {
		if x != w[0] {
			return 0, false
		}
	}
	return w[0], true
}

// The bug: a torn or stale read, or a write not counted. A writer stores
// 1..writes (the value i is version i) while a reader loads, tries and
// views; every value the reader sees must be whole, match its version,
// and never go back; at the end it sees the last. Under -race this is
// also the check that v is touched only in critical sections that the
// atomics order (invariant 2). The same check on pairs, in the stress
// suite (stress/cubby_test.go), is shown to catch cubbytest.TurnFirst.
func TestConcurrentReadsAreWhole(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const writes = 20000
	c := cubby.New[wide]()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := uint64(1); i <= writes; i++ {
			if i%3 == 0 {
				_ = c.Update(func(p *wide) { *p = wideOf(i) })
			} else {
				c.Store(wideOf(i))
			}
		}
	})
	var problem string
	seen := uint64(0)
	check := func(w wide, n uint64) {
		v, ok := whole(w)
		switch {
		case !ok:
			problem = fmt.Sprintf("a torn read at version %d: %v", n, w)
		case v != n:
			problem = fmt.Sprintf("value %d at version %d", v, n)
		case n < seen:
			problem = fmt.Sprintf("version %d after %d", n, seen)
		}
		seen = n
	}
	for k := 0; problem == "" && seen < writes; k++ {
		switch k % 3 {
		case 0:
			check(c.Load())
		case 1:
			if w, n, ok := c.TryLoad(seen); ok {
				check(w, n)
			}
		case 2:
			var w wide
			n, _ := c.View(func(p *wide) { w = *p })
			check(w, n)
		}
	}
	wg.Wait()
	if problem != "" {
		t.Fatal(problem)
	}
}
