package backlog_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/insideout-go/insideout/impl/backlog"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The bug: Stats or Err reading a count or the write error with a plain
// load while the writer and the callers store them (a data race, which
// the race detector reports, and a torn or stale count without it). A
// reader polls both while two producers log, long enough for the polls
// to overlap every count's change, into a writer that fails part way,
// blocking (records written, failed and refused) and dropping (dropped
// too).
func TestStatsAndErrBesideWriting(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, drop := range []bool{false, true} {
		statsBesideWriting(t, drop)
	}
}

func statsBesideWriting(t *testing.T, drop bool) {
	const producers, each = 2, 3000
	f := &full{limit: 100 << 10}
	// Every tenth record's formatting fails: Failed also grows while the
	// writer writes.
	format := backlog.Format(func(w io.Writer) slog.Handler { return failing{slog.NewTextHandler(w, nil)} })
	opts := []backlog.Option{backlog.Capacity(2), format}
	if drop {
		// Dropping callers outrun the writer: a smaller limit lets it
		// fail among the drops.
		f.limit = 1 << 10
		opts = []backlog.Option{backlog.Capacity(16), backlog.DropWhenFull(), format}
	}
	h := mustNew(t, f, opts...)
	var stop atomic.Bool
	var wg sync.WaitGroup
	// Two watchers, one for each: an atomic access in Stats would
	// otherwise order Err's read before the writer's store of the error,
	// hiding a plain read from the race detector.
	wg.Go(func() {
		for !stop.Load() {
			if st := h.Stats(); st.Written+st.Failed+st.Dropped+st.Refused > producers*each {
				t.Errorf("Stats %+v: more counted than logged", st)
				return
			}
		}
	})
	wg.Go(func() {
		for !stop.Load() {
			if err := h.Err(); err != nil && !errors.Is(err, errDiskFull) {
				t.Errorf("Err = %v", err)
				return
			}
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
	if (!drop && !failed) || (!failed && st.Refused > 0) || st.Written+st.Failed+st.Dropped+st.Refused != producers*each {
		t.Fatalf("drop %v: Close %v, Stats %+v: want a write error and %d records counted", drop, err, st, producers*each)
	}
	t.Logf("drop %v: %+v", drop, st)
}
