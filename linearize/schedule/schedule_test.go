package schedule_test

import (
	"math"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize/schedule"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Bad strategies are one clear error each; good ones read back.
func TestParse(t *testing.T) {
	for _, s := range []string{"random", "pct:3", "dfs:2", "pct:1", "dfs:0"} {
		st, err := schedule.Parse(s)
		if err != nil || st.String() != s {
			t.Errorf("%q: %v, %v", s, st, err)
		}
	}
	for _, s := range []string{"", "pcp", "pct:0", "pct:11", "dfs:-1", "dfs:x", "random:2"} {
		if _, err := schedule.Parse(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

// A token survives its encoding; a damaged one is an error, never a
// token with other decisions.
func TestTokenRoundTrip(t *testing.T) {
	tok := schedule.Token{Scenario: "mailbox-cap1", Seed: 0xdeadbeef, Round: 17, Clients: 3, Ops: 6,
		Strategy: "pct:3", Hash: 42, Choices: []seam.Choice{{N: 2, Picked: 1}, {N: 3, Picked: 0}, {N: 4, Picked: 3}}}
	back, err := schedule.ParseToken(tok.String())
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != tok.String() || back.Round != 17 || len(back.Choices) != 3 || back.Choices[2] != tok.Choices[2] {
		t.Fatalf("got %+v", back)
	}
	s := tok.String()
	for _, bad := range []string{"", "io2.abc", "io1.!!!", s[:len(s)/2], "io1.AAAA"} {
		if _, err := schedule.ParseToken(bad); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// PCT's bound is 1/(n*k^(d-1)).
func TestBound(t *testing.T) {
	if got := schedule.Bound(3, 10, 3); math.Abs(got-1.0/300) > 1e-12 {
		t.Fatalf("Bound(3, 10, 3) = %v", got)
	}
}

// DFS over a fixed tree of decisions visits every schedule within the
// bound, prunes exactly those over it, and bounds iteratively: every
// schedule of p preemptions runs before any of p+1 (the bug this catches:
// a DFS that reaches one-preemption schedules only after thousands of
// two), and the lower bounds' schedules run again under the higher ones.
func TestDFSCountsSchedules(t *testing.T) {
	// Three decisions, each between 2 goroutines where option 1 preempts:
	// with at most 0 preemptions one schedule, 1: four, 2: seven.
	distinct, runs := []int{1, 4, 7}, []int{1, 1 + 4, 1 + 4 + 7}
	for bound := range distinct {
		ex := schedule.DFS{Preemptions: bound}.Explore(0, 0)
		seen := map[[3]int]bool{}
		n, last := 0, 0
		var prev *seam.Result
		for c := ex.Next(nil); c != nil; c = ex.Next(prev) {
			var picks [3]int
			for i := range 3 {
				picks[i] = c.Choose(&seam.Decision{Choice: i, Current: 0, Runnable: []int{0, 1}})
			}
			if p := picks[0] + picks[1] + picks[2]; p < last && !seen[picks] {
				t.Errorf("bound %d: a new schedule of %d preemptions after one of %d", bound, p, last)
			} else if !seen[picks] {
				last = p
			}
			seen[picks] = true
			n++
			prev = &seam.Result{}
		}
		if len(seen) != distinct[bound] || n != runs[bound] || !schedule.Exhausted(ex) || schedule.Runs(ex) != n {
			t.Errorf("bound %d: %d schedules, %d distinct (want %d, %d), exhausted %v", bound, n, len(seen), runs[bound], distinct[bound], schedule.Exhausted(ex))
		}
	}
}
