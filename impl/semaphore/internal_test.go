package semaphore

import (
	"context"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// sleepers counts the waiters on s's list.
func (s *Semaphore) sleepers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for w := s.waiters.head; w != nil; w = w.next {
		n++
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// The bugs: waiters served out of order (a LIFO list, a Release that picks
// any sleeper); a Release that wakes two (one permit, two holders) or none;
// a waiter that gives up and stays listed, or leaves the queued bit set
// behind it. Five waiters join one at a time; each Release wakes exactly
// the oldest, and the one that gave up is skipped.
func TestFIFOAndExactlyOneWake(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	s, _ := New(1)
	if !s.TryAcquire() {
		t.Fatal("TryAcquire on a new semaphore failed")
	}
	got := make(chan int, 5)
	ctx, giveUp := context.WithCancel(context.Background())
	for i := range 5 {
		c := context.Background()
		if i == 2 {
			c = ctx
		}
		go func() {
			if s.Acquire(c) == nil {
				got <- i
			}
		}()
		waitFor(t, "a waiter to sleep", func() bool { return s.sleepers() == i+1 })
	}
	giveUp()
	waitFor(t, "the waiter that gave up to leave", func() bool { return s.sleepers() == 4 })
	for _, want := range []int{0, 1, 3, 4} {
		s.Release()
		if i := <-got; i != want {
			t.Fatalf("woken: waiter %d, want %d (FIFO)", i, want)
		}
		if len(got) != 0 || s.Available() != 0 {
			t.Fatalf("one Release woke more than one waiter, or freed its permit beside them")
		}
	}
	if s.sleepers() != 0 || s.state.Load() != 0 {
		t.Fatalf("after the last waiter: %d listed, state %#x; want none, 0", s.sleepers(), s.state.Load())
	}
	s.Release()
	if s.Available() != 1 {
		t.Fatalf("%d free at the end, want 1", s.Available())
	}
}
