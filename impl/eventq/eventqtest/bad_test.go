package eventqtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Every known-bad queue registers a timer, hands out its firing and
// closes: a bug must show in a check, not in a queue that cannot even be
// set up and torn down. The bug: a constructor that panics, or a queue
// whose bug strikes where no rule is broken.
func TestBadQueuesWork(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	t.Cleanup(eventqtest.CloseLeaked)
	for bug := eventqtest.Correct; ; bug++ {
		name := bug.String()
		if strings.HasPrefix(name, "Bug(") {
			break
		}
		t.Run(name, func(t *testing.T) {
			q := eventqtest.BadQueue(bug)
			c := cont.New(func(context.Context, *cont.C) cont.Step { return nil })
			id, err := q.After(time.Microsecond, c)
			if err != nil {
				t.Fatalf("After: %v", err)
			}
			ready, err := q.Wait(nil, 5*time.Second)
			if err != nil || len(ready) == 0 || ready[0].ID != id || ready[0].C != c {
				t.Errorf("Wait = %v, %v; want the firing of id %d", ready, err, id)
			}
			if _, err := q.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

// A bug out of range is refused. The bug: BadQueue returning a correct
// queue for a bug it does not know, so that a self-check passes
// vacuously.
func TestBadQueueUnknownBug(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("BadQueue(200) did not panic")
		}
	}()
	eventqtest.BadQueue(200)
}
