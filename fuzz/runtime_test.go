package fuzz

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
)

// FuzzRuntime: the concurrent check (the program run one goroutine per
// client and checked for linearizability against model.Runtime), the
// whole check of one input, the target with its seeds, and the
// self-checks. The input language and its decoder are in
// runtime_decode_test.go, the sequential replay in runtime_replay_test.go.

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
	testdeadline.Guard(f, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
