package rt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seq"
	"github.com/insideout-go/insideout/spec"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// joinWithin joins r and returns its error, failing the test with the
// message why gives if r has not ended within 5 s: a runtime that never
// ends shows as a failure, not as the package's timeout.
func joinWithin(t *testing.T, r *rt.Runtime, why func() string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.Join() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal(why())
		return nil
	}
}

// openFDs counts the process's open fds.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// pipe returns a non-blocking pipe, closed at the end of the test.
func pipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

// reader returns a continuation that reads fd until end of file, awaiting
// it whenever it is empty, and adds what it read to got.
func reader(fd int, got *atomic.Int64) *cont.C {
	var read cont.Step
	read = func(ctx context.Context, c *cont.C) cont.Step {
		buf := make([]byte, 64)
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EAGAIN:
			return eventq.Await(ctx, c, fd, eventq.Read, read)
		case err != nil || n == 0:
			return nil
		}
		got.Add(int64(n))
		return read
	}
	return cont.New(read)
}

// A continuation that awaits a pipe gives its runtime back: the runtime
// sleeps in its event queue, runs the continuation when data comes, and
// finishes with it; its queue's fds are closed when it tears down. The
// bugs this catches: a runtime that ends while its continuation waits in
// its queue, one that never resumes it, and a queue left open.
func TestAwaitOnARuntime(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	before := openFDs(t)
	r, w := pipe(t)
	var got atomic.Int64
	run, err := rt.Spawn(reader(r, &got))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"ab", "cde", "f"} {
		time.Sleep(2 * time.Millisecond)
		unix.Write(w, []byte(s))
	}
	eventually(t, "reading six bytes", func() bool { return got.Load() == 6 })
	select {
	case <-run.Done():
		t.Fatal("the runtime ended while its continuation waited for more")
	default:
	}
	unix.Close(w)
	if err := joinWithin(t, run, func() string { return "the runtime did not finish after end of file" }); err != nil {
		t.Fatal(err)
	}
	if left := run.Leftovers(); len(left) != 0 {
		t.Fatalf("%d continuations left over", len(left))
	}
	unix.Close(r) // the pipe's ends are both closed now (the cleanup's second close is harmless)
	if after := openFDs(t); after != before {
		t.Fatalf("fds: %d before, %d after the runtime tore down", before, after)
	}
}

// A runtime asleep in its event queue uses no CPU, control operations
// wake it, and what waits in its queue when it halts is among its
// leftovers. The bugs this catches: a busy-polling idle loop, a Halt or
// Freeze that cannot reach a runtime asleep in epoll_wait, and a
// continuation lost with the queue.
func TestIdleInEventQueue(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, _ := pipe(t)
	var got atomic.Int64
	c := reader(r, &got)
	run, err := rt.Spawn(c)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	before := cpuTime(t)
	time.Sleep(500 * time.Millisecond)
	if used := cpuTime(t) - before; used > 20*time.Millisecond {
		t.Fatalf("a runtime idle in its event queue used %v of CPU in half a second", used)
	}
	if !run.Freeze() {
		t.Fatal("Freeze refused")
	}
	eventually(t, "the runtime asleep frozen", func() bool { return run.Flags()&spec.RtRunning == 0 })
	if _, err := run.Eject(); !errors.Is(err, spec.ErrNoContinuation) {
		t.Fatalf("Eject of an idle runtime: %v, want ErrNoContinuation", err)
	}
	run.Thaw()
	run.Interrupt()
	if _, err := run.Eject(); !errors.Is(err, spec.ErrNoContinuation) {
		t.Fatalf("Eject of an idle, running runtime: %v, want ErrNoContinuation", err)
	}
	run.Halt()
	if err := joinWithin(t, run, func() string { return "Halt did not reach a runtime asleep in its event queue" }); err != nil {
		t.Fatal(err)
	}
	if left := run.Leftovers(); len(left) != 1 || left[0] != c {
		t.Fatalf("leftovers %v, want the continuation waiting in the queue", left)
	}
}

// Many continuations share one runtime through its queue: the first
// starts them and finishes, and the runtime runs them in turn until the
// last has finished. The bugs this catches: a runtime that ends with its
// first continuation, and continuations that never get a turn.
func TestContinuationsShareARuntime(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const n, naps = 50, 3
	var finished atomic.Int64
	sleeper := func() *cont.C {
		k := 0
		var nap cont.Step
		nap = func(ctx context.Context, c *cont.C) cont.Step {
			if k++; k > naps {
				finished.Add(1)
				return nil
			}
			return eventq.Sleep(ctx, c, time.Millisecond, nap)
		}
		return cont.New(nap)
	}
	start := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		q, err := eventq.FromContext(ctx)
		if err != nil {
			t.Error(err)
			return nil
		}
		for range n {
			if _, err := q.After(0, sleeper()); err != nil {
				t.Error(err)
			}
		}
		return nil
	})
	run, err := rt.Spawn(start)
	if err != nil {
		t.Fatal(err)
	}
	if err := joinWithin(t, run, func() string {
		return fmt.Sprintf("the runtime did not finish: %d of %d continuations finished", finished.Load(), n)
	}); err != nil {
		t.Fatal(err)
	}
	if finished.Load() != n {
		t.Fatalf("%d of %d finished", finished.Load(), n)
	}
}

