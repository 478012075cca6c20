package fuzz

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// FuzzEventQueue: the whole check of one input (the sequential replay,
// then one concurrent round of the campaign), the seeds, the target, and
// its self-checks. The input language and its decoders are in
// eventq_decode_test.go, the sequential replay in eventq_replay_test.go
// and eventq_firings_test.go.

// checkEventQ checks one input: sequentially, beside the reference; then
// as one concurrent round of the campaign.
func checkEventQ(newQueue func() eqQueue, data []byte) error {
	if err := checkEventQSequential(newQueue, decodeEventQ(data)); err != nil {
		return fmt.Errorf("sequential: %w", err)
	}
	r := decodeEventQRound(data)
	seed := chaosSeed(data)
	res := eventqtest.RunRound(r, eventqtest.Options{
		New:       func() eventqtest.Queue { return newQueue() },
		Deadline:  10 * time.Second,
		ChaosSeed: seed, KernelSeed: seed,
	})
	if res.Failed() {
		return fmt.Errorf("concurrent: verdict %v, hung %v, panic %q\n  %s\n%s", res.Verdict, res.Hung, res.Panic, strings.Join(res.Problems, "\n  "), r)
	}
	return nil
}

// eqSeeds are inputs of the seed corpus that the self-checks below use
// too: each reaches what one broken queue gets wrong.
var eqSeeds = map[string][]byte{
	// A one-shot on a readable pipe, polled twice, cancelled: it fires
	// once, then Cancel reports false. A Wake first.
	"one-shot": {eqByte(eqOpWake, 0), eqByte(eqOpWrite, 0), eqByte(0, 0), eqByte(eqOpPoll, 0), eqByte(eqOpPoll, 0), eqByte(eqOpCancel, 0)},
	// A level registration, read empty, handed back, written again: it
	// fires, is lent, fires again once handed back.
	"level-rearm": {eqByte(0, 1), eqByte(eqOpWrite, 0), eqByte(eqOpPoll, 0), eqByte(eqOpPoll, 0), eqByte(eqOpRearm, 0),
		eqByte(eqOpPoll, 0), eqByte(eqOpRead, 0), eqByte(eqOpRearm, 0), eqByte(eqOpPoll, 0), eqByte(eqOpWrite, 0), eqByte(eqOpPoll, 0)},
	// Registrations left armed for Close (an edge one, a level one on an
	// empty pipe, a one-shot and a periodic timer, a signal), then every
	// call on a closed queue.
	"close-armed": {eqByte(0, 2), eqByte(0, 4), eqByte(eqOpAfter, 7), eqByte(eqOpEvery, 4), eqByte(eqOpSignal, 2), eqByte(eqOpClose, 0),
		eqByte(eqOpCancel, 0), eqByte(eqOpRearm, 1), eqByte(eqOpPoll, 0), eqByte(eqOpWake, 0), eqByte(0, 1), eqByte(eqOpClose, 0)},
	// Bad input: bad event sets, bad fds, nil and registered continuations,
	// bad periods, no signal.
	"bad-input": {eqByte(eqOpRegisterBad, 0), eqByte(eqOpRegisterBad, 1), eqByte(eqOpRegisterBad, 3), eqByte(eqOpRegisterBad, 5),
		eqByte(eqOpRegisterNeg, 0), eqByte(eqOpRegisterNil, 1), eqByte(0, 2), eqByte(eqOpRegisterAgain, 1), eqByte(eqOpAfterAgain, 0),
		eqByte(eqOpEvery, 1), eqByte(eqOpEvery, 2), eqByte(eqOpSignal, 0), eqByte(eqOpSignal, 1), eqByte(eqOpCancel, 7), eqByte(eqOpRearm, 7),
		eqByte(eqOpCancel, 6)},
	// Our own fds closed under registrations: the duplicates keep them;
	// a closed number registered; a write end closed (HangUp).
	"close-ends": {eqByte(0, 1), eqByte(eqOpCloseEnd, 0), eqByte(eqOpRegisterShut, 0), eqByte(eqOpWrite, 0), eqByte(eqOpPoll, 0),
		eqByte(eqOpCloseEnd, 1), eqByte(eqOpRearmAll, 0), eqByte(eqOpPoll, 0), eqByte(eqOpRegisterShut, 1), eqByte(eqOpClose, 0)},
	// Timers: one-shots of every delay, a periodic one handed back.
	"timers": {eqByte(eqOpAfter, 0), eqByte(eqOpAfter, 1), eqByte(eqOpAfter, 2), eqByte(eqOpAfter, 6), eqByte(eqOpEvery, 3),
		eqByte(eqOpWait, 0), eqByte(eqOpWait, 0), eqByte(eqOpRearmAll, 0), eqByte(eqOpWait, 0), eqByte(eqOpCancel, 0), eqByte(eqOpWait, 0)},
	// Sockets: edge, level, one-shot NoPeer and exclusive registrations;
	// data both ways, a shutdown (NoPeer), a full buffer (Write not
	// ready), drained, everything handed back.
	"sockets": {eqByte(1, 1), eqByte(1, 3), eqByte(2, 1), eqByte(1, 2), eqByte(1, 0), eqByte(1, 7),
		eqByte(eqOpWrite, 2), eqByte(eqOpPoll, 0), eqByte(eqOpRearmAll, 0), eqByte(eqOpWrite, 3), eqByte(eqOpPoll, 0),
		eqByte(eqOpShutdown, 1), eqByte(eqOpPoll, 0), eqByte(eqOpRearmAll, 0), eqByte(eqOpFill, 3), eqByte(eqOpPoll, 0),
		eqByte(eqOpRead, 2), eqByte(eqOpRearmAll, 0), eqByte(eqOpPoll, 0), eqByte(eqOpRead, 3), eqByte(eqOpRearmAll, 0), eqByte(eqOpPoll, 0)},
	// Signals: registrations for SIGUSR1, for both and (cancelled) for
	// SIGUSR2; each sent, handed out, sent again while lent, handed back;
	// at the end every registration owes what it was sent since it last
	// handed that out.
	"signals": {eqByte(eqOpSignal, 2), eqByte(eqOpSignal, 4), eqByte(eqOpSignal, 3), eqByte(eqOpKill, 5), eqByte(eqOpPoll, 0),
		eqByte(eqOpKill, 6), eqByte(eqOpCancel, 0), eqByte(eqOpWait, 0), eqByte(eqOpKill, 7), eqByte(eqOpRearmAll, 0), eqByte(eqOpWait, 0),
		eqByte(eqOpWait, 0), eqByte(eqOpKill, 5)},
	// A full pipe: its write end's registrations wait for room.
	"fill-pipe": {eqByte(eqOpFill, 0), eqByte(0, 6), eqByte(2, 0), eqByte(eqOpPoll, 0), eqByte(eqOpRead, 0), eqByte(eqOpPoll, 0),
		eqByte(eqOpRearmAll, 0), eqByte(eqOpPoll, 0)},
}

