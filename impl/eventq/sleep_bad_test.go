package eventq_test

import (
	"context"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/internal/homekey"
)

// Known-bad sleepers, each with the bug a check of sleep_test.go must
// catch. Each sleeps one way only: the way its check takes.

// badSleepHolding sleeps away from its runner on a goroutine of its own,
// held for the whole sleep.
func badSleepHolding(ctx context.Context, c *cont.C, d time.Duration, next cont.Step) cont.Step {
	home := ctx.Value(homekey.Key{}).(*cont.Box)
	return c.Away(func(c *cont.C) error {
		go func() {
			time.Sleep(d)
			home.Send(c)
		}()
		return nil
	}, next)
}

// badSleepDropping sends its continuation home when due and forgets it if
// the send fails.
func badSleepDropping(ctx context.Context, c *cont.C, d time.Duration, next cont.Step) cont.Step {
	home := ctx.Value(homekey.Key{}).(*cont.Box)
	return c.Away(func(c *cont.C) error {
		time.AfterFunc(d, func() { home.Send(c) })
		return nil
	}, next)
}

// waitOrEnd waits d, or until ctx ends, and reports whether d passed.
func waitOrEnd(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// badSleepRestarting sleeps in place and, interrupted, sleeps the whole of
// d again when resumed.
func badSleepRestarting(ctx context.Context, c *cont.C, d time.Duration, next cont.Step) cont.Step {
	if d > 0 && !waitOrEnd(ctx, d) {
		return func(ctx context.Context, c *cont.C) cont.Step { return badSleepRestarting(ctx, c, d, next) }
	}
	return next
}

// badSleepShortened sleeps in place and, interrupted, gives up the rest of
// the sleep.
func badSleepShortened(ctx context.Context, c *cont.C, d time.Duration, next cont.Step) cont.Step {
	waitOrEnd(ctx, d)
	return next
}
