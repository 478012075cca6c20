package eventq_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// runAwaits runs q's ready continuations, as a runner does, until done is
// true, failing the test after patience: a continuation that awaited and
// was never resumed shows as a failure, not a hang.
func runAwaits(t *testing.T, q *eventq.Queue, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatal("not finished after", patience)
		}
		rest, err := q.RunReady(t.Context(), 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		// Those that go on without waiting are the runner's to step on,
		// until they wait again or finish.
		for _, c := range rest {
			for !c.Step(eventq.NewContext(t.Context(), q)) {
			}
		}
	}
}

// A continuation that reads a pipe awaits readiness between reads, and
// each Await gives its runner back until the pipe is readable. The bugs
// this catches: an Await that registers nothing (the reader is never
// resumed), one that resumes at once (a busy loop, seen as reads that find
// nothing), and data lost between two awaits.
func TestAwaitReadsAsDataComes(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	r, w := pipe(t)
	var got []byte
	empty := 0
	finished := false
	var read cont.Step
	read = func(ctx context.Context, c *cont.C) cont.Step {
		buf := make([]byte, 16)
		n, err := unix.Read(r.fd, buf)
		switch {
		case err == unix.EAGAIN:
			empty++
			return eventq.Await(ctx, c, r.fd, eventq.Read, read)
		case err != nil:
			t.Error(err)
			return nil
		case n == 0:
			finished = true
			return nil
		}
		got = append(got, buf[:n]...)
		return read
	}
	c := cont.New(read)
	if !c.Step(eventq.NewContext(t.Context(), q)) || q.Len() != 1 {
		t.Fatal("the first step, on an empty pipe, did not hand the continuation to the queue")
	}
	// The first step found the pipe empty and awaited it: c is now q's.
	for _, s := range []string{"a", "bc", "def"} {
		write(t, w, s)
		time.Sleep(time.Millisecond)
		runAwaits(t, q, func() bool { return len(got) >= 1 && got[len(got)-1] == s[len(s)-1] })
	}
	w.close()
	runAwaits(t, q, func() bool { return finished })
	if string(got) != "abcdef" {
		t.Fatalf("read %q, want %q", got, "abcdef")
	}
	if empty > 4 {
		t.Fatalf("%d reads found nothing: Await resumed before the pipe was readable", empty)
	}
	if q.Len() != 0 {
		t.Fatalf("%d registrations left", q.Len())
	}
}

// Sleep resumes the continuation no sooner than asked, and through the
// queue. The bug this catches: a Sleep that does not wait.
func TestSleepStep(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	const d = 5 * time.Millisecond
	var woke []time.Time
	var nap cont.Step
	nap = func(ctx context.Context, c *cont.C) cont.Step {
		woke = append(woke, time.Now())
		if len(woke) == 3 {
			return nil
		}
		return eventq.Sleep(ctx, c, d, nap)
	}
	c := cont.New(nap)
	if !c.Step(eventq.NewContext(t.Context(), q)) || q.Len() != 1 {
		t.Fatal("Sleep did not hand the continuation to a timer")
	}
	runAwaits(t, q, func() bool { return len(woke) == 3 })
	for i := 1; i < len(woke); i++ {
		if gap := woke[i].Sub(woke[i-1]); gap < d {
			t.Fatalf("woke %v after the last, want at least %v", gap, d)
		}
	}
}

// With no queue to wait in, the continuation stays and its next step runs
// at once with the reason. The bug this catches: a continuation dropped
// because nothing could hold it.
func TestAwaitWithoutQueue(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, _ := pipe(t)
	var err error
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return eventq.Await(ctx, c, r.fd, eventq.Read, func(ctx context.Context, c *cont.C) cont.Step {
			err = cont.MoveErr(ctx)
			return nil
		})
	})
	if c.Step(context.Background()) {
		t.Fatal("the continuation was reported gone with no queue to hold it")
	}
	if !c.Step(context.Background()) || !errors.Is(err, eventq.ErrNoQueue) {
		t.Fatalf("next step's MoveErr = %v, want ErrNoQueue", err)
	}
	if _, err := eventq.FromContext(context.Background()); !errors.Is(err, eventq.ErrNoQueue) {
		t.Fatalf("FromContext of a bare context: %v, want ErrNoQueue", err)
	}
}

// A nil context is not a context: FromContext panics with a message
// naming the problem, where it used to report ErrNoQueue, as if nil were
// the context of a step that no queue runs.
func TestFromNilContextPanics(t *testing.T) {
	defer func() {
		if s, _ := recover().(string); !strings.Contains(s, "FromContext") || !strings.Contains(s, "nil context") {
			t.Errorf("FromContext(nil): panic %q, want one naming the call and the nil context", s)
		}
	}()
	eventq.FromContext(nil)
}
