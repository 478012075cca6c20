package linearize

import (
	"context"
	"time"
)

// A RoundOutcome is what one round of a run did, as RunRounds counts it in
// the summary.
type RoundOutcome struct {
	Ops      int  // operations the round ran
	Hung     bool // it hung: it counts as a hang
	Panicked bool // a call, a worker or the model failed: a panic, unless it hung
	Illegal  int  // else it counts as a checked history, with these wrong
	Unknown  int  // and these the checker gave up on
	// Schedules counts the schedules the round's program ran under (the
	// controlled scheduler's; 0 for a free round), and Exhausted is 1 if
	// they were every schedule within a DFS bound.
	Schedules, Exhausted int
	// Fail is nil for a round that passed; for one that failed, it
	// returns the failure to report.
	Fail func() error
}

// RunRounds is the loop of every run of rounds: a Scenario's, and an
// engine's that generates and checks rounds of its own (the continuation
// and event-queue campaigns'). It resolves seed with ResolveSeed and runs
// rounds as Scenario.Rounds and Scenario.Duration say (rounds 0 and no
// duration: 100 rounds; negative: no limit; INSIDEOUT_DURATION overrides
// both), stopping early when ctx ends, which is no failure. Round i,
// counted from 0, is round(seed, i) with the resolved seed, or
// round(seed, n) every time if INSIDEOUT_ROUND is n.
//
// After each round RunRounds counts its outcome in the summary and calls
// progress, if not nil, with the summary; then a failed round ends the run
// with the error its Fail makes, after progress, so that Elapsed does not
// count the writing of a report. It returns the seed, the summary and that
// error; a bad INSIDEOUT_SEED, INSIDEOUT_ROUND or INSIDEOUT_DURATION is an
// error before any round.
func RunRounds(ctx context.Context, seed uint64, rounds int, duration time.Duration, progress func(Summary),
	round func(seed uint64, r int) RoundOutcome) (uint64, Summary, error) {
	var sum Summary
	seed, err := ResolveSeed(seed)
	if err != nil {
		return 0, sum, err
	}
	only, err := ReplayRound()
	if err != nil {
		return seed, sum, err
	}
	rounds, budget, err := bounds(rounds, duration)
	if err != nil {
		return seed, sum, err
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
		sum.Ops += res.Ops
		sum.Schedules += res.Schedules
		sum.Exhausted += res.Exhausted
		switch {
		case res.Hung:
			sum.Hangs++
		case res.Panicked:
			sum.Panics++
		default:
			sum.Histories++
			sum.Illegal += res.Illegal
			sum.Unknown += res.Unknown
		}
		sum.Elapsed = time.Since(begin)
		if progress != nil {
			progress(sum)
		}
		if res.Fail != nil {
			return seed, sum, res.Fail()
		}
	}
	sum.Elapsed = time.Since(begin)
	return seed, sum, nil
}

// bounds returns the rounds (negative: no limit) and the time budget (0:
// none) of a run of rounds rounds for duration, and INSIDEOUT_DURATION.
func bounds(rounds int, duration time.Duration) (int, time.Duration, error) {
	env, err := BudgetFromEnv()
	switch {
	case err != nil:
		return 0, 0, err
	case env > 0:
		return -1, env, nil
	case rounds != 0:
		return rounds, max(duration, 0), nil
	case duration > 0:
		return -1, duration, nil
	}
	return 100, 0, nil
}

// ChaosSeed returns the seed of round's schedule perturbation (impl/chaos),
// drawn from the run's seed: every round of a run shakes differently, and
// a replayed round the same way.
func ChaosSeed(seed uint64, round int) uint64 {
	return seed ^ uint64(round)*0x9e3779b97f4a7c15
}
