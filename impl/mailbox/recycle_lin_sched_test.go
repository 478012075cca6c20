//go:build sched

package mailbox_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/impl/internal/knownbad"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// kind sums a failure up: what a replay must find again.
func kind(f *linearize.Failure) string {
	switch {
	case f.Panic != "":
		first, _, _ := strings.Cut(f.Panic, "\n")
		return "a panic (" + first + ")"
	case f.Hung:
		return "a hang"
	case f.Stuck != "":
		return "a call stuck"
	case f.Verdict == linearize.Illegal:
		return "an Illegal history"
	}
	return "a failed round"
}

// The mailbox with segments of 2 positions, which a scenario of a few
// operations crosses and recycles, keeps its histories linearizable under
// controlled schedules (pct:3), at capacities 2 and Unbounded. The same
// run finds segments recycled too early (knownbad.SegmentRecyclesEarly),
// and the failure's token replays it.
func TestRecyclingMailboxLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	st, err := schedule.Parse("pct:3")
	if err != nil {
		t.Fatal(err)
	}
	for _, capacity := range []int{2, mailbox.Unbounded} { // Unbounded: 9223372036854775807
		sc := mailboxtest.Scenario("mailbox-span2", capacity, func(c int) mailboxtest.Mailbox { return mailbox.NewSpan(c, 2) })
		sc.Schedule, sc.Seed, sc.Rounds, sc.ReportDir = st, 1, 300, t.TempDir()
		if sum, err := sc.Run(); err != nil {
			t.Fatalf("capacity %d, %d rounds: %v", capacity, sum.Rounds, err)
		}
		knownbad.SegmentRecyclesEarly.Store(true)
		sum, err := sc.Run()
		knownbad.SegmentRecyclesEarly.Store(false)
		var f *linearize.Failure
		if !errors.As(err, &f) || f.Token == "" {
			t.Fatalf("capacity %d, segments recycled too early: no failure with a token in %d rounds: %v", capacity, sum.Rounds, err)
		}
		tok, err := schedule.ParseToken(f.Token)
		if err != nil {
			t.Fatal(err)
		}
		knownbad.SegmentRecyclesEarly.Store(true)
		err = sc.Replay(tok)
		knownbad.SegmentRecyclesEarly.Store(false)
		var g *linearize.Failure
		if !errors.As(err, &g) || kind(g) != kind(f) {
			t.Fatalf("capacity %d: %s in round %d; the token replayed %v", capacity, kind(f), sum.Rounds, err)
		}
		t.Logf("capacity %d, segments recycled too early: %s in round %d, replayed", capacity, kind(f), sum.Rounds)
	}
}
