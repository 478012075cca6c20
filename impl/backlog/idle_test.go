package backlog_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/backlog"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"golang.org/x/sys/unix"
)

func cpuTime(t *testing.T) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The bug: a writer that polls an empty mailbox instead of sleeping
// (beyond its bounded yields), or a Handle that spins on a full one. An
// idle backlog and two Handles blocked on a full mailbox cost the process
// essentially no CPU in 300ms; a spinning writer or caller would burn
// most of it.
func TestIdleWriterAndBlockedHandleCostNoCPU(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	idle := mustNew(t, io.Discard)
	if err := idle.Handle(context.Background(), record("one")); err != nil {
		t.Fatal(err)
	}
	g := newGate()
	full := mustNew(t, g, backlog.Capacity(1))
	fill(t, full, g, 1)
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- full.Handle(context.Background(), record("blocked")) }()
	}
	time.Sleep(30 * time.Millisecond) // let them go to sleep
	before := cpuTime(t)
	time.Sleep(300 * time.Millisecond)
	used := cpuTime(t) - before
	close(g.open)
	for range 2 {
		if err := <-errs; err != nil && !errors.Is(err, backlog.ErrClosed) {
			t.Fatal(err)
		}
	}
	for _, h := range []*backlog.Handler{idle, full} {
		if err := h.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("CPU used in 300ms by an idle writer and two blocked Handles: %v", used)
	if used > 30*time.Millisecond {
		t.Fatalf("an idle writer and two blocked Handles used %v of CPU in 300ms; sleeping ones use none", used)
	}
}
