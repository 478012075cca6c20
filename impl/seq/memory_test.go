package seq_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/seq"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// What a long-running program does over and over (make pools, move
// sequential continuations between them, call remote parts, close the
// pools) must leave nothing behind: these tests run many rounds of it and
// bound the live heap (runtime.MemStats after a collection) that the
// rounds leave, and the goroutines.
//
// Each body holds a ballast of ballastSize bytes, so that a round whose
// bodies are kept costs far more than the noise of a collection's
// accounting: memoryRounds of them kept exceed heldLimit many times over.
const (
	memoryRounds = 100
	ballastSize  = 32 << 10
	heldLimit    = 1 << 20 // live heap all the rounds may leave
)

// liveHeap returns the heap in use after two collections (the first
// queues the cleanups of what it found unreachable, the second frees what
// they let go of).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// heldByRounds runs round memoryRounds times, after a few to warm up,
// and returns the live heap and the goroutines the rounds left behind.
// It waits (up to patience) for the goroutines to go back to where they
// were, collecting meanwhile, since a dropped body's coroutine ends only
// once a collection has found its continuation unreachable and a cleanup
// has run.
func heldByRounds(t *testing.T, round func(t *testing.T), patience time.Duration) (heap int64, goroutines int) {
	t.Helper()
	for range 5 {
		round(t)
	}
	g0, h0 := settle(runtime.NumGoroutine(), 0), liveHeap()
	for range memoryRounds {
		round(t)
		if t.Failed() {
			t.FailNow()
		}
	}
	g1 := settle(g0, patience)
	return int64(liveHeap()) - int64(h0), g1 - g0
}

