package eventq_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Sleep on real runners: a pool's worker (a home mailbox, no queue) and a
// runtime without an event queue (neither: in place).

// checkPoolSleep runs a sleeper on a real pool's worker and checks that
// it leaves the worker, comes back through the pool's mailbox no sooner
// than d and runs on; if the pool is closed while it sleeps (closeFirst:
// its mailbox closed for writing), that its next step still runs, with the
// failure in cont.MoveErr.
func checkPoolSleep(sleep sleeper, closeFirst bool) error {
	box := mailbox.New[cont.C](mailbox.Unbounded)
	p, err := pool.New(pool.Waiter, box, 1)
	if err != nil {
		return err
	}
	defer p.Close()
	const d = 20 * time.Millisecond
	woke := make(chan error, 1)
	start := time.Now()
	box.Send(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return sleep(ctx, c, d, func(ctx context.Context, c *cont.C) cont.Step {
			woke <- cont.MoveErr(ctx)
			return nil
		})
	}))
	if closeFirst {
		for box.Len() > 0 { // until the worker has the sleeper
			time.Sleep(time.Millisecond)
		}
		if err := p.Close(); err != nil {
			return err
		}
	}
	select {
	case err := <-woke:
		switch {
		case !closeFirst && err != nil:
			return fmt.Errorf("the sleeper came back with %w", err)
		case closeFirst && !errors.Is(err, mailbox.ErrUnwritable):
			return fmt.Errorf("the sleeper of a closed pool came back with %v, want ErrUnwritable", err)
		case time.Since(start) < d:
			return fmt.Errorf("woke after %v, want at least %v", time.Since(start), d)
		}
	case <-time.After(10 * time.Second):
		return errors.New("the sleeper never came back")
	}
	return nil
}

// queueOnlySleep is Sleep as it was before it worked anywhere: in the
// step's event queue, else not at all (ErrNoQueue in cont.MoveErr).
func queueOnlySleep(ctx context.Context, c *cont.C, d time.Duration, next cont.Step) cont.Step {
	return c.Away(eventq.Giving(ctx, func(q *eventq.Queue, c *cont.C) (eventq.ID, error) { return q.After(d, c) }), next)
}

// On a real pool's worker a sleeper leaves the worker, comes back through
// the pool's mailbox when due and runs on; if the pool is closed while it
// sleeps, it is not lost. The bug this catches: a sleep that works only
// in an event queue (queueOnlySleep: ErrNoQueue in a pool).
func TestSleepOnAPoolWorker(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, closeFirst := range []bool{false, true} {
		if err := checkPoolSleep(eventq.Sleep, closeFirst); err != nil {
			t.Fatalf("pool closed first: %v: %v", closeFirst, err)
		}
	}
	if err := checkPoolSleep(queueOnlySleep, false); !errors.Is(err, eventq.ErrNoQueue) {
		t.Fatalf("the check passed a sleep that needs an event queue: %v", err)
	}
}

// checkHaltedSleep runs a sleeper of d on a runtime made with opts
// (SkipPolling: no event queue, and no home), halts it in the middle of
// the sleep, and checks that it stops at once, keeping the sleeper, which,
// run again on another such runtime, wakes d after it first slept and not
// sooner.
func checkHaltedSleep(sleep sleeper, d time.Duration, opts ...rt.Option) error {
	var woke time.Time
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return sleep(ctx, c, d, func(context.Context, *cont.C) cont.Step {
			woke = time.Now()
			return nil
		})
	})
	start := time.Now()
	r, err := rt.Spawn(c, opts...)
	if err != nil {
		return err
	}
	time.Sleep(d / 30)
	r.Halt()
	if err := r.Join(); err != nil {
		return err
	}
	if halted := time.Since(start); halted >= d {
		return fmt.Errorf("the halt took %v: it waited for the sleep (%v)", halted, d)
	}
	if left := r.Leftovers(); len(left) != 1 || left[0] != c || !woke.IsZero() {
		return fmt.Errorf("the halted runtime's leftovers: %v (woke: %v), want the sleeper, still asleep", left, !woke.IsZero())
	}
	if r, err = rt.Spawn(c, opts...); err != nil {
		return err
	}
	if err := r.Join(); err != nil || woke.IsZero() {
		return fmt.Errorf("Join: %v; woke: %v", err, !woke.IsZero())
	}
	if slept := woke.Sub(start); slept < d {
		return fmt.Errorf("woke %v after the first call, want at least %v", slept, d)
	}
	return nil
}

// deafSleep sleeps in place without watching its context.
func deafSleep(ctx context.Context, c *cont.C, d time.Duration, next cont.Step) cont.Step {
	time.Sleep(d)
	return next
}

// A sleep survives its runtime's halt: halted in the middle of the sleep,
// the runtime stops at once and keeps the sleeper (in place, in hand; in
// a polling runtime, among the registrations of its queue), which, run
// again on another runtime, sleeps only for the time left. The bugs this
// catches: a sleep in place deaf to its context (deafSleep: the halt
// waits for the whole sleep), one that gives up the rest of the sleep
// when interrupted (badSleepShortened), and one that wakes at once when
// its runtime's queue hands it back (queueOnlySleep).
func TestSleepSurvivesAHalt(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const d = 600 * time.Millisecond // the halt comes after d/30: a wide margin for the good sleep
	for _, c := range []struct {
		name string
		opts []rt.Option
		bads map[string]sleeper
	}{
		{"in place", []rt.Option{rt.SkipPolling()}, map[string]sleeper{"deaf": deafSleep, "shortened": badSleepShortened}},
		{"in a queue", nil, map[string]sleeper{"queue-only": queueOnlySleep}},
	} {
		if err := checkHaltedSleep(eventq.Sleep, d, c.opts...); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for name, bad := range c.bads {
			if err := checkHaltedSleep(bad, d, c.opts...); err == nil {
				t.Fatalf("%s: the check passed the %s sleep", c.name, name)
			}
		}
	}
}
