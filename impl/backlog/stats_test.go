package backlog_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/insideout-go/insideout/impl/backlog"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The bug: Stats or Err reading a count or the write error with a plain
// load while the writer and the callers store them (a data race, which
// the race detector reports, and a torn or stale count without it). A
// reader polls both while two producers log into a writer that fails part
// way, so that records are written, failed and refused.
func TestStatsAndErrBesideWriting(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	f := &full{limit: 4000}
	h := mustNew(t, f, backlog.Capacity(2))
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			st := h.Stats()
			_ = h.Err()
			if st.Written > 1000 {
				t.Error("more written than logged")
			}
		}
	})
	var producers sync.WaitGroup
	for range 2 {
		producers.Go(func() {
			for i := range 300 {
				_ = h.Handle(context.Background(), record("rec", "i", i))
			}
		})
	}
	producers.Wait()
	err := h.Close(context.Background())
	stop.Store(true)
	wg.Wait()
	st := h.Stats()
	if err == nil || st.Written+st.Failed+st.Dropped+st.Refused != 600 {
		t.Fatalf("Close %v, Stats %+v: want a write error and 600 records counted", err, st)
	}
}
