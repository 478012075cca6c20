package stress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/backlog/backlogtest"
	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// Sizes of the backlog storm at INSIDEOUT_SOAK=1 (the records per
// producer are multiplied by INSIDEOUT_SOAK): a fraction of a second under
// -race on two cores.
const (
	blProducers = 6 // more goroutines than cores
	blRecords   = 2000
	blCapacity  = 8
	// blStall: no Handle finished for this long while producers remain is
	// a writer that stopped, or a blocked caller nobody wakes.
	blStall = 5 * time.Second
)

// blConfig is one storm's configuration.
type blConfig struct {
	cfg        backlogtest.Config
	closeEarly bool // a Close while producers run
}

// blStormConfigs are the storms TestBacklogStorm runs.
var blStormConfigs = map[string]blConfig{
	"block":       {cfg: backlogtest.Config{Capacity: blCapacity}},
	"drop":        {cfg: backlogtest.Config{Capacity: blCapacity, Drop: true}},
	"fail":        {cfg: backlogtest.Config{Capacity: blCapacity, FailAfter: 200 << 10}},
	"close-early": {cfg: backlogtest.Config{Capacity: blCapacity}, closeEarly: true},
}

// blTally is what one producer counted: the records it had accepted, in
// its order, and those it had refused.
type blTally struct {
	accepted                          []int
	dropped, refused, failed, unknown int
	closeErr                          error // the early Close's (producer 0)
}

// blStorm runs producers goroutines, each handing records (p, i) for i up
// to records to a backlog of newB, through the backlog itself, WithAttrs
// and WithGroup, some with a context that ends at once, and, with
// closeEarly, a Close from producer 0 a third of the way through its
// records, while the others run. It counts every
// record by what Handle returned, closes the backlog, reads the output
// and returns the problems it found, one line each.
func blStorm(newB backlogtest.New, c blConfig, producers, records int, seed uint64) []string {
	out := backlogtest.NewOutput(c.cfg.FailAfter)
	b := newB(out, c.cfg)
	hs := []slog.Handler{b, b.WithAttrs([]slog.Attr{slog.String("svc", "storm")}), b.WithGroup("g")}
	tallies := make([]blTally, producers)
	var progress atomic.Int64
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(p)))
			done, cancel := context.WithCancel(context.Background())
			cancel()
			t := &tallies[p]
			for i := range records {
				if c.closeEarly && p == 0 && i == records/3 {
					t.closeErr = b.Close(context.Background())
				}
				ctx := context.Background()
				if rng.IntN(16) == 0 {
					ctx = done
				}
				r := slog.NewRecord(time.Time{}, slog.LevelInfo, "storm", 0)
				r.AddAttrs(slog.Int("p", p), slog.Int("i", i))
				switch err := hs[rng.IntN(len(hs))].Handle(ctx, r); {
				case err == nil:
					t.accepted = append(t.accepted, i)
				case errors.Is(err, spec.ErrBacklogFull):
					t.dropped++
				case errors.Is(err, spec.ErrBacklogClosed):
					t.refused++
				case errors.Is(err, spec.ErrBacklogWrite):
					t.failed++
				default:
					t.unknown++
				}
				chaos.Point()
				progress.Add(1)
			}
		})
	}
	var problems []string
	if stalled := blWait(&wg, &progress, blStall); stalled != "" {
		return append(problems, stalled) // the goroutines are left: goleak reports them too
	}
	closeErr := b.Close(context.Background())
	return append(problems, blAudit(out, b.Stats(), tallies, closeErr, c.cfg.FailAfter > 0)...)
}

// blWait waits for wg, and reports a stall: no progress for stall.
func blWait(wg *sync.WaitGroup, progress *atomic.Int64, stall time.Duration) string {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for last := int64(-1); ; {
		select {
		case <-done:
			return ""
		case <-time.After(stall):
			if p := progress.Load(); p == last {
				return fmt.Sprintf("no Handle finished for %v: %d done (a writer that stopped, or a caller nobody woke)", stall, p)
			} else {
				last = p
			}
		}
	}
}

// blFields returns the producer and the record number of a line (whose
// attributes may be in the group g), or -1s.
func blFields(line string) (p, i int) {
	p, i = -1, -1
	for _, f := range strings.Fields(strings.TrimPrefix(line, "level=INFO msg=storm ")) {
		k, v, _ := strings.Cut(strings.TrimPrefix(f, "g."), "=")
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
		case k == "p":
			p = n
		case k == "i":
			i = n
		}
	}
	return p, i
}

