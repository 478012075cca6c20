//go:build sched

package linearize_test

import (
	"errors"
	"testing"

	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/impl/pool/pooltest"
	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
	"github.com/insideout-go/insideout/spec"
)

// replayTries is how many times each failure's token is replayed.
const replayTries = 10

// findAndReplay runs sc under pct:3 until a round fails, then replays the
// failure's token replayTries times: every replay must fail the same way,
// with the same token (which holds the trace's hash). A schedule that
// depends on anything outside the seam (a real-time timer, map order, a
// goroutine started outside the run) would break it.
func findAndReplay[S, In, Out any](t *testing.T, sc linearize.Scenario[S, In, Out]) {
	t.Helper()
	st, _ := schedule.Parse("pct:3")
	sc.Schedule, sc.Seed, sc.Rounds, sc.Duration, sc.ReportDir = st, 0x5eed, 300, 0, t.TempDir()
	_, err := sc.Run()
	var f *linearize.Failure
	if !errors.As(err, &f) || f.Token == "" {
		t.Fatalf("%s: pct:3 found no failure in 300 rounds (%v)", sc.Name, err)
	}
	tok, err := schedule.ParseToken(f.Token)
	if err != nil {
		t.Fatal(err)
	}
	for i := range replayTries {
		var again *linearize.Failure
		err := sc.Replay(tok)
		if !errors.As(err, &again) || again.Token != f.Token || again.Verdict != f.Verdict ||
			again.Hung != f.Hung || (again.Stuck == "") != (f.Stuck == "") || (again.Panic == "") != (f.Panic == "") {
			t.Fatalf("%s: replay %d of %d differs from the failure: %v", sc.Name, i+1, replayTries, err)
		}
	}
	t.Logf("%s: %d of %d replays exact (%s)", sc.Name, replayTries, replayTries, f.Schedule)
}

func TestFailuresReplayExactly(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	t.Run("queue", func(t *testing.T) {
		findAndReplay(t, queuetest.Scenario("queue-claims-tail-late", func() spec.Queue[int] {
			return queuetest.BadQueue[int](queuetest.ClaimsTailLate, 0)
		}))
	})
	t.Run("mailbox", func(t *testing.T) {
		findAndReplay(t, mailboxtest.Scenario("mailbox-lost-wakeup", 1, func(c int) mailboxtest.Mailbox {
			return mailboxtest.Locked(c, mailboxtest.LostWakeup)
		}))
	})
	t.Run("runtime", func(t *testing.T) {
		findAndReplay(t, rttest.Scenario("runtime-flags-lie", func() rttest.Counted { return rttest.BadRuntime(rttest.FlagsLie) }))
	})
	t.Run("pool", func(t *testing.T) {
		findAndReplay(t, pooltest.Scenario("pool-drops-on-end", pooltest.BadDispatcher(pooltest.DropsOnEnd)))
	})
}
