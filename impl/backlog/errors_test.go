package backlog_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/insideout-go/insideout/impl/backlog"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

var errDiskFull = errors.New("disk full")

// full is an io.Writer that takes limit bytes, then writes what fits of
// the next write and fails it, and every write after.
type full struct {
	limit int
	syncBuffer
}

func (f *full) Write(p []byte) (int, error) {
	room := f.limit - f.b.Len()
	if room >= len(p) {
		return f.syncBuffer.Write(p)
	}
	room = max(room, 0)
	_, _ = f.syncBuffer.Write(p[:room])
	return room, errDiskFull
}

// The bug: a write error swallowed (records counted Written that the file
// never got, or lost without a count), or not surfaced where the package
// doc says: Close, Err, OnError, and every later Handle.
func TestWriteErrorSurfacesAndCounts(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, limit := range []int{0, 10, 300, 5000} {
		f := &full{limit: limit}
		var mu sync.Mutex
		var reported []error
		h := mustNew(t, f, backlog.OnError(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
		accepted, refused := 0, 0
		for i := range 200 {
			switch err := h.Handle(context.Background(), record("rec", "i", i)); {
			case err == nil:
				accepted++
			case errors.Is(err, backlog.ErrWrite) && errors.Is(err, errDiskFull):
				refused++
			default:
				t.Fatalf("limit %d: Handle: %v", limit, err)
			}
		}
		err := h.Close(context.Background())
		if !errors.Is(err, backlog.ErrWrite) || !errors.Is(err, errDiskFull) {
			t.Fatalf("limit %d: Close: %v, want the write error", limit, err)
		}
		if !errors.Is(h.Err(), errDiskFull) {
			t.Errorf("limit %d: Err: %v", limit, h.Err())
		}
		if len(reported) != 1 || !errors.Is(reported[0], errDiskFull) {
			t.Errorf("limit %d: OnError got %v, want the write error once", limit, reported)
		}
		st := h.Stats()
		lines := strings.Count(f.String(), "\n")
		if int(st.Written) != lines {
			t.Errorf("limit %d: %d Written, but the writer holds %d whole records", limit, st.Written, lines)
		}
		if int(st.Written+st.Failed) != accepted || int(st.Refused) != refused || st.Dropped != 0 {
			t.Errorf("limit %d: Stats %+v for %d accepted, %d refused", limit, st, accepted, refused)
		}
		if st.Failed == 0 {
			t.Errorf("limit %d: no record Failed behind a write error", limit)
		}
		t.Logf("limit %d: %+v", limit, st)
	}
}

// failing is a formatting handler that fails on the message "bad" and
// panics on "panic".
type failing struct{ slog.Handler }

func (f failing) Handle(ctx context.Context, r slog.Record) error {
	switch r.Message {
	case "bad":
		return errors.New("cannot format")
	case "panic":
		panic("formatter panicked")
	}
	return f.Handler.Handle(ctx, r)
}

// The bug: a formatting failure that stops the writer (every later record
// lost, blocked callers stuck) or that leaves half a record in the output,
// or is not counted.
func TestFormatFailureIsCountedAndWritingGoesOn(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var out syncBuffer
	var errs []error
	h := mustNew(t, &out,
		backlog.Format(func(w io.Writer) slog.Handler { return failing{slog.NewTextHandler(w, nil)} }),
		backlog.OnError(func(err error) { errs = append(errs, err); panic("the callback's own panic is dropped") }))
	for _, m := range []string{"a", "bad", "b", "panic", "c"} {
		if err := h.Handle(context.Background(), record(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st != (backlog.Stats{Written: 3, Failed: 2}) {
		t.Fatalf("Stats %+v, want 3 written, 2 failed", st)
	}
	if got := out.String(); strings.Count(got, "\n") != 3 || strings.Contains(got, "bad") {
		t.Fatalf("output %q", got)
	}
	if len(errs) != 2 || !strings.Contains(errs[1].Error(), "panicked") {
		t.Fatalf("OnError got %v", errs)
	}
}

// badWriter returns a count it cannot have written, or panics.
type badWriter struct{ panics bool }

func (b badWriter) Write(p []byte) (int, error) {
	if b.panics {
		panic("writer panicked")
	}
	return len(p) + 1, nil
}

// The bug: an io.Writer that breaks its contract (a count beyond the
// buffer, a panic) crashing the writer's runtime, so that Close returns a
// runtime's error and the records' fate is unknown.
func TestBrokenWriterIsAWriteError(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, w := range []badWriter{{}, {panics: true}} {
		h := mustNew(t, w)
		if err := h.Handle(context.Background(), record("x")); err != nil {
			t.Fatal(err)
		}
		err := h.Close(context.Background())
		if !errors.Is(err, backlog.ErrWrite) {
			t.Fatalf("%+v: Close: %v, want a write error", w, err)
		}
		if st := h.Stats(); st != (backlog.Stats{Failed: 1}) {
			t.Fatalf("%+v: Stats %+v", w, st)
		}
	}
}

// failGate is a gate whose writes, once it opens, fail.
type failGate struct{ *gate }

func (f failGate) Write(p []byte) (int, error) {
	f.entered <- struct{}{}
	<-f.open
	return 0, errDiskFull
}

// The bug: a Handle asleep on a full mailbox when the writer fails, left
// asleep for good (nothing will ever make room), or returning an error
// other than the write error. Whether its record went in before the
// failure (then counted Failed) or was refused cannot be told from
// outside: either way it is counted once, and never Written.
func TestWriteFailureEndsABlockedHandle(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	g := failGate{newGate()}
	h := mustNew(t, g, backlog.Capacity(1))
	n := fill(t, h, g.gate, 1)
	got := make(chan error)
	go func() { got <- h.Handle(context.Background(), record("blocked")) }()
	close(g.open)
	if err := <-got; err != nil && (!errors.Is(err, backlog.ErrWrite) || !errors.Is(err, errDiskFull)) {
		t.Fatalf("blocked Handle at the write failure: %v, want the write error", err)
	}
	err := h.Close(context.Background())
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("Close: %v", err)
	}
	// The blocked record was either accepted before the failure (and is
	// Failed) or refused with the write error.
	if st := h.Stats(); st.Written != 0 || int(st.Failed+st.Refused) != n+1 {
		t.Fatalf("Stats %+v for %d records and a blocked one", st, n)
	}
}
