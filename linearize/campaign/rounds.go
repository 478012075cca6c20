package campaign

import (
	"context"
	"time"

	"github.com/insideout-go/insideout/linearize"
)

// A roundResult is what one round of a campaign that runs its own rounds
// did, as runRounds counts it in the summary.
type roundResult struct {
	ops      int  // operations the round ran
	hung     bool // it hung: it counts as a hang
	panicked bool // a call or a worker failed: a panic, unless it hung
	illegal  int  // else it counts as a checked history, with these wrong
	unknown  int  // and these the checker gave up on
	// fail is nil for a round that passed; for one that failed, it
	// returns the failure to report.
	fail func() error
}

// runRounds is the loop of the campaigns that generate and check rounds of
// their own, ContCheck and EqCheck, run as linearize.Scenario runs its
// rounds: it resolves seed with linearize.ResolveSeed and runs rounds
// rounds (0: 100; negative: until ctx ends; for INSIDEOUT_DURATION if that
// is set), stopping early when ctx ends, which is no failure. Round i, counted from 0, is round(seed, i) with the
// resolved seed, or round(seed, n) every time if INSIDEOUT_ROUND is n.
// After each round runRounds counts its result in the summary and calls
// progress, if not nil, with the summary; then a failed round ends the run
// with the error its fail makes, after progress, so that Elapsed does not
// count the writing of a report. It returns the seed, the summary and that
// error; a bad INSIDEOUT_SEED or INSIDEOUT_ROUND is an error before any
// round.
func runRounds(ctx context.Context, seed uint64, rounds int, progress func(linearize.Summary),
	round func(seed uint64, r int) roundResult) (uint64, linearize.Summary, error) {
	var sum linearize.Summary
	seed, err := linearize.ResolveSeed(seed)
	if err != nil {
		return 0, sum, err
	}
	only, err := linearize.ReplayRound()
	if err != nil {
		return seed, sum, err
	}
	budget, err := linearize.BudgetFromEnv()
	if err != nil {
		return seed, sum, err
	}
	switch {
	case budget > 0:
		rounds = -1
	case rounds == 0:
		rounds = 100
	}
	begin := time.Now()
	for i := 0; rounds < 0 || i < rounds; i++ {
		if ctx.Err() != nil || (budget > 0 && i > 0 && time.Since(begin) >= budget) {
			break
		}
		r := i
		if only >= 0 {
			r = only
		}
		res := round(seed, r)
		sum.Rounds++
		sum.Ops += res.ops
		switch {
		case res.hung:
			sum.Hangs++
		case res.panicked:
			sum.Panics++
		default:
			sum.Histories++
			sum.Illegal += res.illegal
			sum.Unknown += res.unknown
		}
		sum.Elapsed = time.Since(begin)
		if progress != nil {
			progress(sum)
		}
		if res.fail != nil {
			return seed, sum, res.fail()
		}
	}
	sum.Elapsed = time.Since(begin)
	return seed, sum, nil
}

// chaosSeed returns the seed of round's chaos, drawn from the run's seed
// as linearize.Scenario draws its rounds'.
func chaosSeed(seed uint64, round int) uint64 {
	return seed ^ uint64(round)*0x9e3779b97f4a7c15
}
