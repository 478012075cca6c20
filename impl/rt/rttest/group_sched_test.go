//go:build sched

package rttest_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// The links scenario under controlled schedules: impl/rt's group passes
// PCT and random rounds, every schedule run twice with the same choices
// taking the same steps (Recheck). The bugs this found in impl/rt: a Link
// that linked one half before checking the other, so that a teardown in
// between halted the other runtime through a Link that then failed with
// ErrTornDown (an Illegal history); and a teardown that halted its peers
// in the order of a map, so that a schedule did not replay.
func TestGroupUnderControlledSchedules(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, s := range []string{"pct:3", "random"} {
		st, err := schedule.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		sc := rttest.GroupScenario("runtime", rttest.NewGroup)
		sc.Schedule, sc.Recheck, sc.Rounds = st, true, 60
		sc.Test(t)
	}
}

// PCT finds every known-bad group, as free rounds do. The bugs: those of
// TestGroupKnownBadsCaught, under a controlled schedule, each failure
// replayed exactly from its token.
func TestGroupKnownBadsFoundByPCT(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	st, err := schedule.Parse("pct:3")
	if err != nil {
		t.Fatal(err)
	}
	for _, bug := range badGroups() {
		t.Run(bug.String(), func(t *testing.T) {
			sc := rttest.GroupScenario("runtime-"+bug.String(), func() rttest.Group { return rttest.BadGroup(bug) })
			sc.Schedule, sc.Rounds, sc.Seed, sc.ReportDir = st, 300, 0x11c5, t.TempDir()
			sc.TestFails(t, linearize.IsIllegal) // and its token replays it exactly
		})
	}
}
