package fuzz

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// The runtime's input format (see doc.go): byte 0 picks the number of
// clients, and every further byte, up to rtMaxSteps, one step: its low
// four bits an entry of rtTable, bits 4 and 5 whether the runtime is first
// let run (see rtStep.let), its top two bits the client.
const (
	rtMaxClients = 4
	// rtMaxSteps caps the sequential program; bytes past it are ignored.
	rtMaxSteps = 24
	// rtMaxPerClient caps each client's part of the concurrent program, so
	// that its history stays small enough for porcupine to decide in
	// milliseconds (the runtime model is nondeterministic: teardown may
	// happen at any instant once it is due).
	rtMaxPerClient = 6
	// rtSettleLimit is how long the sequential replay waits for the
	// runtime to settle where the reference says it must (asleep once
	// frozen, Dead once halted, running once thawed), for its counter to
	// move while it runs, and for Join to return once it is Dead. It is no
	// timing assertion: a correct runtime gets there in microseconds, and
	// the limit only turns one that never does into a report instead of a
	// hang.
	rtSettleLimit = 5 * time.Second
)

// An rtKind is an operation on a runtime, as the fuzz input names it.
type rtKind uint8

const (
	rtHalt rtKind = iota
	rtFreeze
	rtThaw
	rtInterrupt
	rtCancel
	rtEject
	rtFlags
	rtSteps
	rtJoin
	rtKinds
)

// rtKindNames name each kind in messages; they are also the names of the
// rttest.Ops operations that run them in the concurrent program.
var rtKindNames = [rtKinds]string{"halt", "freeze", "thaw", "interrupt", "cancel", "eject", "flags", "steps", "join"}

// rtKindOps are the model's names of the kinds.
var rtKindOps = [rtKinds]model.RuntimeOp{
	model.RtHalt, model.RtFreeze, model.RtThaw, model.RtInterrupt, model.RtCancel,
	model.RtEject, model.RtFlags, model.RtSteps, model.RtJoin,
}

// rtTable maps the low four bits of a step byte to an operation: freezes
// and thaws often, the operations that end the runtime (Halt, Cancel)
// rarely, so that programs have time to do something before it is Dead.
var rtTable = [16]rtKind{
	rtHalt,
	rtFreeze, rtFreeze, rtFreeze,
	rtThaw, rtThaw, rtThaw,
	rtInterrupt, rtInterrupt,
	rtCancel,
	rtEject, rtEject,
	rtFlags,
	rtSteps,
	rtJoin, rtJoin,
}

// An rtStep is one operation of a decoded runtime program.
type rtStep struct {
	client int
	kind   rtKind
	// let: before the operation, if the reference says the runtime runs
	// steps, the sequential replay waits until its counter moves, so that
	// the operation meets a runtime that is really stepping, and a runtime
	// that claims to run but runs nothing is caught.
	let bool
}

func (st rtStep) String() string {
	s := rtKindNames[st.kind] + "()"
	if st.let {
		s = "let-run; " + s
	}
	return s
}

// An rtInput is a decoded runtime fuzz input.
type rtInput struct {
	clients int
	steps   []rtStep // in byte order: one interleaving of the clients' programs
}

// decodeRuntime turns data into a runtime program, deterministically;
// every byte string is a valid input.
func decodeRuntime(data []byte) rtInput {
	in := rtInput{clients: 1}
	if len(data) > 0 {
		in.clients = 1 + int(data[0])%rtMaxClients
	}
	if len(data) > 1 {
		body := data[1:]
		if len(body) > rtMaxSteps {
			body = body[:rtMaxSteps]
		}
		for _, b := range body {
			in.steps = append(in.steps, rtStep{client: int(b>>6) % in.clients, kind: rtTable[b&15], let: b&0x30 != 0})
		}
	}
	return in
}

// byClient returns the steps client by client, each client's in its own
// order.
func (in rtInput) byClient() []rtStep {
	out := make([]rtStep, 0, len(in.steps))
	for c := range in.clients {
		for _, st := range in.steps {
			if st.client == c {
				out = append(out, st)
			}
		}
	}
	return out
}

