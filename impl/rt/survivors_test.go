package rt_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// The rule: a runtime is safe for concurrent use from the moment another
// runtime can reach it, and a linked peer reaches it from the Link that
// Spawn makes (LinkTo) before the runtime boots: the peer's teardown
// halts it, and Halt wakes a runtime asleep in its event queue when it
// has Signals (signalWake reads r.sigs).
//
// The bug it catches: r.sigs written by the runtime's own goroutine while
// it boots (listen), after the Link: a peer that tears down in that window
// reads it in Halt's signalWake, unordered with the write, a data race
// that the race detector reports. A peer that finishes after a short,
// varying nap meets a runtime booting with Signals linked to it.
func TestPeerHaltsARuntimeBootingWithSignals(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for round := range 300 {
		nap := time.Duration(rand.IntN(200)) * time.Microsecond
		peer, err := rt.Spawn(cont.New(func(context.Context, *cont.C) cont.Step {
			time.Sleep(nap)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		r, err := rt.Spawn(finite(1_000_000), rt.LinkTo(peer), rt.Signals(syscall.SIGUSR2))
		switch {
		case errors.Is(err, spec.ErrTornDown):
		case err != nil:
			t.Fatalf("round %d: Spawn: %v", round, err)
		default:
			if err := joinWithin(t, r, func() string { return "the linked runtime was not halted by its peer's teardown" }); err != nil {
				t.Fatalf("round %d: Join: %v", round, err)
			}
		}
		peer.Join()
	}
}
