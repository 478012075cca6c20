package fuzz

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// FuzzRuntime's sequential replay: a decoded program run step by step on
// a runtime that counts its steps (rtSUT; over impl/rt, rtCounted),
// beside the reference model.RuntimeRef, waiting after each step until
// the runtime settles where the reference has and checking that no step
// runs while it is stopped, in byte order and client by client
// (checkRuntimeSequential). The input language is in
// runtime_decode_test.go, the target in runtime_test.go.

// rtSUT is what the sequential replay drives: a runtime running a
// counting continuation (rttest.Counted), with a channel closed once it
// is Dead, so that a Join that would sleep for good is reported instead of
// hanging the test.
type rtSUT interface {
	rttest.Counted
	Done() <-chan struct{}
}

// rtCounted is rtSUT and rttest.Counted over impl/rt: rt.Spawn of
// rttest.Counting, remembering the continuation spawned so that Eject
// can be checked to hand over that very one.
type rtCounted struct {
	*rt.Runtime
	c     *cont.C
	steps *atomic.Int64
}

func newRtCounted() *rtCounted {
	n := new(atomic.Int64)
	c := rttest.Counting(n)
	r, err := rt.Spawn(c)
	if err != nil {
		panic(fmt.Sprintf("fuzz: spawning a runtime: %v", err))
	}
	return &rtCounted{Runtime: r, c: c, steps: n}
}

// Eject reports Eject's error, or an error of its own if what Eject
// handed out is wrong.
func (r *rtCounted) Eject() error {
	c, err := r.Runtime.Eject()
	switch {
	case err == nil && c != r.c:
		// The bug: Eject handing out something other than the
		// continuation the runtime ran (nil, or a copy), which the caller
		// could then not resume where it stopped.
		return fmt.Errorf("Eject returned continuation %p, not the one spawned (%p)", c, r.c)
	case err != nil && c != nil:
		// The bug: a failed Eject that hands out the continuation anyway,
		// leaving two owners of it.
		return fmt.Errorf("Eject failed (%w) yet returned a continuation", err)
	}
	return err
}

func (r *rtCounted) Steps() int64 { return r.steps.Load() }

// rtErrName renders an error as the spec error it stands for.
func rtErrName(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, spec.ErrCanceled):
		return "ErrCanceled"
	case errors.Is(err, spec.ErrTornDown):
		return "ErrTornDown"
	case errors.Is(err, spec.ErrNoContinuation):
		return "ErrNoContinuation"
	}
	return fmt.Sprintf("error %q", err)
}

// poll calls cond until it reports true or limit has passed, and reports
// whether it did. It sleeps between calls, little at first.
func poll(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for pause := time.Microsecond; ; pause = min(2*pause, time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(pause)
	}
}

// rtReplay runs a program step by step on a runtime and on the reference
// model.RuntimeRef side by side.
type rtReplay struct {
	r     rtSUT
	ref   model.RuntimeRef
	limit time.Duration // rtSettleLimit, shorter in the self-check
	log   []string      // what each step did, for the failure message

	pinned   bool  // the runtime is stopped (settled, not stepping)...
	pinnedAt int64 // ...and its counter read this then
	last     int64 // the counter's last value read
}

// dead waits, up to the limit, until the runtime is Dead.
func (p *rtReplay) dead() bool {
	timer := time.NewTimer(p.limit)
	defer timer.Stop()
	select {
	case <-p.r.Done():
		return true
	case <-timer.C:
		return false
	}
}

// settle waits until the runtime's flags equal the reference's; it
// reports the difference if they never do.
func (p *rtReplay) settle() error {
	want := p.ref.Flags()
	if poll(p.limit, func() bool { return p.r.Flags() == want }) {
		return nil
	}
	// The bug: a runtime that never gets where the rules put it: a frozen
	// runtime that keeps Running (a step that never returns, a freeze
	// never seen), a halted or canceled one that never tears down (a
	// frozen runtime not woken by Halt), a thawed one that stays asleep (a
	// lost wake-up), a flag left on or off after teardown.
	return fmt.Errorf("Flags = %v, want %v (still after %v)", p.r.Flags(), want, p.limit)
}