// A repeating registration lends its continuation for one step at a
// time: level-triggered, it fires again while data remains, and the
// runtime hands it back after each step until it finishes, which ends the
// registration. The bugs this catches: a lent continuation never handed
// back (it reads one byte and stops), and a finished one left registered
// (the runtime never ends).
func TestRepeatingRegistrationOnARuntime(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, w := pipe(t)
	var bytes atomic.Int64
	one := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		var b [1]byte
		if n, _ := unix.Read(r, b[:]); n == 1 && bytes.Add(1) == 5 {
			return nil
		}
		return c.Next()
	})
	start := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		q, err := eventq.FromContext(ctx)
		if err == nil {
			_, err = q.Register(r, eventq.Read|eventq.Level, one)
		}
		if err != nil {
			t.Error(err)
		}
		return nil
	})
	run, err := rt.Spawn(start)
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(w, []byte("12345"))
	if err := joinWithin(t, run, func() string { return fmt.Sprintf("the runtime did not finish: read %d of 5 bytes", bytes.Load()) }); err != nil {
		t.Fatal(err)
	}
}

// A sequential continuation sleeps on its runtime in straight-line code.
// The bug this catches: k.Sleep unable to find the runtime's queue.
func TestSequentialSleepOnARuntime(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var naps int
	start := time.Now()
	run, err := rt.Spawn(seq.New(func(k *seq.K) {
		for range 3 {
			if err := k.Sleep(2 * time.Millisecond); err != nil {
				t.Error(err)
				return
			}
			naps++
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Join(); err != nil || naps != 3 || time.Since(start) < 6*time.Millisecond {
		t.Fatalf("Join: %v; %d naps in %v", err, naps, time.Since(start))
	}
}

// Without Polling there is no queue: Await leaves the continuation where
// it is, with ErrNoQueue. The bug this catches: a continuation dropped
// by a runtime that cannot hold it.
func TestNoQueueWithoutPolling(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, _ := pipe(t)
	var err error
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return eventq.Await(ctx, c, r, eventq.Read, func(ctx context.Context, c *cont.C) cont.Step {
			err = cont.MoveErr(ctx)
			return nil
		})
	})
	run, spawnErr := rt.Spawn(c, rt.SkipPolling())
	if spawnErr != nil {
		t.Fatal(spawnErr)
	}
	if jerr := run.Join(); jerr != nil || !errors.Is(err, eventq.ErrNoQueue) {
		t.Fatalf("Join: %v; the next step's MoveErr: %v, want ErrNoQueue", jerr, err)
	}
}

// A runtime's signals come through its event queue: SIGCONT thaws it even
// while it is frozen (asleep in its queue), SIGTERM halts it, and its own
// signal registration neither keeps it alive nor shows among its
// leftovers. The bugs this catches: a frozen runtime deaf to SIGCONT (it
// sleeps without polling its queue), a signal registration counted as
// work (the runtime never ends), and one handed back as a leftover.
func TestSignalsThroughTheQueue(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var n atomic.Int64
	r, err := rt.Spawn(counter(&n), rt.StartFrozen(), rt.Signals(syscall.SIGCONT, syscall.SIGTERM))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if n.Load() != 0 {
		t.Fatal("a runtime started frozen ran")
	}
	if err := unix.Kill(unix.Getpid(), unix.SIGCONT); err != nil {
		t.Fatal(err)
	}
	eventually(t, "SIGCONT thawing the frozen runtime", func() bool { return n.Load() > 0 })
	if err := unix.Kill(unix.Getpid(), unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := joinWithin(t, r, func() string { return "SIGTERM did not halt the runtime" }); err != nil {
		t.Fatal(err)
	}
	if left := r.Leftovers(); len(left) != 1 {
		t.Fatalf("%d leftovers, want 1 (the counter, halted)", len(left))
	}

	// A runtime whose continuation finishes ends, signals or not.
	f, err := rt.Spawn(finite(3), rt.Signals())
	if err != nil {
		t.Fatal(err)
	}
	err = joinWithin(t, f, func() string { return "a runtime whose continuation finished lived on for its signals" })
	if err != nil || len(f.Leftovers()) != 0 {
		t.Fatalf("Join %v, %d leftovers", err, len(f.Leftovers()))
	}

	if _, err := rt.Spawn(finite(1), rt.Signals(), rt.SkipPolling()); !errors.Is(err, eventq.ErrNoQueue) {
		t.Fatalf("Signals without Polling: %v, want ErrNoQueue", err)
	}
}
