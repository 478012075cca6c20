package eventq_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/internal/homekey"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// A sleeper is Sleep's signature: the checks below take one, so that each
// runs on eventq.Sleep and on the known-bad sleepers that it must catch.
type sleeper func(ctx context.Context, c *cont.C, d time.Duration, next cont.Step) cont.Step

// homeCtx is the context a pool's worker gives a step: the mailbox the
// continuation came from, under homekey.Key, and no event queue.
func homeCtx(box *cont.Box) context.Context {
	return context.WithValue(context.Background(), homekey.Key{}, box)
}

// checkHome sleeps n continuations for d with a home mailbox and no queue,
// and checks that each step hands its continuation away at once, that no
// goroutine is held per sleeper meanwhile, and that every one comes back
// to the mailbox, no sooner than d, to run its next step there.
func checkHome(sleep sleeper, n int, d time.Duration) error {
	box := mailbox.New[cont.C](mailbox.Unbounded)
	woke := make(chan time.Duration, n)
	before := runtime.NumGoroutine()
	start := time.Now()
	for range n {
		c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
			return sleep(ctx, c, d, func(ctx context.Context, c *cont.C) cont.Step {
				woke <- time.Since(start)
				return nil
			})
		})
		if !c.Step(homeCtx(box)) {
			return errors.New("the step kept the continuation: it did not sleep away from its runner")
		}
	}
	if held := runtime.NumGoroutine() - before; held >= n/2 {
		return fmt.Errorf("%d goroutines held by %d sleepers", held, n)
	}
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := box.RecvContext(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("a sleeper never came back to its mailbox: %w", err)
		}
		if c.Step(homeCtx(box)); !c.Done() {
			return errors.New("the next step did not run on the continuation's return")
		}
		if got := <-woke; got < d {
			return fmt.Errorf("woke after %v, want at least %v", got, d)
		}
	}
	return nil
}

// In a continuation with a home mailbox and no queue (a pool's worker),
// Sleep hands the continuation to a timer and it comes back to the mailbox
// when due. The bugs this catches: a sleep that holds a goroutine per
// sleeper (badSleepHolding), and one that comes back early.
func TestSleepHome(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	// 50ms: long enough that no sleeper is due before the goroutines are
	// counted, however slowly the 64 steps run.
	if err := checkHome(eventq.Sleep, 64, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := checkHome(badSleepHolding, 64, 50*time.Millisecond); err == nil {
		t.Fatal("the check passed a sleep that holds a goroutine per sleeper")
	}
}

// checkHomeClosed sleeps a continuation with a home mailbox that is
// closed for writing while it sleeps, and checks that it is not lost: its
// next step runs with the failure in cont.MoveErr, and it runs on to its
// end. limit bounds each wait.
func checkHomeClosed(sleep sleeper, limit time.Duration) error {
	box := mailbox.New[cont.C](mailbox.Unbounded)
	got := make(chan error, 1)
	finished := make(chan struct{})
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return sleep(ctx, c, 5*time.Millisecond, func(ctx context.Context, c *cont.C) cont.Step {
			got <- cont.MoveErr(ctx)
			return func(context.Context, *cont.C) cont.Step { close(finished); return nil }
		})
	})
	if !c.Step(homeCtx(box)) {
		return errors.New("the step kept the continuation")
	}
	box.CloseWrite()
	select {
	case err := <-got:
		if !errors.Is(err, mailbox.ErrUnwritable) {
			return fmt.Errorf("the next step's MoveErr: %v, want one wrapping ErrUnwritable", err)
		}
	case <-time.After(limit):
		return errors.New("the continuation was lost: its home closed while it slept and it never ran again")
	}
	select {
	case <-finished:
		return nil
	case <-time.After(limit):
		return errors.New("the continuation did not run on after its failed return")
	}
}