// steps reads the counter, checking it against what the reference allows.
func (p *rtReplay) steps(when string) (int64, error) {
	n := p.r.Steps()
	switch {
	case n < p.last:
		// The bug: a counter that goes backwards: a continuation run from
		// a stale copy of its state.
		return n, fmt.Errorf("%s: the step counter went back from %d to %d", when, p.last, n)
	case p.pinned && n != p.pinnedAt:
		// The bug: a step run while the runtime was stopped (frozen and
		// asleep, ejected, or torn down): a freeze that lets a step
		// through, an Interrupt, Eject or Halt that wakes a frozen runtime
		// to run one more step, a runtime that runs after teardown.
		return n, fmt.Errorf("%s: the step counter moved from %d to %d while the runtime was stopped (%v)", when, p.pinnedAt, n, p.ref.Flags())
	}
	p.last = n
	return n, nil
}

// pin reads the counter once the runtime has settled, checking it, and
// notes whether the runtime is stopped, so that the counter must stay
// where it is now.
func (p *rtReplay) pin(when string) error {
	n, err := p.steps(when)
	if err != nil {
		return err
	}
	p.pinned, p.pinnedAt = !p.ref.Stepping(), n
	return nil
}

// do runs one operation on both. It returns what the runtime returned and
// what the reference says it must; skip means the call would sleep (a Join
// before the reference is Dead), so it was not made.
func (p *rtReplay) do(k rtKind) (got, want string, skip bool, err error) {
	r, ref := p.r, &p.ref
	switch k {
	case rtHalt:
		got, want = fmt.Sprint(r.Halt()), fmt.Sprint(ref.Halt())
	case rtFreeze:
		got, want = fmt.Sprint(r.Freeze()), fmt.Sprint(ref.Freeze())
	case rtThaw:
		got, want = fmt.Sprint(r.Thaw()), fmt.Sprint(ref.Thaw())
	case rtInterrupt:
		r.Interrupt()
		got, want = "done", "done"
	case rtCancel:
		got, want = fmt.Sprint(r.Cancel()), fmt.Sprint(ref.Cancel())
	case rtEject:
		// Eject of a running runtime waits for the step in progress to
		// return: it must come back once the runtime reaches its
		// cooperative point.
		done := make(chan error, 1)
		go func() { done <- r.Eject() }()
		timer := time.NewTimer(p.limit)
		defer timer.Stop()
		select {
		case e := <-done:
			got = rtErrName(e)
		case <-timer.C:
			// The bug: an Eject that waits for a hand-over that never
			// comes. Halting the runtime releases it.
			r.Halt()
			select {
			case <-done:
				return "", "", false, errors.New("Eject did not return (released by Halt)")
			case <-time.After(p.limit):
				return "", "", false, errors.New("Eject did not return, not even after a Halt")
			}
		}
		want = rtErrName(ref.Eject())
	case rtFlags:
		got, want = r.Flags().String(), ref.Flags().String()
	case rtSteps:
		n, e := p.steps("steps()")
		got, want, err = fmt.Sprint(n), fmt.Sprint(n), e
	case rtJoin:
		if !ref.Dead() {
			return "", "", true, nil
		}
		if !p.dead() {
			return "", "", false, fmt.Errorf("the runtime is not Dead %v after the reference tore down: Join would sleep", p.limit)
		}
		got, want = rtErrName(r.Join()), rtErrName(ref.Join())
	default:
		panic(fmt.Sprintf("fuzz: unknown runtime step kind %d", k))
	}
	return got, want, false, err
}

