package linearize_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
)

// RunRounds runs the rounds in order with the seed it is given, counts
// each as its result says, lets progress see every round, and stops at the
// first failed round with that round's error, made after progress saw it.
func TestRunRoundsStopsAtFailure(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	t.Setenv("INSIDEOUT_ROUND", "")
	errRound3 := errors.New("round 3 failed")
	var seen []int
	var progressed []linearize.Summary
	seed, sum, err := linearize.RunRounds(t.Context(), 0x2a, 10, 0, func(s linearize.Summary) { progressed = append(progressed, s) },
		func(seed uint64, r int) linearize.RoundOutcome {
			if seed != 0x2a {
				t.Errorf("round %d ran with seed %#x, want 0x2a", r, seed)
			}
			seen = append(seen, r)
			res := linearize.RoundOutcome{Ops: 2}
			switch r {
			case 0:
				res.Hung, res.Panicked = true, true // a hang, not a panic
			case 1:
				res.Panicked = true
			case 2:
				res.Illegal, res.Unknown = 2, 1
			case 3:
				res.Fail = func() error {
					if len(progressed) != 4 {
						t.Errorf("the failure was made after %d progress calls, want 4: after progress saw its round", len(progressed))
					}
					return errRound3
				}
			}
			return res
		})
	if seed != 0x2a || err != errRound3 {
		t.Fatalf("RunRounds returned seed %#x, error %v; want 0x2a and round 3's error", seed, err)
	}
	if len(seen) != 4 || seen[0] != 0 || seen[3] != 3 {
		t.Errorf("ran rounds %v, want 0 to 3 and no further", seen)
	}
	if len(progressed) == 0 || sum != progressed[len(progressed)-1] {
		t.Fatalf("summary %+v, progress calls %+v: want the summary the last one saw", sum, progressed)
	}
	sum.Elapsed = 0
	if want := (linearize.Summary{Rounds: 4, Ops: 8, Hangs: 1, Panics: 1, Histories: 2, Illegal: 2, Unknown: 1}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	for i, s := range progressed {
		if s.Rounds != i+1 {
			t.Errorf("progress call %d saw %d rounds, want %d", i, s.Rounds, i+1)
		}
	}
}

// A zero round count runs 100 rounds; with INSIDEOUT_ROUND set, every one
// of them is that round.
func TestRunRoundsReplay(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		env  string
		want func(i int) int // the round the i-th run is
	}{
		{"", func(i int) int { return i }},
		{"7", func(int) int { return 7 }},
	} {
		t.Setenv("INSIDEOUT_ROUND", tc.env)
		var seen []int
		_, sum, err := linearize.RunRounds(t.Context(), 1, 0, 0, nil, func(_ uint64, r int) linearize.RoundOutcome {
			seen = append(seen, r)
			return linearize.RoundOutcome{}
		})
		if err != nil || sum.Rounds != 100 || len(seen) != 100 {
			t.Fatalf("INSIDEOUT_ROUND=%q: %d rounds (summary: %d), error %v; want 100 and no error", tc.env, len(seen), sum.Rounds, err)
		}
		for i, r := range seen {
			if r != tc.want(i) {
				t.Fatalf("INSIDEOUT_ROUND=%q: run %d was round %d, want %d", tc.env, i, r, tc.want(i))
			}
		}
	}
}

// A negative round count runs until the context ends, which is no failure;
// the seed comes from INSIDEOUT_SEED when none is given, and a bad
// INSIDEOUT_SEED or INSIDEOUT_ROUND runs nothing.
func TestRunRoundsUntilDone(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	t.Setenv("INSIDEOUT_ROUND", "")
	t.Setenv("INSIDEOUT_SEED", "0x99")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n := 0
	seed, sum, err := linearize.RunRounds(ctx, 0, -1, 0, nil, func(uint64, int) linearize.RoundOutcome {
		switch n++; {
		case n == 500:
			cancel()
		case n > 500:
			t.Fatal("a round ran after the context ended")
		}
		return linearize.RoundOutcome{}
	})
	if seed != 0x99 || err != nil || sum.Rounds != 500 || n != 500 {
		t.Errorf("seed %#x, %d rounds (summary: %d), error %v; want 0x99, 500 and no error", seed, n, sum.Rounds, err)
	}

	for _, env := range [][2]string{{"INSIDEOUT_SEED", "zero"}, {"INSIDEOUT_ROUND", "-1"}} {
		t.Setenv("INSIDEOUT_SEED", "")
		t.Setenv("INSIDEOUT_ROUND", "")
		t.Setenv(env[0], env[1])
		_, sum, err := linearize.RunRounds(t.Context(), 0, 5, 0, nil, func(uint64, int) linearize.RoundOutcome {
			t.Errorf("%s=%s: a round ran", env[0], env[1])
			return linearize.RoundOutcome{}
		})
		if err == nil || sum.Rounds != 0 {
			t.Errorf("%s=%s: %d rounds, error %v; want none and an error", env[0], env[1], sum.Rounds, err)
		}
	}
}

// INSIDEOUT_DURATION runs rounds for that long, whatever the count; a
// duration that is not one is an error before any round. It would catch a
// campaign that ignored the soak knob the scenarios obey.
func TestRunRoundsBudget(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	t.Setenv("INSIDEOUT_ROUND", "")
	t.Setenv("INSIDEOUT_DURATION", "50ms")
	_, sum, err := linearize.RunRounds(t.Context(), 1, 3, 0, nil, func(uint64, int) linearize.RoundOutcome {
		time.Sleep(time.Millisecond)
		return linearize.RoundOutcome{}
	})
	if err != nil || sum.Rounds <= 3 || sum.Elapsed < 50*time.Millisecond {
		t.Fatalf("INSIDEOUT_DURATION=50ms over 3 rounds: %d rounds in %v, err %v", sum.Rounds, sum.Elapsed, err)
	}
	t.Setenv("INSIDEOUT_DURATION", "a while")
	if _, sum, err = linearize.RunRounds(t.Context(), 1, 3, 0, nil, func(uint64, int) linearize.RoundOutcome { return linearize.RoundOutcome{} }); err == nil || sum.Rounds != 0 {
		t.Fatalf("INSIDEOUT_DURATION=a while: %d rounds, err %v", sum.Rounds, err)
	}
}
