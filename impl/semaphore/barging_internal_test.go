package semaphore

import (
	"context"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// newBarging returns a barging semaphore of capacity n with every permit
// held by the test.
func newBarging(t *testing.T, n int) *Semaphore {
	t.Helper()
	s, err := New(n, Barging())
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if !s.TryAcquire() {
			t.Fatal("a new semaphore did not give its permits")
		}
	}
	return s
}

// sleep starts an Acquire on s with ctx, waits until it is one of want
// sleepers, and returns the channel its result comes on.
func sleep(t *testing.T, s *Semaphore, ctx context.Context, want int) <-chan error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- s.Acquire(ctx) }()
	waitFor(t, "an Acquire to sleep", func() bool { return s.sleepers() == want })
	return res
}

// result waits for an Acquire's result, failing the test if it has not
// come within 10 s: a waiter asleep for good.
func result(t *testing.T, s *Semaphore, res <-chan error, who string) error {
	t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(10 * time.Second):
		st := s.state.Load()
		s.mu.Lock() // hand the oldest sleeper a permit, so that it ends
		w := s.waiters.head
		if w != nil {
			s.waiters.remove(w)
			w.granted = true
		}
		s.mu.Unlock()
		w.wake()
		t.Fatalf("%s still asleep after 10 s: state %#x (%d free, queued %v, woken %v)",
			who, st, st&free, st&queued != 0, st&woken != 0)
		return nil
	}
}

// releaseWith runs s.Release, which must find sleepers, with during
// run inside its critical section (testHookReleasing), once it has
// chosen the waiter and before it lets go of the lock and wakes it; and
// reports whether it handed that waiter its permit (granted) rather than
// waking it to look (woken), as the lock showed them: once the lock is
// let go, the waiter's fields are its own.
func releaseWith(t *testing.T, s *Semaphore, during func()) (granted bool) {
	t.Helper()
	chosen := false
	testHookReleasing = func(w *waiter) {
		testHookReleasing = nil // once: a Release inside during takes no lock anyway
		chosen, granted = true, w.granted
		if w.granted == w.woken {
			t.Errorf("the waiter chosen is granted %v and woken %v: want one of them", w.granted, w.woken)
		}
		during()
	}
	defer func() { testHookReleasing = nil }()
	s.Release()
	if !chosen {
		t.Fatal("the Release found no sleeper to wake")
	}
	return granted
}

// The bug: a woken waiter whose context ends before it looks returns
// without clearing woken (or without passing it on, or passes it on and
// wakes nobody): every later Release then believes a waiter is on its
// way, frees its permit without the lock, and the sleeper behind sleeps
// beside it for good. The moment is built inside a Release's critical
// section, once it has marked the first waiter woken: the waiter's
// context ends, and it blocks on the lock to give up; then either a
// barging TryAcquire takes the permit meant for it (barger), or nothing
// happens (it takes that permit as its context ends), or, with two
// permits, a second Release frees another (it takes one and must wake
// the second waiter for the other). The second waiter must get a permit.
func TestBargingWokenWaiterThatGivesUp(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct {
		barger bool
		n      int
	}{{true, 1}, {false, 1}, {false, 2}} {
		barger := c.barger
		s := newBarging(t, c.n)
		ctx, cancel := context.WithCancel(context.Background())
		first := sleep(t, s, ctx, 1)
		second := sleep(t, s, context.Background(), 2)
		granted := releaseWith(t, s, func() { // the Release of a permit the test held
			cancel()
			waitBlockedOnLock(t, "(*Semaphore).giveUp")
			if barger && !s.TryAcquire() {
				t.Error("a barging TryAcquire found no permit beside a woken waiter")
			}
			if c.n == 2 {
				s.Release() // woken is set: frees its permit without the lock
			}
		})
		if granted {
			t.Fatal("a Release with two sleepers handed its permit over; want the first woken")
		}
		err := result(t, s, first, "the first waiter")
		switch {
		case barger && err != context.Canceled:
			t.Fatalf("the woken waiter, overtaken, as its context ended: %v, want context.Canceled", err)
		case !barger && err != nil:
			t.Fatalf("the woken waiter, with a permit free as its context ended: %v, want nil (it takes it)", err)
		}
		if c.n == 1 {
			s.Release() // the barger's, or the first waiter's
		}
		if err := result(t, s, second, "the second waiter"); err != nil {
			t.Fatalf("the second waiter: %v", err)
		}
		for range c.n {
			s.Release()
		}
		if st := s.state.Load(); st != int64(c.n) {
			t.Fatalf("state %#x at the end, want %d (every permit free, no bit)", st, c.n)
		}
	}
}

// The bug: a waiter overtaken without end (no bound, or a count that is
// never kept): barging, a waiter that was woken and found its permit
// taken twice (as Barging's doc says) must be handed the next one by the
// Release itself (granted), not woken to race for it again. The test
// overtakes one waiter that often, a TryAcquire inside each Release's
// critical section, then looks at what the next Release does.
func TestBargingBoundsOvertaking(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	s := newBarging(t, 1)
	res := sleep(t, s, context.Background(), 1)
	const twice = 2
	for i := range twice {
		granted := releaseWith(t, s, func() {
			if !s.TryAcquire() {
				t.Error("a barging TryAcquire found no permit beside a woken waiter (or one handed over)")
			}
		})
		if granted {
			t.Fatalf("Release %d of a waiter overtaken %d times handed its permit over; want it woken", i, i)
		}
		waitFor(t, "the overtaken waiter to sleep again", func() bool {
			return s.sleepers() == 1 && s.state.Load()&woken == 0
		})
	}
	if !releaseWith(t, s, func() {}) {
		t.Fatalf("Release after %d overtakings woke the waiter to race again; want the permit handed over", twice)
	}
	if err := result(t, s, res, "the overtaken waiter"); err != nil {
		t.Fatal(err)
	}
	if s.TryAcquire() {
		t.Fatal("a permit was free after the handoff")
	}
	s.Release()
}

// The bug: with two permits freed while one woken waiter has not yet
// looked, the second Release frees its permit without waking anyone (as
// it should: woken is set), and the woken waiter, taking one, does not
// pass woken on to the sleeper behind it, which sleeps beside the other.
// The second Release runs inside the first one's critical section, before
// the woken waiter can look.
func TestBargingPassesTheWakeOn(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	s := newBarging(t, 2)
	first := sleep(t, s, context.Background(), 1)
	second := sleep(t, s, context.Background(), 2)
	granted := releaseWith(t, s, func() {
		s.Release() // woken is set: frees its permit without the lock
	})
	if granted {
		t.Fatal("a Release with two sleepers handed its permit over; want the first woken")
	}
	for i, res := range []<-chan error{first, second} {
		if err := result(t, s, res, "a waiter"); err != nil {
			t.Fatalf("waiter %d: %v", i, err)
		}
	}
	s.Release()
	s.Release()
	if st := s.state.Load(); st != 2 {
		t.Fatalf("state %#x at the end, want 2", st)
	}
}
