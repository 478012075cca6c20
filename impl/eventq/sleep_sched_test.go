//go:build sched

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
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// Under the controlled scheduler a sleep with a home mailbox and no queue
// is a goroutine of the run asleep on virtual time: the sleeper comes back
// to its mailbox (or, the mailbox closed meanwhile, runs on with
// ErrUnwritable) under every schedule, with no real time passing and no
// blocking outside the seam. The bugs this catches: a timer outside the
// run (the run would see its continuation's send as blocking outside the
// seam, or end with the sleeper lost), and a sleeper lost when its
// mailbox closes in the middle of the sleep.
func TestScheduleSleepHome(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for round := range 200 {
		if err := scheduledHomeRound(eventq.Sleep, round); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 2 {
		if err := scheduledHomeRound(badSleepDropping, round); err == nil {
			t.Fatalf("round %d: the check passed a sleep on a timer outside the run", round)
		}
	}
}

// scheduledHomeRound runs one round under PCT of depth 3, seed 1: a
// sleeper of an hour with a home mailbox, which the round's main takes
// back and steps (even rounds) or closes for writing meanwhile (odd).
func scheduledHomeRound(sleep sleeper, round int) error {
	st, err := schedule.Parse("pct:3")
	if err != nil {
		return err
	}
	closeFirst := round%2 == 1
	var got error
	ran := false
	res, err := seam.Run(st.Explore(1, round).Next(nil), func() {
		box := mailbox.New[cont.C](mailbox.Unbounded)
		woke := make(chan struct{})
		c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
			return sleep(ctx, c, time.Hour, func(ctx context.Context, c *cont.C) cont.Step {
				got, ran = cont.MoveErr(ctx), true
				seam.Close(woke)
				return nil
			})
		})
		if !c.Step(homeCtx(box)) {
			panic("the sleeper stayed with its runner")
		}
		if closeFirst {
			box.CloseWrite()
		} else if back, err := box.Recv(); err == nil {
			back.Step(homeCtx(box))
		}
		seam.Await(woke)
	}, seam.Options{Stall: time.Second})
	switch {
	case err != nil:
		return fmt.Errorf("round %d: %w", round, err)
	case res.Outcome != seam.Finished:
		return fmt.Errorf("round %d: %v: %s", round, res.Outcome, res.Failure)
	case !ran || closeFirst != errors.Is(got, mailbox.ErrUnwritable):
		return fmt.Errorf("round %d (mailbox closed first: %v): next ran %v with %v", round, closeFirst, ran, got)
	}
	return nil
}

// Under the controlled scheduler a sleep in place on a runtime without a
// queue (SkipPolling) waits on virtual time and its runtime's step
// context, both through the seam: under every schedule the run finishes,
// with no blocking outside the seam, and a Halt in the middle of the sleep
// stops the runtime, keeping the sleeper (in other rounds the virtual hour
// passes first, when the run is idle, and the sleeper finishes). The bug
// this catches: a sleep in place that waits outside the seam (the plain
// build's timer and select, shown failing: blocking outside the seam).
func TestScheduleSleepInPlaceHalted(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	st, err := schedule.Parse("pct:3")
	if err != nil {
		t.Fatal(err)
	}
	asleep := 0
	for round := range 100 {
		var left []*cont.C
		var c *cont.C
		res, err := seam.Run(st.Explore(1, round).Next(nil), func() {
			c = cont.New(func(ctx context.Context, c *cont.C) cont.Step {
				return eventq.Sleep(ctx, c, time.Hour, func(context.Context, *cont.C) cont.Step { return nil })
			})
			r, err := rt.Spawn(c, rt.SkipPolling())
			if err != nil {
				panic(err)
			}
			seam.AwaitIdleFor(round % 7)
			r.Halt()
			if err := r.Join(); err != nil {
				panic(err)
			}
			left = r.Leftovers()
		}, seam.Options{Stall: time.Second})
		if err != nil || res.Outcome != seam.Finished {
			t.Fatalf("round %d: %v %v: %s", round, err, res.Outcome, res.Failure)
		}
		switch {
		case len(left) == 1 && left[0] == c && !c.Done():
			asleep++
		case len(left) != 0 || !c.Done():
			t.Fatalf("round %d: leftovers %v (finished: %v), want the sleeper still asleep, or finished", round, left, c.Done())
		}
	}
	if asleep == 0 {
		t.Fatal("no round halted the runtime in the middle of the sleep")
	}
	t.Logf("%d of 100 rounds halted the sleep in its middle; in the others its virtual hour passed first", asleep)
}
