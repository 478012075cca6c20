package semaphore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/semaphore"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

func mustNew(t *testing.T, n int) *semaphore.Semaphore {
	t.Helper()
	s, err := semaphore.New(n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The bug: New accepting a capacity that makes no semaphore (0 permits:
// every Acquire waits for ever; a negative count; one past the bit that
// marks sleepers), or refusing one that does; and an error that does not
// say what was wrong.
func TestNewCapacity(t *testing.T) {
	for _, n := range []int{0, -1, semaphore.MaxCapacity + 1} {
		s, err := semaphore.New(n)
		if s != nil || !errors.Is(err, semaphore.ErrCapacity) || !strings.Contains(err.Error(), "at least 1") {
			t.Errorf("New(%d) = %v, %v; want nil and an error wrapping ErrCapacity that gives the bounds", n, s, err)
		}
	}
	for _, n := range []int{1, 3, semaphore.MaxCapacity} {
		s, err := semaphore.New(n)
		if err != nil || s.Available() != n {
			t.Errorf("New(%d) = %v, %v; want %d free", n, s, err, n)
		}
	}
	// A nil Option changes nothing (the bug: New calling it, a panic).
	s, err := semaphore.New(1, nil)
	if err != nil || s.Available() != 1 || !s.TryAcquire() {
		t.Errorf("New(1, nil) = %v, %v; want a semaphore of one free permit", s, err)
	}
}

// The bug: a miscount in the sequential rules: a TryAcquire that takes a
// permit that is not there, or refuses one that is; a Release that does
// not give one back.
func TestSequential(t *testing.T) {
	s := mustNew(t, 2)
	if !s.TryAcquire() || !s.TryAcquire() || s.TryAcquire() {
		t.Fatal("TryAcquire: want true, true, false with 2 permits")
	}
	s.Release()
	if s.Available() != 1 || s.Acquire(context.Background()) != nil || s.Available() != 0 {
		t.Fatal("Release then Acquire: want 1 free, then 0")
	}
	s.Release()
	s.Release()
	if s.Available() != 2 {
		t.Fatalf("Available = %d after releasing both, want 2", s.Available())
	}
}

// The bug: a Release beyond the capacity that is silently taken (the
// semaphore then admits more holders than its capacity), or that panics
// without saying why.
func TestReleaseBeyondCapacityPanics(t *testing.T) {
	s := mustNew(t, 1)
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "more Releases than Acquires") {
			t.Fatalf("Release with every permit free: panic %q, want one that says so", msg)
		}
		if s.Available() != 1 {
			t.Fatalf("the refused Release changed the count to %d", s.Available())
		}
	}()
	s.Release()
}

// The bug: a nil context taken for one that never ends, hiding the
// mistake until a cancellation does not come; a nil function run (a nil
// dereference while holding a permit, which then leaks).
func TestBadInput(t *testing.T) {
	s := mustNew(t, 1)
	func() {
		defer func() {
			if msg, _ := recover().(string); !strings.Contains(msg, "nil context") {
				t.Errorf("Acquire(nil): panic %q, want one naming the nil context", msg)
			}
		}()
		_ = s.Acquire(nil)
	}()
	if err := s.Do(context.Background(), nil); !errors.Is(err, semaphore.ErrNilFunc) {
		t.Errorf("Do(nil) = %v, want ErrNilFunc", err)
	}
	if s.Available() != 1 {
		t.Fatalf("bad input took a permit: %d free", s.Available())
	}
}

// The bug: an Acquire cut short that took a permit anyway, or a call
// with a context already done that refuses a free permit; Do running f
// without a permit, or not giving it back when f panics.
func TestContextAndDo(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	s := mustNew(t, 1)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Acquire(done); err != nil {
		t.Fatalf("Acquire with a done context and a free permit = %v, want nil", err)
	}
	if err := s.Acquire(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a done context and no permit = %v, want context.Canceled", err)
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if err := s.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire timed out = %v, want DeadlineExceeded", err)
	}
	ran := false
	if err := s.Do(done, func() { ran = true }); !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("Do with no permit and a done context = %v (ran %v), want Canceled without running", err, ran)
	}
	s.Release()
	if s.Available() != 1 {
		t.Fatalf("cut-short calls took permits: %d free, want 1", s.Available())
	}
	err := s.Do(context.Background(), func() {
		if s.Available() != 0 {
			t.Errorf("inside Do: %d free, want 0", s.Available())
		}
	})
	if err != nil || s.Available() != 1 {
		t.Fatalf("Do = %v, %d free after, want nil, 1", err, s.Available())
	}
	func() {
		defer func() { _ = recover() }()
		_ = s.Do(context.Background(), func() { panic("f panics") })
	}()
	if s.Available() != 1 {
		t.Fatalf("a panicking f kept its permit: %d free", s.Available())
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The bug: a waiter that busy-waits instead of parking. Two Acquires
// blocked for 300ms cost the process essentially no CPU; spinning ones
// would burn about 600ms. The same with the Barging option.
func TestBlockedAcquireCostsNoCPU(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, opts := range [][]semaphore.Option{nil, {semaphore.Barging()}} {
		blockedAcquireCostsNoCPU(t, opts)
	}
}

func blockedAcquireCostsNoCPU(t *testing.T, opts []semaphore.Option) {
	s, err := semaphore.New(1, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if !s.TryAcquire() {
		t.Fatal("TryAcquire on a new semaphore failed")
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := s.Acquire(context.Background()); err == nil {
				s.Release()
			}
		})
	}
	time.Sleep(30 * time.Millisecond) // let them go to sleep
	before := cpuTime(t)
	time.Sleep(300 * time.Millisecond)
	used := cpuTime(t) - before
	s.Release()
	wg.Wait()
	t.Logf("CPU used in 300ms with two blocked Acquires: %v", used)
	if used > 30*time.Millisecond {
		t.Fatalf("blocked Acquires used %v of CPU in 300ms; a parked one uses none", used)
	}
}
