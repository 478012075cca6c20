package seq_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/seq"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// A sequential continuation sleeps and awaits a pipe in straight-line
// code, and its runner is free while it does: each Sleep and Await hands
// it to the queue, and only the queue gives it back. The bugs this
// catches: a Sleep that does not wait, an Await that resumes before the
// pipe is readable (the read finds nothing), and a wait that loses the
// continuation.
func TestSleepAndAwait(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q, err := eventq.New()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])

	const d = 5 * time.Millisecond
	var slept time.Duration
	var got string
	finished := false
	c := seq.New(func(k *seq.K) {
		start := time.Now()
		if err := k.Sleep(d); err != nil {
			t.Error(err)
		}
		slept = time.Since(start)
		if err := k.Await(p[0], eventq.Read); err != nil {
			t.Error(err)
		}
		buf := make([]byte, 8)
		n, err := unix.Read(p[0], buf)
		if err != nil {
			t.Errorf("read after Await: %v", err)
		}
		got = string(buf[:max(n, 0)])
		finished = true
	})
	ctx := eventq.NewContext(t.Context(), q)
	if !c.Step(ctx) || q.Len() != 1 {
		t.Fatal("Sleep did not hand the continuation to the queue")
	}
	deadline := time.Now().Add(5 * time.Second)
	wrote := false
	for !finished {
		if time.Now().After(deadline) {
			t.Fatal("not finished after 5s")
		}
		rest, err := q.RunReady(t.Context(), 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rest {
			for !c.Step(ctx) {
			}
		}
		if !wrote && slept > 0 {
			if q.Len() != 1 {
				t.Fatal("Await did not hand the continuation to the queue")
			}
			unix.Write(p[1], []byte("hi"))
			wrote = true
		}
	}
	if slept < d || got != "hi" {
		t.Fatalf("slept %v (want at least %v), read %q (want %q)", slept, d, got, "hi")
	}
}

// Outside anything with an event queue, Sleep fails at once and the body
// goes on where it is. The bug this catches: a continuation dropped
// because nothing could hold it.
func TestSleepWithoutQueue(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var err error
	c := seq.New(func(k *seq.K) { err = k.Sleep(time.Millisecond) })
	for !c.Step(context.Background()) {
	}
	if !errors.Is(err, eventq.ErrNoQueue) || !isMove(err) {
		t.Fatalf("Sleep without a queue: %v, want a move error wrapping ErrNoQueue", err)
	}
}

func isMove(err error) bool {
	var me *cont.MoveError
	return errors.As(err, &me)
}
