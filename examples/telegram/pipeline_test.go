package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"go.uber.org/goleak"
)

// startWithin starts p and returns what waitWithin returns.
func startWithin(t *testing.T, p pipeline) error {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	return waitWithin(t, p)
}

// waitWithin returns p.wait's error, failing t if the pipeline does not
// end within deadline.
func waitWithin(t *testing.T, p pipeline) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(deadline):
		t.Fatalf("the pipeline did not end within %v", deadline)
		return nil
	}
}

var errInjected = errors.New("injected failure (simulated)")

// A panic in a step of a middle stage halts the whole pipeline through the
// links, in both directions: every runtime ends Dead, the stage that failed
// with rt.ErrPanicked, the others, which were all still at work, with
// rt.ErrLinkedFailure wrapping it; wait reports the panic under the
// failed runtime's name; what was written is a prefix of the output; and
// nothing hangs or is left behind.
func TestStageFailureHaltsPipeline(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer goleak.VerifyNone(t)
	const width = 72
	text := bigText(256 << 10) // far more than the mailboxes hold
	want := reference(text, width)
	for _, failing := range []int{1, 2} { // the decomposer, the recomposer
		for _, after := range []int{0, 1, 100} { // steps before the panic
			for _, capacity := range []int{1, 4} {
				var out strings.Builder
				p := newPipeline(strings.NewReader(text), &out, width, capacity)
				// The stage's step, wrapped: the continuation's step is
				// then the wrapper, and the c.Next() that the stage's step
				// returns to go on is the wrapper too.
				s := p[failing]
				step, steps := s.step, 0
				s.step = func(ctx context.Context, c *cont.C) cont.Step {
					if steps == after {
						panic(errInjected)
					}
					steps++
					return step(ctx, c)
				}
				err := startWithin(t, p)

				what := fmt.Sprintf("the %s failing after %d steps, capacity %d", s.name, after, capacity)
				if !errors.Is(err, rt.ErrPanicked) || !strings.Contains(err.Error(), "telegram-"+s.name+": ") ||
					!strings.Contains(err.Error(), errInjected.Error()) {
					t.Fatalf("%s: wait returned %v, want the panic of telegram-%s", what, err, s.name)
				}
				for i, s := range p {
					if f := s.r.Flags(); f&rt.FlagDead == 0 || f&rt.FlagHalted == 0 {
						t.Errorf("%s: the %s's runtime is %v, want it Halted and Dead", what, s.name, f)
					}
					switch err := s.r.Err(); {
					case s.finished:
						t.Errorf("%s: the %s finished, want it halted", what, s.name)
					case i == failing && !errors.Is(err, rt.ErrPanicked):
						t.Errorf("%s: the %s's error is %v, want rt.ErrPanicked", what, s.name, err)
					case i != failing && (!errors.Is(err, rt.ErrLinkedFailure) || !errors.Is(err, rt.ErrPanicked)):
						t.Errorf("%s: the %s's error is %v, want rt.ErrLinkedFailure wrapping the panic", what, s.name, err)
					}
				}
				if !strings.HasPrefix(want, out.String()) {
					t.Errorf("%s: wrote %q, not a prefix of the output", what, out.String())
				}
			}
		}
	}
}

// Every stage yields at its cooperative point when its runtime ends the
// step's context, and picks up where it left off: with the stages'
// runtimes interrupted, frozen and thawed at random while they run, the
// output is still exactly the reference's.
func TestStagesYieldToTheirRuntimes(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer goleak.VerifyNone(t)
	text := bigText(64 << 10)
	for _, capacity := range []int{1, 4} {
		for _, width := range []int{1, 30, 72} {
			var out strings.Builder
			p := newPipeline(strings.NewReader(text), &out, width, capacity)
			if err := p.start(); err != nil {
				t.Fatalf("start: %v", err)
			}
			done := make(chan error, 1)
			go func() { done <- p.wait() }()
			var err error
			var interrupts, freezes int
		disturb:
			for start := time.Now(); ; {
				select {
				case err = <-done:
					break disturb
				default:
				}
				if time.Since(start) > deadline {
					t.Fatalf("the pipeline did not end within %v", deadline)
				}
				r := p[rand.IntN(len(p))].r
				if rand.IntN(2) == 0 {
					r.Interrupt()
					interrupts++
				} else if r.Freeze() {
					freezes++
					time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond)
					r.Thaw()
				}
				time.Sleep(time.Duration(rand.IntN(20)) * time.Microsecond)
			}
			if err != nil {
				t.Fatalf("capacity %d, width %d: wait: %v", capacity, width, err)
			}
			if out.String() != reference(text, width) {
				t.Errorf("capacity %d, width %d: with %d interrupts and %d freezes, the output differs from the reference", capacity, width, interrupts, freezes)
			}
			for _, s := range p {
				if !s.finished || s.r.Flags()&rt.FlagDead == 0 {
					t.Errorf("capacity %d, width %d: the %s did not finish (%v)", capacity, width, s.name, s.r.Flags())
				}
			}
		}
	}
}

// Halting one stage's runtime from outside, as a SIGTERM routed to it
// would, halts the others through the links too (a link halts the other
// runtime at any teardown); since the stages did not finish, wait reports
// them halted rather than returning nil for a cut-off output.
func TestHaltStopsPipeline(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer goleak.VerifyNone(t)
	out := &gatedWriter{entered: make(chan struct{}), open: make(chan struct{})}
	p := newPipeline(strings.NewReader(bigText(256<<10)), out, 72, 4)
	if err := p.start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	<-out.entered // the writer is busy in its first Write: nobody has finished
	p[0].r.Halt()
	close(out.open)
	err := waitWithin(t, p)
	for _, s := range p {
		if !strings.Contains(fmt.Sprint(err), "telegram-"+s.name+": halted before it finished") {
			t.Errorf("wait returned %v, want it to report telegram-%s halted", err, s.name)
		}
		if f := s.r.Flags(); f&rt.FlagDead == 0 || f&rt.FlagHalted == 0 {
			t.Errorf("the %s's runtime is %v, want it Halted and Dead", s.name, f)
		}
	}
}