func FuzzEventQueue(f *testing.F) {
	testdeadline.Guard(f, testdeadline.Default)
	f.Add([]byte{})
	for _, in := range eqSeeds {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkEventQ(newEqQueue, data); err != nil {
			t.Fatalf("input %q:\n%v", data, err)
		}
	})
}

// The checks of FuzzEventQueue must be able to fail. Each known-bad queue
// of eventqtest below wraps a real one and gets one rule wrong; the
// self-check requires each to be caught on the seeds.

// newBrokenEq makes eventqtest's known-bad queues with bug.
func newBrokenEq(bug eventqtest.Bug) func() eqQueue {
	return func() eqQueue { return eventqtest.BadQueue(bug).(eqQueue) }
}

func TestEventQueueChecksCatchBrokenQueues(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct {
		bug  eventqtest.Bug
		want string // in the failure
	}{
		{eventqtest.OneShotTwice, "cannot fire now"},  // the reference's Fire
		{eventqtest.CancelTrue, "Cancel("},            // Cancel's result
		{eventqtest.CloseLoses, "Close handed back"},  // Close's hand-back
		{eventqtest.DeafRearm, "yet not handed out"},  // a level registration's liveness
		{eventqtest.WrongEvents, "events"},            // a firing's conditions
		{eventqtest.WrongError, "want one of"},        // the documented errors
		{eventqtest.LeaksFd, "an fd leaked"},          // the fd count
		{eventqtest.LostWake, "the wake-up was lost"}, // Wake
		{eventqtest.SignalLost, "a lost signal"},      // a delivery's liveness
		{eventqtest.SignalTwice, "a signal not sent"}, // the reference's pending signals
	} {
		t.Run(c.bug.String(), func(t *testing.T) {
			t.Cleanup(eventqtest.CloseLeaked)
			for name, in := range eqSeeds {
				err := checkEventQSequential(newBrokenEq(c.bug), decodeEventQ(in))
				if err != nil && strings.Contains(err.Error(), c.want) {
					t.Logf("caught on %s: %.300s", name, err)
					return
				}
			}
			t.Fatalf("the checks passed a queue with bug %s on every seed", c.bug)
		})
	}
}

// The bug: a decoder that makes programs beyond the cap (so that one input
// no longer runs in milliseconds), that is not deterministic (so that a
// failing input does not replay), or that leaves out part of the table.
func TestDecodeEventQ(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	data := make([]byte, 400)
	for i := range data {
		data[i] = byte(i*37 + 11)
	}
	steps := decodeEventQ(data)
	if len(steps) != eqMaxSteps {
		t.Fatalf("%d steps from 400 bytes, want the cap %d", len(steps), eqMaxSteps)
	}
	if !slices.Equal(decodeEventQ(data), steps) {
		t.Fatal("one input, two programs")
	}
	seen := map[int]bool{}
	for b := range 256 {
		s := decodeEventQ([]byte{byte(b)})[0]
		if s.op < 0 || s.op >= eqOps || s.p < 0 || s.p > 7 || s.String() == "?" {
			t.Fatalf("byte %#x: step %+v out of the table", b, s)
		}
		seen[s.op] = true
	}
	if len(seen) != eqOps {
		t.Fatalf("%d of %d table entries reachable", len(seen), eqOps)
	}
	if r := decodeEventQRound(nil); len(r.Clients) != 1 || r.Ops() != 1 {
		t.Fatalf("empty input decoded to the round\n%s", r)
	}
	if a, b := decodeEventQRound(data).String(), decodeEventQRound(data).String(); a != b {
		t.Fatalf("one input, two rounds:\n%s\n%s", a, b)
	}
}
