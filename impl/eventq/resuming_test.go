package eventq_test

import (
	"context"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Resuming's timer steps the continuation it was given once d has passed,
// on the timer's goroutine, until it is gone (here: it finishes). The
// bugs this catches: a timer that never steps it (dropped: nothing else
// holds it, it is lost), and one that steps it before d. impl/seq's
// TestSleepOnAPoolWorker checks it under K.Sleep; this is the package's
// own check, so that the event queue's kill steps see it.
func TestResuming(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const d = 5 * time.Millisecond
	ran := make(chan time.Duration, 1)
	start := time.Now()
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return c.Away(eventq.Resuming(d), func(ctx context.Context, c *cont.C) cont.Step {
			ran <- time.Since(start)
			return nil
		})
	})
	if !c.Step(context.Background()) {
		t.Fatal("the step kept the continuation: it was not given to the timer")
	}
	select {
	case took := <-ran:
		if took < d {
			t.Fatalf("stepped after %v, want at least %v", took, d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the continuation given to Resuming was never stepped again: lost")
	}
}