// String renders the program, one step a line.
func (in rtInput) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d clients:", in.clients)
	for i, st := range in.steps {
		fmt.Fprintf(&b, "\n    %2d client %d: %s", i, st.client, st)
	}
	return b.String()
}

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

// runtimeProgram builds the concurrent program of in: client c runs its
// first rtMaxPerClient steps in order, as rttest.Ops steps. Join
// is included wherever it comes: the scenario's Release halts the runtime
// once every client is asleep, which frees it.
func runtimeProgram(in rtInput) linearize.Program {
	ops := rttest.Ops()
	p := make(linearize.Program, in.clients)
	for c := range p {
		p[c] = []linearize.Step{} // a client may have no steps
	}
	for _, st := range in.steps {
		if len(p[st.client]) == rtMaxPerClient {
			continue
		}
		p[st.client] = append(p[st.client], linearize.Step{
			Op: opIndex(ops, rtKindNames[st.kind]), Input: model.RuntimeInput{Op: rtKindOps[st.kind]},
		})
	}
	return p
}

// checkRuntimeConcurrent runs in's program once, one goroutine per client,
// on a fresh runtime from newRuntime, through rttest.Scenario
// (its Release halts the runtime once every client sleeps in Join; its
// Finally halts, joins, and reads the flags and counter twice), and checks
// the history for linearizability against model.Runtime.
func checkRuntimeConcurrent(newRuntime func() rttest.Counted, in rtInput, chaosSeed uint64) error {
	sc := rttest.Scenario("runtime", newRuntime)
	p := runtimeProgram(in)
	res := sc.RunProgram(p, chaosSeed)
	// The bug: any concurrent history of control operations that no
	// runtime obeying spec.Runtime could produce, above all a step run
	// while the runtime is seen frozen and asleep, or after Eject took its
	// continuation, or after teardown; a Join that sleeps though the
	// runtime is Dead, or any call that never returns; a panic.
	if !res.Failed() {
		return nil
	}
	return fmt.Errorf("concurrent run failed: %w", sc.Failure(p, res, chaosSeed, 0))
}

// checkRuntime is the whole test of one input: sequential, then
// concurrent.
func checkRuntime(newSUT func() rtSUT, newCounted func() rttest.Counted, data []byte) error {
	in := decodeRuntime(data)
	if err := checkRuntimeSequential(newSUT, in, rtSettleLimit); err != nil {
		return err
	}
	return checkRuntimeConcurrent(newCounted, in, chaosSeed(data))
}

// rtBytes builds an input from a client count and steps, each a client,
// an rtTable index and whether to let the runtime run first; the seeds
// and the self-check use it to stay readable.
func rtBytes(clients int, steps ...rtStep) []byte {
	data := []byte{byte(clients - 1)}
	for _, st := range steps {
		b := byte(st.client<<6) | byte(rtAt(st.kind))
		if st.let {
			b |= 0x10
		}
		data = append(data, b)
	}
	return data
}

// rtAt returns the first rtTable index holding k.
func rtAt(k rtKind) int {
	for i, e := range rtTable {
		if e == k {
			return i
		}
	}
	panic(fmt.Sprintf("fuzz: no rtTable entry for %s", rtKindNames[k]))
}

// rtOn and rtRun build the steps of seeds: an operation by a client,
// and the same after letting the runtime run.
func rtOn(client int, k rtKind) rtStep  { return rtStep{client: client, kind: k} }
func rtRun(client int, k rtKind) rtStep { return rtStep{client: client, kind: k, let: true} }

func newRtSUT() rtSUT               { return newRtCounted() }
func newRtCampaign() rttest.Counted { return newRtCounted() }