// settle collects until at most want goroutines are left, or patience has
// passed, and returns how many are left.
func settle(want int, patience time.Duration) int {
	deadline := time.Now().Add(patience)
	for {
		runtime.GC()
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newPool starts a waiter pool of one worker over a fresh unbounded
// mailbox.
func newPool(t *testing.T) (*pool.Pool, *cont.Box) {
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(pool.Waiter, box, 1)
	if err != nil {
		t.Fatal(err)
	}
	return p, box
}

// waitFor waits for done, failing the test after 10 s.
func waitFor(t *testing.T, done <-chan struct{}, what string) {
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen within 10s", what)
	}
}

// finishedRound: two pools; a continuation that moves to the other pool,
// calls a remote part on the first (ComeFrom) and one on a runtime of its
// own (NovelThread), and one that names itself; both finish, and the
// pools are closed.
func finishedRound(t *testing.T) {
	home, homeBox := newPool(t)
	away, awayBox := newPool(t)
	ballast := make([]byte, ballastSize)
	done := make(chan struct{}, 2)
	mover := seq.New(func(k *seq.K) {
		defer func() { done <- struct{}{} }()
		if err := k.Goto(awayBox); err != nil {
			t.Errorf("goto: %v", err)
			return
		}
		if _, err := seq.ComeFrom(k, homeBox, func(*seq.K) int { return len(ballast) }); err != nil {
			t.Errorf("comefrom: %v", err)
		}
		if _, err := seq.NovelThread(k, func(*seq.K) int { return len(ballast) }); err != nil {
			t.Errorf("novel: %v", err)
		}
	})
	var self *cont.C
	self = seq.New(func(k *seq.K) {
		defer func() { done <- struct{}{} }()
		if self == nil || len(ballast) == 0 {
			t.Error("no self")
		}
		k.Coop()
	})
	for _, c := range []*cont.C{mover, self} {
		if err := homeBox.Send(c); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, done, "the first continuation's end")
	waitFor(t, done, "the second continuation's end")
	for _, p := range []*pool.Pool{home, away} {
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// parked holds, weakly, the continuations that parkedRound dropped, so that
// a known-bad run can finish those it kept for good (rescue), and leave no
// goroutine to goleak.
var parked struct {
	dropped []weak.Pointer[cont.C]
	rescue  atomic.Bool // the bodies return at once when resumed
}

// parkedRound: a continuation that calls a remote part (ComeFrom) whose
// body moves to a mailbox no pool reads, and parks there for ever, and one
// that moves there itself. The pools are halted, what they and the
// mailbox hand back is dropped: both callers' bodies and the remote
// part's must then be stopped and collected.
func parkedRound(t *testing.T) {
	home, homeBox := newPool(t)
	server, serverBox := newPool(t)
	nowhere := mailbox.New[cont.C](mailbox.Unbounded)
	ballast := make([]byte, ballastSize)
	caller := seq.New(func(k *seq.K) {
		seq.ComeFrom(k, serverBox, func(k *seq.K) int {
			k.Goto(nowhere)
			if !parked.rescue.Load() {
				t.Error("a remote part ran in a mailbox no pool reads")
			}
			return len(ballast)
		})
	})
	mover := seq.New(func(k *seq.K) {
		k.Goto(nowhere)
		if !parked.rescue.Load() {
			t.Error("a body ran in a mailbox no pool reads", len(ballast))
		}
	})
	// The mover first: the caller holds home's one worker while it waits.
	for _, c := range []*cont.C{mover, caller} {
		if err := homeBox.Send(c); err != nil {
			t.Fatal(err)
		}
	}
	caller, mover = nil, nil
	deadline := time.Now().Add(10 * time.Second)
	for nowhere.Len() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 continuations reached the mailbox no pool reads", nowhere.Len())
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, p := range []*pool.Pool{home, server} {
		p.Mailbox().CloseWrite()
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		p.Leftovers() // the caller, halted while it waited: dropped
	}
	dropped := nowhere.Drain()
	if len(dropped) != 2 {
		t.Fatalf("drained %d continuations from the mailbox no pool reads, want 2", len(dropped))
	}
	for _, c := range dropped {
		parked.dropped = append(parked.dropped, weak.Make(c))
	}
}

// rescue runs to their end the continuations that parkedRound dropped and
// that are still reachable (kept by a known-bad variant), so that their
// coroutines end.
func rescue(t *testing.T) {
	parked.rescue.Store(true)
	defer parked.rescue.Store(false)
	for _, w := range parked.dropped {
		if c := w.Value(); c != nil && !c.Run(t.Context()) {
			t.Error("a dropped continuation, resumed, did not finish")
		}
	}
	parked.dropped = nil
}

// The rounds leave neither heap nor goroutines behind. Each case names the
// bug it catches, and is shown to catch it with that bug switched back on.
func TestRoundsLeaveNothing(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	cases := []struct {
		name  string
		round func(*testing.T)
		bad   *knownbadSwitch
	}{
		// The bug: a finished body that keeps the cleanup that would stop
		// it, while its continuation is reachable from what the body
		// holds (a body that names itself): every round stays. Before
		// the fix, calls kept their children too, and so every remote
		// part of ComeFrom and NovelThread stayed as well.
		{"finished", finishedRound, &knownbadSwitch{"SeqKeepsFinished", &knownbad.SeqKeepsFinished}},
		// The bug: a call that keeps its child after sending it, so that a
		// remote part parked for ever reaches itself from its own stack,
		// and is never stopped.
		{"parked", parkedRound, &knownbadSwitch{"CallKeepsChild", &knownbad.CallKeepsChild}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			heap, goroutines := heldByRounds(t, c.round, 10*time.Second)
			if err := leftBehind(heap, goroutines); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d rounds left %d bytes of live heap and %d goroutines", memoryRounds, heap, goroutines)
		})
		t.Run(c.name+"/known-bad/"+c.bad.name, func(t *testing.T) {
			c.bad.on.Store(true)
			defer c.bad.on.Store(false)
			// What the rounds left stays: a second is patience enough.
			heap, goroutines := heldByRounds(t, c.round, time.Second)
			if leftBehind(heap, goroutines) == nil {
				t.Fatalf("with %s, the rounds left %d bytes and %d goroutines, and the check passed", c.bad.name, heap, goroutines)
			}
			t.Logf("caught: %v", leftBehind(heap, goroutines))
			rescue(t)
		})
		parked.dropped = nil
	}
}

type knownbadSwitch struct {
	name string
	on   interface{ Store(bool) }
}

// leftBehind says what the rounds left, if it is more than nothing.
func leftBehind(heap int64, goroutines int) error {
	if heap > heldLimit || goroutines > 0 {
		return fmt.Errorf("%d rounds left %d bytes of live heap (at most %d allowed) and %d goroutines", memoryRounds, heap, heldLimit, goroutines)
	}
	return nil
}
