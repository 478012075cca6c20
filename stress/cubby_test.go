package stress

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/cubby/cubbytest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// Sizes of the cubby storm at INSIDEOUT_SOAK=1 (every count is multiplied
// by INSIDEOUT_SOAK): a fraction of a second under -race on two cores.
const (
	cubWrites = 100000
	// cubStall: no call finished for this long is two parties waiting on
	// each other, or on a wake-up that was lost. The self-check, whose
	// known-bads stall for good, waits cubBadStall.
	cubStall    = 5 * time.Second
	cubBadStall = 200 * time.Millisecond
)

// cubTally is what a cubby storm counted.
type cubTally struct {
	writes, reads, news, misses atomic.Int64
	torn, stale, backwards      atomic.Int64
	last                        atomic.Uint64 // the reader's last version
}

// cubStorm runs a cubby's two parties at once: a writer that writes the
// pairs (i, i) for i from 1 to writes, by Store and Update, and a reader
// that loads, tries and views until it has seen version writes. Every
// write is counted (its value is its version), and every read checked: the
// pair whole, its value its version, the version never going back; at the
// end the reader must have seen the last write. It returns the problems it
// found, one line each. A storm in which no call finished for stall is
// reported, and the cubby's waiters let go (Unblock, if c has it) so that
// the storm ends and its goroutines exit.
func cubStorm(c spec.Cubby[cubbytest.Pair], writes int, seed uint64, stall time.Duration) []string {
	var tally cubTally
	var progress atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(seed, 0))
		for i := uint64(1); i <= uint64(writes); i++ {
			p := cubbytest.Pair{A: i, B: i}
			if rng.IntN(4) == 0 {
				_ = c.Update(func(q *cubbytest.Pair) { q.A = i; chaos.Point(); q.B = i })
			} else {
				c.Store(p)
			}
			tally.writes.Add(1)
			progress.Add(1)
			if i%16 == 0 {
				// Let the reader in now and then even where the two
				// parties share a processor: the storm is about their
				// calls overlapping.
				runtime.Gosched()
			}
		}
	})
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(seed, 1))
		check := func(p cubbytest.Pair, n uint64) {
			tally.reads.Add(1)
			switch {
			case p.A != p.B:
				tally.torn.Add(1)
			case p.A != n:
				tally.stale.Add(1)
			}
			if n < tally.last.Load() {
				tally.backwards.Add(1)
			}
			tally.last.Store(n)
		}
		for tally.last.Load() < uint64(writes) {
			switch rng.IntN(3) {
			case 0:
				check(c.Load())
			case 1:
				if p, n, ok := c.TryLoad(tally.last.Load()); ok {
					tally.news.Add(1)
					check(p, n)
				} else {
					tally.misses.Add(1)
				}
			case 2:
				var p cubbytest.Pair
				// A reader that takes its time: it yields between the
				// halves, where a writer let in beside it tears them.
				n, _ := c.View(func(q *cubbytest.Pair) { p.A = q.A; runtime.Gosched(); p.B = q.B })
				check(p, n)
			}
			progress.Add(1)
		}
	})
	var problems []string
	if stalled := watch(&wg, &progress, stall); stalled != "" {
		problems = append(problems, fmt.Sprintf("no call finished for %v: %d of %d writes, reader at version %d (%s)",
			stall, tally.writes.Load(), writes, tally.last.Load(), stalled))
		if u, ok := c.(interface{ Unblock() }); ok {
			u.Unblock()
		}
		wg.Wait()
	}
	// The bug: a read inside the writer's critical section (a pair half
	// old and half new), or outside any (a value from another version).
	if n := tally.torn.Load(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d torn reads of %d", n, tally.reads.Load()))
	}
	if n := tally.stale.Load(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d reads whose value is not their version's", n))
	}
	if n := tally.backwards.Load(); n > 0 {
		problems = append(problems, fmt.Sprintf("%d reads went back a version", n))
	}
	// The bug: a write lost (not counted, or not seen at the end).
	if w, last := tally.writes.Load(), tally.last.Load(); w != int64(writes) || last != uint64(writes) {
		problems = append(problems, fmt.Sprintf("%d writes of %d, the reader's last version %d", w, writes, last))
	}
	return problems
}

// watch waits for wg, and returns "" when it is done, or a line if
// progress stood still for stall first.
func watch(wg *sync.WaitGroup, progress *atomic.Int64, stall time.Duration) string {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for last := int64(-1); ; {
		select {
		case <-done:
			return ""
		case <-time.After(stall):
			if p := progress.Load(); p == last {
				return "a party waits for good"
			} else {
				last = p
			}
		}
	}
}

// A writer and a reader at once on impl/cubby, every write counted and
// every read checked, on every processor and then on one.
//
// The bug: a torn read, a value not its version's, a version going back,
// a write lost; a stall (both parties waiting, a lost wake-up), reported
// after cubStall; and, under -race, any access to the value outside the
// critical sections that the atomics order.
func TestCubbyStorm(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	k := soak(t)
	for _, procs := range []int{runtime.GOMAXPROCS(0), 1} {
		start := time.Now()
		problems := onProcs(procs, func() []string { return cubStorm(cubbytest.NewCubby(), cubWrites*k, seed, cubStall) })
		if len(problems) > 0 {
			t.Fatalf("impl/cubby, GOMAXPROCS %d:\n%s", procs, strings.Join(problems, "\n"))
		}
		t.Logf("GOMAXPROCS %d: %d writes beside a reader in %v (chaos %v)", procs, cubWrites*k, time.Since(start), chaos.Enabled)
	}
}

// onProcs runs f with GOMAXPROCS procs. On one processor the two parties
// take turns only where one yields (a wait, a yield of the storm's), which
// is where a known-bad cubby's window is: the storm then meets it every
// time rather than now and then.
func onProcs(procs int, f func() []string) []string {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	return f()
}

// The storm's checks must be able to fail: each known-bad cubby below
// fails it, on one processor, with the problem its Bug's comment names
// (on two they meet the bugs' windows only now and then): without the
// turn,
// or with a lost wake-up, the parties stall; without the flags, the
// reader waits for a writer that has finished; with the turn set first,
// the writer writes while the reader is inside View, which reads the
// value of one write and the version of the next.
func TestCubbyStormCatchesKnownBads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	for _, c := range []struct {
		bug  cubbytest.Bug
		want string
	}{
		{cubbytest.NoTurn, "no call finished"},
		{cubbytest.NoWant, "no call finished"},
		{cubbytest.WakeLost, "no call finished"},
		{cubbytest.TurnFirst, "reads whose value is not their version's"},
	} {
		t.Run(c.bug.String(), func(t *testing.T) {
			problems := onProcs(1, func() []string { return cubStorm(cubbytest.Peterson(c.bug), cubWrites, seed, cubBadStall) })
			got := strings.Join(problems, "\n")
			if !strings.Contains(got, c.want) {
				t.Fatalf("the storm on a %v cubby found %q; want %q", c.bug, got, c.want)
			}
			t.Logf("caught: %s", got)
		})
	}
}
