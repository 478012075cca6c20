package eventqtest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
)

// sigRound is a round whose first client registers for SIGUSR1 and for
// both signals, sends each signal twice and polls, while a second
// registers for SIGUSR2, cancels the registration made last (its own, or
// one of the first client's) and sends SIGUSR2.
var sigRound = eventqtest.Round{Clients: [][]eventqtest.Step{
	{{Kind: eventqtest.SignalStep, Arg: 0}, {Kind: eventqtest.SignalStep, Arg: 2}, {Kind: eventqtest.KillStep, Arg: 0},
		{Kind: eventqtest.KillStep, Arg: 1}, {Kind: eventqtest.PollStep}, {Kind: eventqtest.KillStep, Arg: 0},
		{Kind: eventqtest.KillStep, Arg: 1}, {Kind: eventqtest.PollStep}},
	{{Kind: eventqtest.SignalStep, Arg: 1}, {Kind: eventqtest.CancelStep, Arg: 0}, {Kind: eventqtest.KillStep, Arg: 1}},
}}

// The campaign delivers real signals: a round of signal steps on the real
// queue passes, its history holds the kills (deliveries) and firings that
// handed signals out, and every registration that was live at a kill
// handed its signal out. The bugs: a campaign that registers signals and
// never sends one (no delivery in the history), or whose firings carry no
// signals to the model (none handed out), or that fails a correct queue
// (a delivery to a cancelled registration demanded, a kill's arrival
// bounded by its return).
func TestSignalRoundsDeliver(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for range 20 {
		res := eventqtest.RunRound(sigRound, eventqtest.Options{})
		if res.Failed() {
			t.Fatalf("verdict %v, hung %v, panic %q\n%s\n%s", res.Verdict, res.Hung, res.Panic, strings.Join(res.Problems, "\n"), sigRound)
		}
		kills, handed := 0, 0
		for _, op := range res.History {
			switch in := op.Input.(model.EventQInput); {
			case in.Op == model.EqDeliver:
				kills++
			case in.Op == model.EqFire:
				handed += len(in.Signals)
			}
		}
		if kills != 5 || handed < 3 {
			t.Fatalf("%d kills recorded (want 5), %d signals handed out (want at least one for each registration and signal)", kills, handed)
		}
	}
	if !sigRound.HasSignals() || (eventqtest.Round{Clients: [][]eventqtest.Step{{{Kind: eventqtest.PollStep}}}}).HasSignals() {
		t.Fatal("HasSignals is wrong")
	}
}

// Free runs of the campaign add signal steps to about half their rounds,
// and a seed makes the same program of the other steps with or without
// them (their choices are a stream of their own).
func TestAddSignals(t *testing.T) {
	with := 0
	for round := range 100 {
		r := eventqtest.GenRound(linearize.NewGen(7, uint64(round)).Intn, 3, 8)
		s := eventqtest.AddSignals(r, linearize.NewGen(8, uint64(round)).Intn)
		if s.HasSignals() {
			with++
		}
		for c := range r.Clients {
			var rest []eventqtest.Step
			for _, st := range s.Clients[c] {
				if st.Kind != eventqtest.SignalStep && st.Kind != eventqtest.KillStep {
					rest = append(rest, st)
				}
			}
			if len(rest) != len(r.Clients[c]) {
				t.Fatalf("round %d, client %d: %v, then %v", round, c, r.Clients[c], s.Clients[c])
			}
		}
	}
	if with < 30 || with > 70 {
		t.Fatalf("%d rounds of 100 with signal steps", with)
	}
}

// The campaign catches the known-bad signal queues in free rounds: one
// that loses deliveries (the audit: a lost signal) and one that hands a
// signal out more often than it was sent (the history: Illegal). The
// bugs: the liveness check of the audit gone, or firings recorded without
// their signals.
func TestSignalKnownBadsCaught(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		bug  eventqtest.Bug
		want func(*linearize.Failure) bool
	}{
		{eventqtest.SignalLost, func(f *linearize.Failure) bool {
			return strings.Contains(strings.Join(f.Problems, "\n"), "a lost signal")
		}},
		{eventqtest.SignalTwice, func(f *linearize.Failure) bool { return f.Verdict == linearize.Illegal }},
	} {
		c := eventqtest.Check{Name: "eventq-" + tc.bug.String(), Seed: 0x5167, Rounds: 200, ReportDir: t.TempDir(),
			New: func() eventqtest.Queue { return eventqtest.BadQueue(tc.bug) }}
		begin := time.Now()
		_, sum, err := c.Run(t.Context(), nil)
		var f *linearize.Failure
		if !errors.As(err, &f) {
			t.Errorf("%v: passed %d rounds: %v", tc.bug, sum.Rounds, err)
			continue
		}
		if !tc.want(f) {
			t.Errorf("%v: caught, but not as it should be:\n%v", tc.bug, err)
			continue
		}
		t.Logf("%v: caught in round %d (%v, %v)", tc.bug, f.Round, f.Verdict, time.Since(begin))
		// Without signal steps the campaign cannot see it.
		c.NoSignals, c.Rounds = true, 50
		if _, _, err := c.Run(t.Context(), nil); err != nil {
			t.Errorf("%v without signal steps: %v", tc.bug, err)
		}
	}
}