func FuzzRuntime(f *testing.F) {
	f.Add([]byte{})
	// One client: freeze a running runtime, interrupt it asleep, thaw,
	// eject while it runs, eject again, thaw (it tears down), join.
	f.Add(rtBytes(1, rtRun(0, rtFreeze), rtOn(0, rtInterrupt), rtOn(0, rtSteps), rtOn(0, rtThaw),
		rtRun(0, rtEject), rtOn(0, rtEject), rtOn(0, rtFreeze), rtOn(0, rtThaw), rtOn(0, rtJoin)))
	// Two clients: cancel a frozen runtime, then everything refused.
	f.Add(rtBytes(2, rtOn(0, rtFreeze), rtOn(1, rtFlags), rtOn(1, rtCancel), rtOn(0, rtThaw),
		rtOn(1, rtEject), rtOn(0, rtCancel), rtOn(1, rtHalt), rtOn(0, rtJoin)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkRuntime(newRtSUT, newRtCampaign, data); err != nil {
			t.Fatalf("input %q, program %v:\n%v", data, decodeRuntime(data), err)
		}
	})
}

// The checks of FuzzRuntime must be able to fail: on each known-bad
// runtime of rttest that wraps impl/rt and breaks one promise of
// spec.Runtime, the sequential replay must fail, and where the history can
// show the bug, the concurrent check too.
func TestRuntimeChecksCatchBrokenRuntimes(t *testing.T) {
	cases := []struct {
		bug        rttest.Bug
		data       []byte
		concurrent bool // the linearizability check must catch it too
	}{
		{rttest.FreezeLies, rtBytes(1, rtRun(0, rtFreeze), rtOn(0, rtFlags), rtOn(0, rtThaw)), true},
		{rttest.StepsWhileFrozen, rtBytes(1, rtOn(0, rtFreeze), rtOn(0, rtFlags), rtOn(0, rtSteps), rtOn(0, rtSteps)), true},
		// The history cannot show it: the model allows the step in
		// progress, but the sequential replay sees the counter move
		// across an Interrupt of a runtime asleep.
		{rttest.InterruptRunsAStep, rtBytes(1, rtRun(0, rtFreeze), rtOn(0, rtInterrupt), rtOn(0, rtThaw)), false},
		{rttest.CancelForgotten, rtBytes(1, rtRun(0, rtCancel), rtOn(0, rtJoin)), true},
	}
	for _, c := range cases {
		t.Run(c.bug.String(), func(t *testing.T) {
			mk := func() rttest.Bad { return rttest.BadRuntime(c.bug) }
			in := decodeRuntime(c.data)
			// A short limit: a runtime that never settles is reported
			// sooner.
			if err := checkRuntimeSequential(func() rtSUT { return mk() }, in, 250*time.Millisecond); err == nil {
				t.Errorf("the sequential replay passed a runtime with bug %s on %v", c.bug, in)
			} else {
				t.Logf("sequential: %v", err)
			}
			if !c.concurrent {
				return
			}
			err := checkRuntimeConcurrent(func() rttest.Counted { return mk() }, in, chaosSeed(c.data))
			if err == nil {
				t.Fatalf("the concurrent check passed a runtime with bug %s on %v", c.bug, in)
			}
			if msg := err.Error(); !strings.Contains(msg, "Illegal") || !strings.Contains(msg, "client 0:") {
				t.Errorf("the concurrent failure lacks the verdict or the program:\n%s", msg)
			}
		})
	}
}

// The bug: a decoder that makes programs longer than the cap (so that one
// input no longer runs in milliseconds), or clients out of range.
func TestDecodeRuntime(t *testing.T) {
	data := make([]byte, 1+3*rtMaxSteps)
	for i := range data {
		data[i] = byte(i * 37)
	}
	in := decodeRuntime(data)
	if len(in.steps) != rtMaxSteps {
		t.Fatalf("%d steps, want the cap %d", len(in.steps), rtMaxSteps)
	}
	for _, st := range in.steps {
		if st.client < 0 || st.client >= in.clients || st.kind >= rtKinds {
			t.Fatalf("step %+v out of range with %d clients", st, in.clients)
		}
	}
	p := runtimeProgram(in)
	for c, steps := range p {
		if len(steps) > rtMaxPerClient {
			t.Fatalf("client %d has %d concurrent steps, want at most %d", c, len(steps), rtMaxPerClient)
		}
	}
	if in := decodeRuntime(nil); in.clients != 1 || len(in.steps) != 0 {
		t.Fatalf("empty input decoded to %+v", in)
	}
}