// blAudit checks the output and the Stats against what the producers
// counted.
func blAudit(out *backlogtest.Output, st spec.BacklogStats, tallies []blTally, closeErr error, mayFail bool) []string {
	var problems []string
	next := make([]int, len(tallies)) // per producer: how many of its accepted records are written
	lines := 0
	for line := range strings.Lines(out.String()) {
		if !strings.HasSuffix(line, "\n") {
			break // a record cut by the write error
		}
		lines++
		p, i := blFields(line)
		if p < 0 || p >= len(tallies) || i < 0 {
			return append(problems, fmt.Sprintf("a line without a producer and a record: %q", line))
		}
		// The bug: a record written twice, out of its producer's order,
		// or one that Handle did not accept.
		if acc := tallies[p].accepted; next[p] >= len(acc) || acc[next[p]] != i {
			return append(problems, fmt.Sprintf("producer %d: record %d written where its accepted record no. %d was due (an accepted record lost, or one doubled, reordered or never accepted)", p, i, next[p]))
		}
		next[p]++
	}
	var accepted, dropped, refused, failed, unknown int
	for p, t := range tallies {
		if t.closeErr != nil {
			problems = append(problems, fmt.Sprintf("the early Close: %v", t.closeErr))
		}
		accepted += len(t.accepted)
		dropped, refused, failed, unknown = dropped+t.dropped, refused+t.refused, failed+t.failed, unknown+t.unknown
		// The bug: an accepted record lost (not written, and, without a
		// write error, not counted either).
		if next[p] < len(t.accepted) && !mayFail {
			problems = append(problems, fmt.Sprintf("producer %d: %d of its %d accepted records not written", p, len(t.accepted)-next[p], len(t.accepted)))
		}
	}
	// The bug: counts that do not add up: a record lost silently.
	switch {
	case unknown > 0:
		problems = append(problems, fmt.Sprintf("%d Handles returned an error of no kind the spec names", unknown))
	case int(st.Written) != lines:
		problems = append(problems, fmt.Sprintf("Stats.Written %d, but %d whole records written", st.Written, lines))
	case int(st.Written+st.Failed) != accepted:
		problems = append(problems, fmt.Sprintf("%d accepted, but %d written and %d failed", accepted, st.Written, st.Failed))
	case int(st.Dropped) != dropped || int(st.Refused) != refused+failed:
		problems = append(problems, fmt.Sprintf("Stats %+v, but the producers saw %d dropped, %d refused, %d refused for a write error", st, dropped, refused, failed))
	case (closeErr != nil) != (st.Failed > 0 || failed > 0):
		problems = append(problems, fmt.Sprintf("Close = %v with %d records failed", closeErr, st.Failed))
	}
	return problems
}

// A storm of records from 6 producers into a mailbox of 8, blocking,
// dropping, with an io.Writer that fails part way, and with a Close while
// they run: every record counted, each producer's in its order.
//
// The bug: a record lost, doubled or reordered; a count that does not add
// up; a write error swallowed; a stopped writer (reported after blStall);
// and, under -race, any access to a shared word that is not synchronised.
func TestBacklogStorm(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	k := soak(t)
	for name, c := range blStormConfigs {
		start := time.Now()
		if problems := blStorm(backlogtest.NewBacklog, c, blProducers, blRecords*k, seed); len(problems) > 0 {
			t.Fatalf("impl/backlog, %s:\n%s", name, strings.Join(problems, "\n"))
		}
		t.Logf("%s: %d producers x %d records in %v (chaos %v)", name, blProducers, blRecords*k, time.Since(start), chaos.Enabled)
	}
}

// The storm's checks must be able to fail: each known-bad backlog below
// fails it (within five storms), with the problem its Bug's comment names.
func TestBacklogStormCatchesKnownBads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	seed := resolveSeed(t)
	for _, c := range []struct {
		bug    backlogtest.Bug
		config string
		want   string
	}{
		{backlogtest.CloseDropsQueued, "close-early", "accepted records not written"},
		{backlogtest.DropUncounted, "drop", "accepted record lost"},
		{backlogtest.SwallowsWriteError, "fail", "whole records written"},
		{backlogtest.ReversesBatch, "block", "accepted record lost, or one doubled, reordered"},
	} {
		t.Run(c.bug.String(), func(t *testing.T) {
			// A bug that needs records queued at the early Close can miss
			// a storm whose writer had caught up just then: up to five
			// storms, each with a seed of its own.
			var got string
			for try := range uint64(5) {
				got = strings.Join(blStorm(backlogtest.Simple(c.bug), blStormConfigs[c.config], blProducers, blRecords, seed+try), "\n")
				if strings.Contains(got, c.want) {
					break
				}
			}
			if !strings.Contains(got, c.want) {
				t.Fatalf("the storm on a %v backlog found %q; want %q", c.bug, got, c.want)
			}
			t.Logf("caught: %s", got)
		})
	}
	// The control: Simple with no bug passes every storm.
	for name, c := range blStormConfigs {
		if problems := blStorm(backlogtest.Simple(backlogtest.Correct), c, blProducers, blRecords, seed); len(problems) > 0 {
			t.Errorf("Simple, %s:\n%s", name, strings.Join(problems, "\n"))
		}
	}
}
