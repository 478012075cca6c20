package backlog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/backlog"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// at is the time of every record the tests make, so that outputs compare.
var at = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func record(msg string, args ...any) slog.Record {
	r := slog.NewRecord(at, slog.LevelInfo, msg, 0)
	r.Add(args...)
	return r
}

// syncBuffer is an io.Writer the writer writes to and a test reads after
// Close (which orders the two), or while it runs, under its lock.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gate is an io.Writer whose writes wait until it is opened: a writer held
// up, so that the mailbox fills.
type gate struct {
	open    chan struct{}
	entered chan struct{} // receives once per write that has started
	syncBuffer
}

func newGate() *gate { return &gate{open: make(chan struct{}), entered: make(chan struct{}, 1000)} }

func (g *gate) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.open
	return g.syncBuffer.Write(p)
}

func mustNew(t *testing.T, w io.Writer, opts ...backlog.Option) *backlog.Handler {
	t.Helper()
	h, err := backlog.New(w, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The bug: records lost, doubled or reordered between the callers and the
// io.Writer (a batch dropped at a flush, a producer's records overtaking
// each other). Four producers, a mailbox of 4 so that they wait, and every
// record accounted for, in each producer's order.
func TestEveryRecordOnceInEachProducersOrder(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const producers, each = 4, 500
	var out syncBuffer
	h := mustNew(t, &out, backlog.Capacity(4))
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				if err := h.Handle(context.Background(), record("m", "p", p, "i", i)); err != nil {
					t.Errorf("Handle: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	next := make([]int, producers)
	for line := range strings.Lines(out.String()) {
		var p, i int
		if _, err := fmt.Sscanf(line[strings.Index(line, " p=")+1:], "p=%d i=%d", &p, &i); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if i != next[p] {
			t.Fatalf("producer %d: record %d where %d was due", p, i, next[p])
		}
		next[p]++
	}
	for p, n := range next {
		if n != each {
			t.Errorf("producer %d: %d records written, want %d", p, n, each)
		}
	}
	if st := h.Stats(); st != (backlog.Stats{Written: producers * each}) {
		t.Errorf("Stats %+v, want %d written and nothing else", st, producers*each)
	}
}

// The bug: a backlog whose output differs from what a synchronous
// TextHandler writes for the same records (attributes of WithAttrs lost,
// groups misapplied, a record's time or level taken from the writer).
func TestSameBytesAsTextHandler(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var out syncBuffer
	var want bytes.Buffer
	h := mustNew(t, &out, backlog.Level(slog.LevelDebug))
	var hs []slog.Handler = []slog.Handler{h, slog.NewTextHandler(&want, &slog.HandlerOptions{Level: slog.LevelDebug})}
	for i, x := range hs {
		x = x.WithAttrs([]slog.Attr{slog.String("svc", "a b")}).WithGroup("g")
		r := record("one", "k", 1, slog.Group("in", "x", 2.5))
		r.Level = slog.LevelDebug
		if err := x.Handle(context.Background(), r); err != nil {
			t.Fatal(i, err)
		}
		if err := x.WithAttrs(nil).WithAttrs([]slog.Attr{slog.Bool("ok", true)}).Handle(context.Background(), record("two", "e", errors.New("boom"))); err != nil {
			t.Fatal(i, err)
		}
	}
	if h.WithGroup("") != slog.Handler(h) {
		t.Error(`WithGroup("") is not the receiver, as slog.Handler asks`)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Fatalf("backlog wrote\n%s\nTextHandler wrote\n%s", out.String(), want.String())
	}
}

// The bug: a record accepted after Close (it would never be written), or
// refused without an error or a count.
func TestHandleAfterCloseIsRefused(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var out syncBuffer
	h := mustNew(t, &out)
	if err := h.Handle(nil, record("before")); err != nil { //nolint:staticcheck // a nil context is taken as Background
		t.Fatal(err)
	}
	for range 2 {
		if err := h.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	child := h.WithAttrs([]slog.Attr{slog.Int("a", 1)})
	for _, x := range []slog.Handler{h, child} {
		if err := x.Handle(context.Background(), record("after")); !errors.Is(err, backlog.ErrClosed) {
			t.Fatalf("Handle after Close: %v, want ErrClosed", err)
		}
	}
	if st := h.Stats(); st != (backlog.Stats{Written: 1, Refused: 2}) {
		t.Fatalf("Stats %+v, want 1 written, 2 refused", st)
	}
	if strings.Contains(out.String(), "after") || !strings.Contains(out.String(), "before") {
		t.Fatalf("output %q", out.String())
	}
}

// fill holds the writer at its first write and fills a mailbox of
// capacity c behind it; it returns how many records it handed in.
func fill(t *testing.T, h *backlog.Handler, g *gate, c int) int {
	t.Helper()
	if err := h.Handle(context.Background(), record("first")); err != nil {
		t.Fatal(err)
	}
	<-g.entered // the writer holds "first", in its write
	for i := range c {
		if err := h.Handle(context.Background(), record("fill", "i", i)); err != nil {
			t.Fatal(err)
		}
	}
	return 1 + c
}

// The bug: a full mailbox under DropWhenFull that drops without counting
// or without saying so, or that blocks.
func TestDropWhenFullCounts(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	g := newGate()
	h := mustNew(t, g, backlog.Capacity(2), backlog.DropWhenFull())
	n := fill(t, h, g, 2)
	for range 3 {
		if err := h.Handle(context.Background(), record("dropped")); !errors.Is(err, backlog.ErrFull) {
			t.Fatalf("Handle on a full mailbox: %v, want ErrFull", err)
		}
	}
	close(g.open)
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st != (backlog.Stats{Written: uint64(n), Dropped: 3}) {
		t.Fatalf("Stats %+v, want %d written, 3 dropped", st, n)
	}
}

// The bug: a blocking Handle that ignores its context, or whose record,
// cut short, is neither counted nor reported.
func TestBlockingHandleHonoursContext(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	g := newGate()
	h := mustNew(t, g, backlog.Capacity(1))
	n := fill(t, h, g, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := h.Handle(ctx, record("late"))
	if !errors.Is(err, backlog.ErrFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Handle cut short: %v, want ErrFull and the context's error", err)
	}
	close(g.open)
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st != (backlog.Stats{Written: uint64(n), Dropped: 1}) {
		t.Fatalf("Stats %+v, want %d written, 1 dropped", st, n)
	}
}

// The bug: a Handle asleep on a full mailbox that Close does not wake (a
// caller blocked for good at shutdown), or that is then accepted.
func TestCloseEndsABlockedHandle(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	g := newGate()
	h := mustNew(t, g, backlog.Capacity(1))
	n := fill(t, h, g, 1)
	got := make(chan error)
	go func() { got <- h.Handle(context.Background(), record("blocked")) }()
	closed := make(chan error)
	time.Sleep(10 * time.Millisecond) // most likely asleep by now; either way it must be refused
	go func() { closed <- h.Close(context.Background()) }()
	if err := <-got; !errors.Is(err, backlog.ErrClosed) {
		t.Fatalf("blocked Handle at Close: %v, want ErrClosed", err)
	}
	close(g.open)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st != (backlog.Stats{Written: uint64(n), Refused: 1}) {
		t.Fatalf("Stats %+v, want %d written, 1 refused", st, n)
	}
}

// The bug: a Close that ignores its context while a slow writer works, or
// that, cut short, abandons the records.
func TestCloseHonoursContext(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	g := newGate()
	h := mustNew(t, g)
	n := fill(t, h, g, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with the writer held: %v, want DeadlineExceeded", err)
	}
	close(g.open)
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st.Written != uint64(n) {
		t.Fatalf("Stats %+v, want %d written", st, n)
	}
	defer func() {
		if recover() == nil {
			t.Error("Close(nil) did not panic")
		}
	}()
	_ = h.Close(nil) //nolint:staticcheck // the documented panic
}

// The bug: an invalid option or writer accepted (a capacity of 0 would
// make every Handle wait for good), or refused with an unclear error.
func TestBadInput(t *testing.T) {
	var out syncBuffer
	if _, err := backlog.New(nil); !errors.Is(err, backlog.ErrNilWriter) {
		t.Errorf("New(nil): %v", err)
	}
	for name, opt := range map[string]backlog.Option{
		"Capacity(0)":    backlog.Capacity(0),
		"Capacity(-1)":   backlog.Capacity(-1),
		"Capacity(huge)": backlog.Capacity(backlog.MaxCapacity + 1),
		"Level(nil)":     backlog.Level(nil),
		"Format(nil)":    backlog.Format(nil),
		"Format(→nil)":   backlog.Format(func(io.Writer) slog.Handler { return nil }),
		"a nil Option":   nil,
	} {
		if h, err := backlog.New(&out, opt); !errors.Is(err, backlog.ErrBadOption) {
			t.Errorf("%s: %v, want ErrBadOption", name, err)
			if h != nil {
				_ = h.Close(context.Background())
			}
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// The bug: a later bad option's error replacing the first's, so that the
// error names an option other than the first one wrong.
func TestFirstBadOptionIsReported(t *testing.T) {
	_, err := backlog.New(io.Discard, backlog.Capacity(0), backlog.Level(nil), backlog.Format(nil))
	if !errors.Is(err, backlog.ErrBadOption) || !strings.Contains(err.Error(), "Capacity(0)") {
		t.Fatalf("New with three bad options: %v, want the first's error, Capacity(0)", err)
	}
}

// The bug: Enabled that ignores the level, or does not follow a LevelVar.
func TestEnabledFollowsLevel(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	var lv slog.LevelVar
	h := mustNew(t, io.Discard, backlog.Level(&lv))
	defer func() { _ = h.Close(context.Background()) }()
	ctx := context.Background()
	if h.Enabled(ctx, slog.LevelDebug) || !h.Enabled(ctx, slog.LevelInfo) {
		t.Fatal("Info level: Debug enabled or Info not")
	}
	lv.Set(slog.LevelDebug)
	if !h.WithGroup("g").Enabled(ctx, slog.LevelDebug) {
		t.Fatal("LevelVar lowered to Debug: Debug not enabled")
	}
}
