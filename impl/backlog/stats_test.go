package backlog_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/insideout-go/insideout/impl/backlog"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The bug: Stats or Err reading a count or the write error with a plain
// load while the writer and the callers store them, or the writer storing
// one with a plain write (a data race, which the race detector reports,
// and a torn or stale count without it). Watchers poll both while two
// producers log, long enough for the polls to overlap every count's
// change, into a writer that fails part way: blocking (records written,
// failed and refused), dropping (dropped too), and, twenty times, with a
// mailbox that holds hundreds of records when the writer fails, each
// then counted Failed while the watchers look.
func TestStatsAndErrBesideWriting(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	statsBesideWriting(t, statsRun{capacity: 2, limit: 100 << 10, each: 3000})
	statsBesideWriting(t, statsRun{capacity: 16, limit: 1 << 10, each: 3000, drop: true})
	for range 20 {
		statsBesideWriting(t, statsRun{capacity: 256, limit: 1 << 10, each: 300})
	}
}

// statsRun is one run of TestStatsAndErrBesideWriting.
type statsRun struct {
	capacity, limit, each int
	drop                  bool
}

func statsBesideWriting(t *testing.T, run statsRun) {
	const producers = 2
	each, drop := run.each, run.drop
	f := &full{limit: run.limit}
	// Every tenth record's formatting fails: Failed also grows while the
	// writer writes.
	format := backlog.Format(func(w io.Writer) slog.Handler { return failing{slog.NewTextHandler(w, nil)} })
	opts := []backlog.Option{backlog.Capacity(run.capacity), format}
	if drop {
		opts = append(opts, backlog.DropWhenFull())
	}
	h := mustNew(t, f, opts...)
	var stop atomic.Bool
	var wg sync.WaitGroup
	// Two watchers, one for each: an atomic access in Stats would
	// otherwise order Err's read before the writer's store of the error,
	// hiding a plain read from the race detector.
	wg.Go(func() {
		for !stop.Load() {
			if st := h.Stats(); st.Written+st.Failed+st.Dropped+st.Refused > uint64(producers*each) {
				t.Errorf("Stats %+v: more counted than logged", st)
				return
			}
			runtime.Gosched() // a watcher that never yields starves the blocked producers and the writer
		}
	})
	wg.Go(func() {
		for !stop.Load() {
			if err := h.Err(); err != nil && !errors.Is(err, errDiskFull) {
				t.Errorf("Err = %v", err)
				return
			}
			runtime.Gosched()
		}
	})
	var work sync.WaitGroup
	for range producers {
		work.Go(func() {
			for i := range each {
				msg := "rec"
				if i%10 == 9 {
					msg = "bad"
				}
				_ = h.Handle(context.Background(), record(msg, "i", i))
			}
		})
	}
	work.Wait()
	err := h.Close(context.Background())
	stop.Store(true)
	wg.Wait()
	st := h.Stats()
	// Blocking, every record reaches the writer, which must fail; dropping,
	// it fails unless nearly every record was dropped. Refusals come only
	// from the failure (a record that failed to format is Failed without
	// one).
	failed := err != nil
	if (!drop && !failed) || (!failed && st.Refused > 0) || st.Written+st.Failed+st.Dropped+st.Refused != uint64(producers*each) {
		t.Fatalf("drop %v: Close %v, Stats %+v: want a write error and %d records counted", drop, err, st, producers*each)
	}
	if run.capacity == 2 || drop {
		t.Logf("%+v: %+v", run, st)
	}
}

// The bug: the writer counting the records it drains after a write error
// (Failed, one at a time as it formats them) with a plain add, a data race
// with Stats that the race detector reports. TestStatsAndErrBesideWriting
// seldom gets there: its small records are written only once the mailbox
// runs empty, so the error leaves few behind. Here records of 2 KiB fill
// the writer's buffer (flushBytes) while the mailbox of 256 is full, the
// write fails, and the hundreds of records queued behind it are counted
// Failed while a watcher polls Stats.
func TestFailedCountBesideStats(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const producers, each = 2, 400
	h := mustNew(t, &full{limit: 1 << 10}, backlog.Capacity(256))
	payload := strings.Repeat("x", 2<<10)
	var stop atomic.Bool
	var watch sync.WaitGroup
	watch.Go(func() {
		for !stop.Load() {
			_ = h.Stats()
			runtime.Gosched()
		}
	})
	var work sync.WaitGroup
	for range producers {
		work.Go(func() {
			for i := range each {
				_ = h.Handle(context.Background(), record("big", "i", i, "payload", payload))
			}
		})
	}
	work.Wait()
	err := h.Close(context.Background())
	stop.Store(true)
	watch.Wait()
	st := h.Stats()
	if !errors.Is(err, errDiskFull) || st.Written+st.Failed+st.Refused != producers*each {
		t.Fatalf("Close %v, Stats %+v: want the write error and %d records counted", err, st, producers*each)
	}
	t.Logf("Stats %+v", st)
}
