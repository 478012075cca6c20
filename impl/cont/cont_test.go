package cont_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/spec"
	"go.uber.org/goleak"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Steps run in order, one per call of Step, until one returns nil; Run
// stops between steps when its context ends.
func TestSteps(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var trace []int
	n := 0
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		n++
		trace = append(trace, n)
		if n == 3 {
			return nil
		}
		return c.Next()
	})
	if c.Done() || c.Step(context.Background()) || len(trace) != 1 {
		t.Fatal("the first Step did not run exactly one step")
	}
	if !c.Run(context.Background()) || !c.Done() || len(trace) != 3 {
		t.Fatalf("Run did not finish the continuation: trace %v", trace)
	}
	if !c.Step(context.Background()) || len(trace) != 3 {
		t.Fatal("a finished continuation ran another step")
	}

	ctx, cancel := context.WithCancel(context.Background())
	forever := cont.New(func(ctx context.Context, c *cont.C) cont.Step { cancel(); return c.Next() })
	if forever.Run(ctx) {
		t.Fatal("Run reported a never-ending continuation finished")
	}
}

// A panic in a step reaches the caller, and the continuation keeps the
// step that panicked (so that a runtime can report it, and it is not
// silently skipped).
func TestPanicKeepsStep(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	c := cont.New(func(context.Context, *cont.C) cont.Step { panic("boom") })
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not reach the caller")
			}
		}()
		c.Step(context.Background())
	}()
	if c.Done() {
		t.Fatal("after a panic the continuation claims to be finished")
	}
}

// An empty continuation is one word on the heap (the issue allows 32
// bytes): measured from the allocator, so a field added later shows here.
func TestEmptyContinuationSize(t *testing.T) {
	step := func(context.Context, *cont.C) cont.Step { return nil }
	const n = 100000
	keep := make([]*cont.C, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range keep {
		keep[i] = cont.New(step)
	}
	runtime.ReadMemStats(&after)
	per := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("%.1f bytes per empty continuation", per)
	if per > 32 {
		t.Fatalf("an empty continuation takes %.1f bytes, want at most 32", per)
	}
	runtime.KeepAlive(keep)
}

// A Maker hands out distinct continuations, each with its own first step,
// and allocates once per cont.BlockSize of them. It would catch a Maker
// that handed out one slot twice (two continuations sharing a step), that
// forgot to set the step, or that allocated per continuation.
func TestMaker(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var m cont.Maker
	const n = 3*cont.BlockSize + 5
	ran := make([]int, n)
	cs := make([]*cont.C, n)
	seen := make(map[*cont.C]bool)
	for i := range cs {
		cs[i] = m.New(func(context.Context, *cont.C) cont.Step { ran[i]++; return nil })
		if seen[cs[i]] {
			t.Fatalf("continuation %d was handed out before", i)
		}
		seen[cs[i]] = true
	}
	for i, c := range cs {
		if c.Done() || !c.Step(context.Background()) {
			t.Fatalf("continuation %d: not a fresh one-step continuation", i)
		}
	}
	for i, r := range ran {
		if r != 1 {
			t.Fatalf("step %d ran %d times, want 1", i, r)
		}
	}
	if m.New(nil).Done() != true {
		t.Fatal("a nil step must make a finished continuation")
	}
	step := func(context.Context, *cont.C) cont.Step { return nil }
	allocs := testing.AllocsPerRun(10, func() {
		for range cont.BlockSize {
			m.New(step)
		}
	})
	if allocs > 1 {
		t.Fatalf("%v allocations per %d continuations, want at most 1", allocs, cont.BlockSize)
	}
}

// Away hands the continuation over after its step returns, and the runner
// no longer holds it; a give that refuses leaves it in place with the
// error in MoveErr. The bugs this catches: a give that runs while the
// step is still running (the holder could step it twice at once), a next
// step lost in the hand-over, and a refused continuation dropped.
func TestAway(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	ctx := context.Background()
	var held *cont.C
	stepping := false
	second := func(ctx context.Context, c *cont.C) cont.Step {
		if err := cont.MoveErr(ctx); err != nil {
			t.Errorf("MoveErr after a give that took it: %v", err)
		}
		return nil
	}
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		stepping = true
		defer func() { stepping = false }()
		return c.Away(func(c *cont.C) error {
			if stepping {
				t.Error("give ran during the step")
			}
			held = c
			return nil
		}, second)
	})
	if !c.Step(ctx) || held != c {
		t.Fatal("Step did not report the continuation handed over")
	}
	if c.Step(ctx) != true || !c.Done() {
		t.Fatal("the holder could not run the next step to the end")
	}

	refused := errors.New("no room")
	ran := false
	d := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return c.Away(func(*cont.C) error { return refused }, func(ctx context.Context, c *cont.C) cont.Step {
			ran = true
			if err := cont.MoveErr(ctx); !errors.Is(err, refused) || !errors.Is(err, spec.ErrMove) {
				t.Errorf("MoveErr = %v, want a move error wrapping %v", err, refused)
			}
			return nil
		})
	})
	if d.Step(ctx) {
		t.Fatal("a refused continuation was reported gone")
	}
	if !d.Step(ctx) || !ran {
		t.Fatal("the next step did not run where the continuation stayed")
	}
}
