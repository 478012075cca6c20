package linearize

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"
)

// ResolveSeed returns seed if it is not zero; otherwise the value of
// INSIDEOUT_SEED (decimal, or hexadecimal with 0x) if that is set;
// otherwise a random non-zero seed. An INSIDEOUT_SEED that is not a
// non-zero number is an error, never silently replaced by a random seed:
// whoever set it meant to replay a run.
func ResolveSeed(seed uint64) (uint64, error) {
	if seed != 0 {
		return seed, nil
	}
	if v := os.Getenv("INSIDEOUT_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 0, 64)
		if err != nil || s == 0 {
			return 0, fmt.Errorf("linearize: INSIDEOUT_SEED=%q: want a non-zero number, such as 0x2a", v)
		}
		return s, nil
	}
	return rand.Uint64() | 1, nil
}

// ReplayRound returns the round named by INSIDEOUT_ROUND, or -1 if it is
// not set; one that is not a round number is an error. Campaigns that run
// rounds of their own replay that one round, as Scenario.Test does.
func ReplayRound() (int, error) {
	v := os.Getenv("INSIDEOUT_ROUND")
	if v == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("linearize: INSIDEOUT_ROUND=%q: want a round number, 0 or more", v)
	}
	return n, nil
}

// BudgetFromEnv returns the time budget named by INSIDEOUT_DURATION (a Go
// duration, such as 30s or 10m), or 0 if it is not set. Set, it makes
// every Scenario run (and every campaign that runs its own rounds) run
// rounds for that long, whatever its Rounds and Duration say: a longer
// soak of the same tests, without editing them.
func BudgetFromEnv() (time.Duration, error) {
	v := os.Getenv("INSIDEOUT_DURATION")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("linearize: INSIDEOUT_DURATION=%q: want a positive duration, such as 30s or 10m", v)
	}
	return d, nil
}
