package eventq_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Catches: RunReady stepping nothing, handing a repeating registration's
// continuation back without re-arming it, losing a one-shot's unfinished
// continuation, or keeping the registration of a finished one.
func TestRunReady(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	r, w := pipe(t)
	ctx := context.Background()

	// A reader on a repeating registration: one step per firing.
	var reads []string
	var firedEvents eventq.Events
	reader := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		rd, ok := eventq.Fired(ctx)
		if !ok {
			panic("no firing in the step's context")
		}
		firedEvents = rd.Events
		reads = append(reads, readAll(t, r))
		return c.Next()
	})
	id, err := q.Register(r.fd, eventq.Read, reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b", "c"} {
		write(t, w, s)
		if rest := runUntil(t, q, func([]*cont.C) bool { return len(reads) > 0 && reads[len(reads)-1] == s }); len(rest) != 0 {
			t.Fatalf("rest %v", rest)
		}
	}
	if firedEvents != eventq.Read {
		t.Fatalf("Fired events %v", firedEvents)
	}
	// A finished continuation's registration is cancelled.
	if !q.Cancel(id) {
		t.Fatal("the reader's registration ended")
	}
	finishing := cont.New(func(ctx context.Context, c *cont.C) cont.Step { return nil })
	id, err = q.Register(w.fd, eventq.Write, finishing)
	if err != nil {
		t.Fatal(err)
	}
	if rest, err := q.RunReady(ctx, patience); err != nil || len(rest) != 0 {
		t.Fatalf("RunReady: %v %v", rest, err)
	}
	if !finishing.Done() || q.Cancel(id) {
		t.Fatal("a finished continuation's registration was kept")
	}
	// A one-shot whose step leaves it unfinished and unregistered comes
	// back in rest; one whose step registers it again stays with q.
	loose := idle()
	again := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if _, err := q.After(time.Hour, c); err != nil {
			panic(err)
		}
		return c.Next()
	})
	if _, err := q.After(0, loose); err != nil {
		t.Fatal(err)
	}
	if _, err := q.After(0, again); err != nil {
		t.Fatal(err)
	}
	rest := runUntil(t, q, func(rest []*cont.C) bool { return q.Len() == 1 && len(rest) > 0 })
	if len(rest) != 1 || rest[0] != loose {
		t.Fatalf("rest %v, want the loose continuation", rest)
	}
}

// runUntil runs RunReady until cond holds of the continuations it has
// returned in rest (or patience runs out, which fails the test), and
// returns them.
func runUntil(t *testing.T, q *eventq.Queue, cond func(rest []*cont.C) bool) []*cont.C {
	t.Helper()
	deadline := time.Now().Add(patience)
	var rest []*cont.C
	for !cond(rest) {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("RunReady never got there: %d registrations, rest %v", q.Len(), rest)
		}
		more, err := q.RunReady(context.Background(), left)
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, more...)
	}
	return rest
}

// Catches: a RunReady that ignores its context's end while blocked.
func TestRunReadyContext(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(5 * time.Millisecond)
		cancel()
	}()
	done := make(chan error, 1)
	go func() { done <- second(q.RunReady(ctx, -1)) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("RunReady: %v, want context.Canceled", err)
		}
	case <-time.After(patience):
		t.Fatal("RunReady did not return when its context ended")
	}
	if _, err := q.RunReady(ctx, -1); !errors.Is(err, context.Canceled) {
		t.Fatalf("RunReady with an ended context: %v", err)
	}
}

// Catches: a RunReady called with a context that has ended already that
// waits and steps what is ready all the same: its doc says it returns
// ctx's error, and a runner that ends its loop on ctx must not have steps
// run after it ended. Nothing is stepped, nothing handed out: the timer
// due stays registered for the next RunReady.
func TestRunReadyEndedContext(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	stepped := false
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step { stepped = true; return nil })
	if _, err := q.After(0, c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rest, err := q.RunReady(ctx, time.Second)
	if !errors.Is(err, context.Canceled) || len(rest) != 0 || stepped {
		t.Fatalf("RunReady with an ended context: %v, %v, stepped %v; want context.Canceled, nothing stepped", rest, err, stepped)
	}
	if n := q.Len(); n != 1 {
		t.Fatalf("Len %d after RunReady with an ended context, want the timer still registered", n)
	}
	if _, err := q.RunReady(context.Background(), time.Second); err != nil || !stepped {
		t.Fatalf("RunReady: %v, stepped %v; want the timer's continuation stepped", err, stepped)
	}
}
