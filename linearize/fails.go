package linearize

import (
	"errors"
	"fmt"

	"github.com/insideout-go/insideout/linearize/schedule"
)

// TestFails is Test's opposite, for a known-bad variant: a check is only
// worth its pass if it fails where it should. It runs the scenario's
// rounds and fails t unless one of them fails in the way want accepts
// (nil accepts any failure; IsIllegal accepts an Illegal history). Under
// a schedule (Schedule set, a build with -tags sched) it also requires
// the failure's token to replay it exactly: the same token, the same
// verdict, the same stuck call. It logs the round that failed and returns the failure.
//
//	sc := mytest.Scenario("lossy", newLossy)
//	sc.Rounds = 300
//	sc.TestFails(t, linearize.IsIllegal)
func (sc *Scenario[S, In, Out]) TestFails(t TB, want func(*Failure) bool) *Failure {
	t.Helper()
	sum, err := sc.Run()
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatal(fmt.Sprintf("%s: the check passed a known-bad variant: %d rounds, %d schedules, %v",
			sc.name(), sum.Rounds, sum.Schedules, err))
	}
	if want != nil && !want(f) {
		t.Fatal(fmt.Sprintf("%s: caught, but not as expected:\n%v", sc.name(), f))
	}
	what := f.Verdict.String() + " history"
	if f.Stuck != "" {
		what = "stuck: " + f.Stuck
	}
	if sc.Schedule == nil {
		t.Logf("%s: caught in round %d of %d: %s", sc.name(), f.Round, sum.Rounds, what)
		return f
	}
	if err := replaysExactly(sc, f); err != nil {
		t.Fatal(fmt.Sprintf("%s: %v", sc.name(), err))
	}
	t.Logf("%s: caught in round %d of %d (%d schedules): %s; replayed exactly", sc.name(), f.Round, sum.Rounds, sum.Schedules, what)
	return f
}

// replaysExactly reports why f's token does not replay f: no token, or a
// replay that passes or fails otherwise.
func replaysExactly[S, In, Out any](sc *Scenario[S, In, Out], f *Failure) error {
	if f.Token == "" {
		return fmt.Errorf("the failure has no token: %v", f)
	}
	tok, err := schedule.ParseToken(f.Token)
	if err != nil {
		return err
	}
	var again *Failure
	if err := sc.Replay(tok); !errors.As(err, &again) || again.Token != f.Token || again.Verdict != f.Verdict || again.Stuck != f.Stuck {
		return fmt.Errorf("the token did not replay the failure exactly: %v", err)
	}
	return nil
}

// IsIllegal accepts a failure whose history is not linearizable: for
// TestFails.
func IsIllegal(f *Failure) bool { return f.Verdict == Illegal }
