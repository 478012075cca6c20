package stress

import (
	"fmt"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
)

// The runtime suites' sizes at INSIDEOUT_SOAK=1, chosen with the others so
// that the whole package stays within about a minute under -race on two
// cores, with or without -tags chaos. INSIDEOUT_SOAK=n multiplies each.
const (
	// Short checked histories: this many rounds of 4 clients x 4 ops, and
	// half as many each of 5 x 3 and 6 x 3. The runtime model is
	// nondeterministic (teardown may happen at any instant once it is
	// due), so porcupine's search grows with overlapping calls; at these
	// shapes a check took about 0.12 ms on average and under 2 ms at most
	// (5 ms seen once), under -race with or without -tags chaos (the test
	// logs both). A round costs about 0.6 ms.
	rtHistoryRounds = 2000

	// Link trees: runtimes per tree, and trees per kind of teardown.
	treeSize   = 100
	treeRounds = 10

	// OS-thread runtimes alive at once.
	osThreadRuntimes = 50

	// How long a runtime told to stop may take to be Dead, and its thread
	// to be gone: no timing assertion, a bound that turns a hang into a
	// report.
	rtDeadLimit = 30 * time.Second
)

// replayRound returns the round named by INSIDEOUT_ROUND, or -1, as
// package linearize reads it, so that a failure's replay line holds here
// too.
func replayRound(t *testing.T) int {
	t.Helper()
	n, err := linearize.ReplayRound()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rtHistories runs rounds of rttest.Scenario with clients x ops,
// as linearize's Scenario.Run does (same programs, same chaos seeds, same
// replay), and logs porcupine's time per history: each history is checked
// once by the round, and once more here, timed.
func rtHistories(t *testing.T, clients, ops, rounds int) {
	t.Helper()
	name := fmt.Sprintf("runtime-%dx%d", clients, ops)
	sc := rttest.Scenario(name, rttest.NewCounted)
	sc.Clients, sc.OpsPerClient = clients, ops
	seed := resolveSeed(t)
	only := replayRound(t)
	var (
		n                  = rounds * soak(t)
		nOps, histories    int
		checkSum, checkMax time.Duration
		roundMax           time.Duration
		begin              = time.Now()
		rtModel            = model.Runtime()
	)
	for r := range n {
		round := r
		if only >= 0 {
			round = only
		}
		start := time.Now()
		p := sc.Generate(linearize.NewGen(seed, uint64(round)))
		res := sc.RunProgram(p, seed^uint64(round)*0x9e3779b97f4a7c15)
		roundMax = max(roundMax, time.Since(start))
		// The bug: any interleaving of Halt, Freeze, Thaw, Interrupt,
		// Cancel, Eject, Flags and Join from several clients that breaks
		// spec.Runtime: a step run while the runtime is seen frozen and
		// asleep or after Eject took its continuation, a control
		// operation that misreports, a flag wrong at its instant, a Join
		// with the wrong error or asleep though the runtime is Dead, a
		// call that never returns; under -race, any unsynchronised
		// access.
		if res.Failed() {
			t.Fatal(sc.Failure(p, res, seed, round))
		}
		nOps += len(res.History)
		histories++
		start = time.Now()
		again := linearize.Check(rtModel, res.History, 10*time.Second)
		d := time.Since(start)
		checkSum += d
		checkMax = max(checkMax, d)
		// The bug (in the checker): porcupine's search is deterministic,
		// so a second check of the same history must agree.
		if again.Verdict != linearize.Ok {
			t.Fatalf("%s: round %d of seed %#x: the history passed, and a second check says %v", name, round, seed, again.Verdict)
		}
	}
	t.Logf("%s: seed %#x: %d rounds, %d ops, %d histories in %v; the longest round took %v; porcupine took %v per history on average, %v at most (chaos %v)",
		name, seed, n, nOps, histories, time.Since(begin).Round(time.Millisecond), roundMax.Round(time.Microsecond),
		(checkSum / time.Duration(max(histories, 1))).Round(time.Microsecond), checkMax.Round(time.Microsecond), chaos.Enabled)
}

// Thousands of short histories of every control operation at once from 4
// to 6 clients against a runtime that counts its steps, each ended by
// rttest.Release (a Halt once every client sleeps in Join) and
// rttest.Finally (Halt, Join, then the flags and the counter
// twice), and checked for linearizability against model.Runtime.
//
// The bug: see rtHistories.
func TestRuntimeLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rtHistories(t, 4, 4, rtHistoryRounds)
	rtHistories(t, 5, 3, rtHistoryRounds/2)
	rtHistories(t, 6, 3, rtHistoryRounds/2)
}
