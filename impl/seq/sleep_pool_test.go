package seq_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/internal/testpool"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/seq"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// A sequential body sleeping on a pool's worker, which has no event queue,
// sleeps on a timer and comes back to the pool's mailbox, leaving the only
// worker free meanwhile: a second job sent after the sleeper runs to its
// end while the sleeper sleeps. The bugs it catches: K.Sleep needing an
// event queue (ErrNoQueue on every pool worker, as before), and a sleep
// that holds its worker (the second job would wait for the sleeper).
func TestSleepOnAPoolWorker(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const d = 50 * time.Millisecond
	_, box := testpool.New(t, 1)
	var (
		slept          error
		woke, otherRan time.Time
		sleptOnPool    bool
	)
	start := time.Now()
	sleeper, other := make(chan struct{}), make(chan struct{})
	if err := box.Send(seq.New(func(k *seq.K) {
		slept = k.Sleep(d)
		woke = time.Now()
		_, err := eventq.FromContext(k.Context())
		sleptOnPool = errors.Is(err, eventq.ErrNoQueue) // back on the pool's worker, which has no queue
		close(sleeper)
	})); err != nil {
		t.Fatal(err)
	}
	if err := box.Send(cont.New(func(context.Context, *cont.C) cont.Step {
		otherRan = time.Now()
		close(other)
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	testpool.Wait(t, sleeper)
	testpool.Wait(t, other)
	switch {
	case slept != nil:
		t.Fatalf("Sleep on a pool worker: %v, want nil", slept)
	case woke.Sub(start) < d:
		t.Fatalf("woke after %v, want at least %v", woke.Sub(start), d)
	case !otherRan.Before(woke):
		t.Fatal("the second job ran only after the sleeper woke: the sleep held the worker")
	case !sleptOnPool:
		t.Fatal("the sleeper did not come back to the pool's worker")
	}
}

// With the pool's mailbox closed while the body sleeps, Sleep returns the
// move's error, and the body goes on (on the timer's goroutine): nothing
// is lost. The bug it catches: a sleeper dropped when its home refuses it.
func TestSleepHomeClosed(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	p, box := testpool.New(t, 1) // closed again at cleanup: a second Close is a no-op
	asleep, done := make(chan struct{}), make(chan error, 1)
	if err := box.Send(seq.New(func(k *seq.K) {
		close(asleep)
		done <- k.Sleep(30 * time.Millisecond)
	})); err != nil {
		t.Fatal(err)
	}
	testpool.Wait(t, asleep)
	time.Sleep(5 * time.Millisecond) // the body is now in its Sleep (a margin, not a proof: either way nothing may be lost)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	var err2 error
	testdeadline.Within(t, 10*time.Second, "the sleeper's return", func() { err2 = <-done })
	if err2 != nil && !errors.Is(err2, mailbox.ErrUnwritable) {
		t.Fatalf("Sleep with its home closed: %v, want nil or a move error wrapping ErrUnwritable", err2)
	}
}
