package rt_test

import (
	"errors"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// A halter halts a runtime that outlives its timeout: the runtime stops
// with no error, keeping its continuation, no sooner than the timeout,
// and the halter reports the halt, also to Halted called all along. The
// bugs this catches: a halter that never fires, or fires early, and one
// whose outcome is not written and read atomically (under -race).
func TestHalterHalts(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const d = 10 * time.Millisecond
	r, err := rt.Spawn(waitable(make(chan struct{})), rt.SkipPolling())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h := r.HaltAfter(d)
	looked := make(chan bool)
	go func() { // Halted beside the halt, for -race: its answer is the halter's state, read atomically
		for {
			select {
			case <-h.Done():
				looked <- h.Halted()
				return
			default:
				if h.Halted() {
					looked <- true
					return
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	if err := r.Join(); err != nil {
		t.Fatalf("Join: %v, want nil after a halt", err)
	}
	if took := time.Since(start); took < d {
		t.Fatalf("halted after %v, before the timeout %v", took, d)
	}
	<-h.Done()
	if !<-looked {
		t.Fatal("Halted, called while the halter fired, never reported the halt")
	}
	if !h.Halted() || !h.Stop() || r.Flags()&rt.FlagHalted == 0 {
		t.Fatalf("Halted %v, Stop %v, flags %v: want a halt reported and done", h.Halted(), h.Stop(), r.Flags())
	}
	if len(r.Leftovers()) != 1 {
		t.Fatalf("the halted runtime's continuation is not among its leftovers: %v", r.Leftovers())
	}
}

// A halter stopped before its timeout never halts: Stop reports false and
// the runtime goes on to finish by itself. The bug this catches: a Stop
// that does not stop.
func TestHalterStop(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	finish := make(chan struct{})
	r, err := rt.Spawn(waitable(finish), rt.SkipPolling())
	if err != nil {
		t.Fatal(err)
	}
	h := r.HaltAfter(200 * time.Millisecond)
	if h.Stop() || h.Halted() {
		t.Fatal("a halter stopped at once reports a halt")
	}
	time.Sleep(250 * time.Millisecond) // past the timeout it had
	if r.Flags()&rt.FlagHalted != 0 {
		t.Fatal("a stopped halter halted its runtime")
	}
	close(finish)
	if err := r.Join(); err != nil || r.Flags()&rt.FlagHalted != 0 {
		t.Fatalf("Join: %v, flags %v: want a runtime that finished by itself", err, r.Flags())
	}
}

// A halter whose runtime finishes first ends with it, holding no
// goroutine and no timer (goleak, in TestMain, sees any left). The bug
// this catches: a halter that waits for its timeout whatever happens
// (badTimerOnly).
func TestHalterStopsItself(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if err := checkStopsItself(realHalter, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := checkStopsItself(badTimerOnly, 200*time.Millisecond); !errors.Is(err, errNotStopped) {
		t.Fatalf("the check passed a halter that outlives its runtime: %v", err)
	}
}

// Free-running rounds of the halter's races (halterRound), under -race in
// CI: the timeout against Stop, and against the runtime finishing by
// itself, with a timeout of 0 to 50µs. The controlled scheduler's test
// (halter_sched_test.go) shows the known-bads caught.
func TestHalterRaces(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for i := range 400 {
		d := time.Duration(i%6) * 10 * time.Microsecond
		if err := halterRound(realHalter, d, i%2 == 0, 0); err != nil {
			t.Fatalf("round %d (timeout %v): %v", i, d, err)
		}
	}
}