// replayRuntime runs steps one at a time on r, a fresh runtime, and on
// model.RuntimeRef. After each step it waits until the runtime has settled
// where the reference has (its flags equal), and checks that the step
// counter did not move while the reference says no step can run; every
// result must match the reference's. At the end it halts and joins the
// runtime, whatever happened. limit bounds every wait.
func replayRuntime(r rtSUT, steps []rtStep, limit time.Duration) (err error) {
	p := &rtReplay{r: r, limit: limit}
	defer func() {
		// Never leave the runtime behind: halt it and wait for it.
		r.Halt()
		if !p.dead() {
			err = errors.Join(err, fmt.Errorf("the runtime is not Dead %v after the final Halt (Flags = %v)", limit, r.Flags()))
		}
	}()
	fail := func(what string, err error) error {
		return fmt.Errorf("%s: %w\n  steps so far:\n%s", what, err, strings.Join(p.log, "\n"))
	}
	// The bug: a runtime that Spawn returns before it has booted, or that
	// boots in the wrong state (not Running, Polling and Cancels).
	if err := p.settle(); err != nil {
		return fail("new runtime", err)
	}
	if err := p.pin("new runtime"); err != nil {
		return fail("new runtime", err)
	}
	for i, st := range steps {
		where := fmt.Sprintf("step %d (client %d %s)", i, st.client, st)
		if st.let && p.ref.Stepping() {
			before := r.Steps()
			// The bug: a runtime that shows Running (and the reference
			// says it runs) but runs no step: a thaw that did not wake
			// it, a continuation lost.
			if !poll(limit, func() bool { return r.Steps() > before }) {
				return fail(where, fmt.Errorf("the step counter stayed at %d for %v though the runtime is %v", before, limit, r.Flags()))
			}
		}
		if _, err := p.steps("before the operation"); err != nil {
			return fail(where, err)
		}
		got, want, skip, err := p.do(st.kind)
		line := fmt.Sprintf("    %2d client %d: %s", i, st.client, st)
		if skip {
			p.log = append(p.log, line+" (skipped: would sleep)")
			continue
		}
		p.log = append(p.log, fmt.Sprintf("%s → %s", line, got))
		// The bug: any result against spec.Runtime's rules: a control
		// operation that misreports whether it changed the state (Freeze
		// accepted after Halt or Eject, Thaw of a runtime not frozen,
		// Cancel of one torn down), an Eject that succeeds, fails or
		// reports the wrong failure, Flags wrong at a settled instant, a
		// Join with the wrong error (nil after Cancel, ErrCanceled after
		// Halt).
		if err != nil {
			return fail(where, err)
		}
		if got != want {
			return fail(where, fmt.Errorf("got %s, want %s", got, want))
		}
		if err := p.settle(); err != nil {
			return fail("after "+where, err)
		}
		// Stopped before and still stopped (an Interrupt, Halt, Cancel or
		// Eject of a frozen runtime, a refused Freeze): the counter must
		// not have moved across the operation. Thawed: it may move.
		p.pinned = p.pinned && !p.ref.Stepping()
		if err := p.pin("after the operation"); err != nil {
			return fail("after "+where, err)
		}
	}
	// The final Halt, on both: the reference says whether it changes
	// anything, and with what error the runtime must end.
	got, want := fmt.Sprint(r.Halt()), fmt.Sprint(p.ref.Halt())
	p.log = append(p.log, "    final halt() → "+got)
	if got != want {
		return fail("final halt", fmt.Errorf("got %s, want %s", got, want))
	}
	if err := p.settle(); err != nil {
		return fail("after the final halt", err)
	}
	if err := p.pin("after the final halt"); err != nil {
		return fail("after the final halt", err)
	}
	if !p.dead() {
		return fail("final join", fmt.Errorf("the runtime shows %v but is not Dead after %v", r.Flags(), limit))
	}
	if got, want := rtErrName(r.Join()), rtErrName(p.ref.Join()); got != want {
		return fail("final join", fmt.Errorf("got %s, want %s", got, want))
	}
	// The bug: a runtime that moves after Join returned.
	if _, err := p.steps("after Join"); err != nil {
		return fail("after the final join", err)
	}
	return nil
}

// checkRuntimeSequential replays in on fresh runtimes from newRuntime in
// two orders: the bytes' order and client by client.
func checkRuntimeSequential(newRuntime func() rtSUT, in rtInput, limit time.Duration) error {
	if err := replayRuntime(newRuntime(), in.steps, limit); err != nil {
		return fmt.Errorf("sequential replay in byte order: %w", err)
	}
	if err := replayRuntime(newRuntime(), in.byClient(), limit); err != nil {
		return fmt.Errorf("sequential replay client by client: %w", err)
	}
	return nil
}
