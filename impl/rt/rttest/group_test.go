package rttest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/internal/rapidcheck"

	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"pgregory.net/rapid"
)

// Control operations, links, unlinks and signals from several clients
// against three impl/rt runtimes counting their steps: the links
// scenario, which `insideout verify` runs as the runtime campaign.
func TestGroupLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := rttest.GroupScenario("runtime", rttest.NewGroup)
	sc.Rounds = 300
	sc.Test(t)
}

// badGroups are the known-bad groups, with what each bug breaks.
func badGroups() []rttest.LinkBug {
	var bugs []rttest.LinkBug
	for b := rttest.LinksCorrect + 1; !strings.HasPrefix(b.String(), "LinkBug("); b++ {
		bugs = append(bugs, b)
	}
	return bugs
}

// The links scenario catches every known-bad group: a Link that links
// nothing (no peer halted by a teardown), an Unlink that leaves the link
// (a runtime halted by a former peer), a linked failure passed on as no
// error, and a SIGTERM ignored; each as an Illegal history. The bugs:
// the model's propagation, its unlinking, its linked errors or its
// signals gone, or the scenario never linking, unlinking or signalling.
func TestGroupKnownBadsCaught(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, bug := range badGroups() {
		sc := rttest.GroupScenario("runtime-"+bug.String(), func() rttest.Group { return rttest.BadGroup(bug) })
		sc.Rounds, sc.Seed, sc.ReportDir = 2000, 0x11c5, t.TempDir()
		sum, err := sc.Run()
		var f *linearize.Failure
		if !errors.As(err, &f) || f.Verdict != linearize.Illegal {
			t.Errorf("%v: %d rounds, %v; want an Illegal history", bug, sum.Rounds, err)
			continue
		}
		t.Logf("%v: caught in round %d", bug, f.Round)
	}
}

// rapid draws programs of the links scenario and shrinks a failure: the
// real group passes 40, and rapid finds each known-bad group. The bugs:
// those of TestGroupKnownBadsCaught, where rapid draws the programs.
func TestGroupRapid(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer rapidcheck.SetFlag(t, "rapid.nofailfile", "true")()
	defer rapidcheck.SetFlag(t, "rapid.checks", "20")()
	sc := rttest.GroupScenario("runtime", rttest.NewGroup)
	rapid.Check(t, sc.Rapid)
	defer rapidcheck.SetFlag(t, "rapid.seed", "1")()
	defer rapidcheck.SetFlag(t, "rapid.checks", "100")()
	// A free round's failure seldom comes back when rapid runs it again to
	// shrink it: bound the attempts.
	defer rapidcheck.SetFlag(t, "rapid.shrinktime", "1s")()
	for _, bug := range badGroups() {
		bad := rttest.GroupScenario("runtime-"+bug.String(), func() rttest.Group { return rttest.BadGroup(bug) })
		// The programs rapid.seed 1 draws were measured at six operations
		// a client: with them it finds every bad group within 100 checks.
		bad.OpsPerClient = 6
		fake := rapidcheck.NewRecorder(t.Name())
		rapid.Check(fake, bad.Rapid)
		if !fake.Failed() || !strings.Contains(fake.Message(), "Illegal") {
			t.Errorf("%v: rapid passed it, or failed it otherwise: %q", bug, fake.Message())
			continue
		}
		for line := range strings.Lines(fake.Message()) {
			if strings.Contains(line, "Illegal") {
				t.Logf("%v: rapid: %s", bug, strings.TrimSpace(line))
				break
			}
		}
	}
}

// A link bug out of range is refused. The bug: BadGroup returning a
// correct group for a bug it does not know.
func TestBadGroupUnknownBug(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer func() {
		if recover() == nil {
			t.Errorf("BadGroup(200) did not panic")
		}
	}()
	rttest.BadGroup(200)
}