// A sleeper whose home mailbox closes meanwhile is not lost. The bug this
// catches: a timer that sends it home and drops it when the send fails
// (badSleepDropping).
func TestSleepHomeClosed(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if err := checkHomeClosed(eventq.Sleep, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := checkHomeClosed(badSleepDropping, 200*time.Millisecond); err == nil {
		t.Fatal("the check passed a sleep that drops the continuation when its home is closed")
	}
}

// checkInPlace sleeps a continuation with neither queue nor home: its step
// must wait d, then its next step runs; interrupted (its context ended),
// the step returns at once, and the step it returns sleeps for the time
// left only: it returns at once (with a context that has ended too) as
// long as time is left, and runs on to next once d after the first call
// has passed.
func checkInPlace(sleep sleeper, d time.Duration) error {
	ran := false
	next := func(context.Context, *cont.C) cont.Step { ran = true; return nil }
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step { return sleep(ctx, c, d, next) })
	start := time.Now()
	if c.Step(context.Background()) || ran {
		return errors.New("the step in place did not return next to run")
	}
	if slept := time.Since(start); slept < d {
		return fmt.Errorf("slept in place %v, want at least %v", slept, d)
	}
	if !c.Step(context.Background()) || !ran {
		return errors.New("next did not run after the sleep in place")
	}

	// Interrupted: ended is a context that has ended.
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	ran = false
	long := 10 * d // the three steps below take far less
	c = cont.New(func(ctx context.Context, c *cont.C) cont.Step { return sleep(ctx, c, long, next) })
	for range 3 { // interrupted again and again before its time: still asleep
		if c.Step(ended) || ran {
			return errors.New("an interrupted sleep ran next before its time")
		}
	}
	// The sleep began before this line, so its time is up after it; then
	// the step returns next, however ended ctx is.
	time.Sleep(long + time.Millisecond)
	c.Step(ended)
	if c.Step(ended); !ran || !c.Done() {
		return errors.New("an interrupted sleep whose time has passed does not go on: it sleeps the whole of d again")
	}
	return nil
}

// With neither queue nor home, Sleep sleeps in place, and an interrupted
// sleep resumes for the time left. The bugs this catches: a sleep that
// restarts the whole of d when resumed (badSleepRestarting), and one that
// runs next early when interrupted (badSleepShortened).
func TestSleepInPlace(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const d = 20 * time.Millisecond
	if err := checkInPlace(eventq.Sleep, d); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]sleeper{"restarting": badSleepRestarting, "shortened": badSleepShortened} {
		if err := checkInPlace(bad, d); err == nil {
			t.Fatalf("the check passed the %s sleep", name)
		}
	}
}

// Where a step's context holds both a queue and a home mailbox, the queue
// has it: the continuation is in a timer of the queue. The bug this
// catches: a sleep that leaves a polling runtime for a timer of Go's when
// it need not.
func TestSleepPrefersTheQueue(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return eventq.Sleep(ctx, c, time.Hour, nil)
	})
	if !c.Step(eventq.NewContext(homeCtx(box), q)) || q.Len() != 1 {
		t.Fatalf("the continuation is not in the queue's timer: %d registrations", q.Len())
	}
	left, err := q.Close()
	if err != nil || len(left) != 1 || left[0] != c {
		t.Fatalf("Close: %v, %v; want the sleeper back", left, err)
	}
}

// checkQueueLeftover sleeps a continuation in a queue's timer, closes the
// queue before its time, and checks that the sleeper Close hands back
// sleeps on for the time left when run again: interrupted (its context
// ended) before its time it stays asleep, and after its time it runs next.
func checkQueueLeftover(t *testing.T, sleep sleeper) error {
	q := newQueue(t)
	const d = 200 * time.Millisecond
	ran := false
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return sleep(ctx, c, d, func(context.Context, *cont.C) cont.Step { ran = true; return nil })
	})
	if !c.Step(eventq.NewContext(context.Background(), q)) {
		return errors.New("the sleeper stayed with its runner")
	}
	left, err := q.Close()
	if err != nil || len(left) != 1 || left[0] != c {
		return fmt.Errorf("Close: %v, %v; want the sleeper back", left, err)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for range 2 {
		if c.Step(ended); ran {
			return errors.New("a sleeper handed back by Close ran next before its time")
		}
	}
	time.Sleep(d)
	for range 2 {
		c.Step(ended)
	}
	if !ran || !c.Done() {
		return errors.New("a sleeper handed back by Close did not run next after its time")
	}
	return nil
}

// A sleeper that its queue hands back before its time (Close, a runtime's
// leftovers) sleeps on for the time left. The bug this catches: one that
// wakes at once when handed back (queueOnlySleep, the sleep before it
// survived interruption).
func TestSleepInQueueSurvivesClose(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if err := checkQueueLeftover(t, eventq.Sleep); err != nil {
		t.Fatal(err)
	}
	if err := checkQueueLeftover(t, queueOnlySleep); err == nil {
		t.Fatal("the check passed a sleeper that wakes when its queue closes")
	}
}
