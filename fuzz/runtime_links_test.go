package fuzz

import (
	"fmt"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
)

// FuzzRuntimeLinks: a group of rttest.GroupSize runtimes, each running a
// counting continuation, driven by up to three clients at once with every
// control operation on any runtime of the group, Link and Unlink of any
// two (a runtime with itself included, ErrSelfLink), and Signal; the
// history is checked for linearizability against model.Runtime, which
// knows that a teardown halts the runtimes linked to it (passing a
// failure on as ErrLinkedFailure) and no other, and what each signal
// does. FuzzRuntime covers one runtime with a sequential replay besides;
// a group's teardowns are the runtimes' own doing, at times no replay
// fixes, so this target has the concurrent check alone.

// linksMaxPerClient caps each client's steps: the group scenario's own
// OpsPerClient, beyond which porcupine's search over three runtimes'
// states can outlast its time limit on one history.
const linksMaxPerClient = 4

// A linksStep is one decoded step: the client that runs it, the index of
// its operation in rttest.GroupOps, and its input.
type linksStep struct {
	client int
	op     int
	in     model.RuntimeInput
}

// decodeLinks turns data into a program, deterministically; every byte
// string is a valid input. Byte 0: the clients less one (modulo 3). Then
// each pair of bytes is a step: the first's high two bits pick the client
// (modulo the clients), its low six the operation (modulo the
// operations); the second is the argument: modulo GroupSize the runtime,
// divided by GroupSize and modulo GroupSize the peer of a Link or Unlink,
// divided by GroupSize² the signal (modulo four) or the halter's timeout
// (modulo three). A lone last byte is ignored, and so are steps past a
// client's cap.
func decodeLinks(data []byte) (clients int, steps []linksStep) {
	ops := rttest.GroupOps()
	clients = 1
	if len(data) > 0 {
		clients = 1 + int(data[0])%3
		data = data[1:]
	}
	per := make([]int, clients)
	for ; len(data) >= 2; data = data[2:] {
		st := linksStep{client: int(data[0]>>6) % clients, op: int(data[0]&63) % len(ops)}
		if per[st.client] == linksMaxPerClient {
			continue
		}
		per[st.client]++
		arg := int(data[1])
		// The operation's own generator gives its Op (and draws nothing
		// else that matters: R, Peer and Sig are set from arg below).
		st.in = ops[st.op].Input(linearize.NewGen(0, 0))
		st.in.R = arg % rttest.GroupSize
		if st.in.Op == model.RtLink || st.in.Op == model.RtUnlink {
			st.in.Peer = arg / rttest.GroupSize % rttest.GroupSize
		}
		switch high := arg / (rttest.GroupSize * rttest.GroupSize); st.in.Op {
		case model.RtSignal:
			st.in.Sig = rttest.Signals[high%len(rttest.Signals)]
		case model.RtHalter:
			st.in.D = rttest.HalterTimeouts[high%len(rttest.HalterTimeouts)]
		}
		steps = append(steps, st)
	}
	return clients, steps
}

// linksProgram is the concurrent program of data: each client's steps in
// order.
func linksProgram(data []byte) linearize.Program {
	clients, steps := decodeLinks(data)
	p := make(linearize.Program, clients)
	for c := range p {
		p[c] = []linearize.Step{}
	}
	for _, st := range steps {
		p[st.client] = append(p[st.client], linearize.Step{Op: st.op, Input: st.in})
	}
	return p
}

// checkLinks runs data's program once on a fresh group from newGroup,
// through rttest.GroupScenario (its Release halts every runtime, which
// frees every Join; its Finally halts and joins them all), and checks the
// history.
func checkLinks(newGroup func() rttest.Group, data []byte) error {
	sc := rttest.GroupScenario("links", newGroup)
	p := linksProgram(data)
	seed := chaosSeed(data)
	res := sc.RunProgram(p, seed)
	// The bug: a history no group obeying spec.Runtime could produce: a
	// Link that reports success and links nothing (a peer still running
	// after a teardown), an Unlink that does not unlink, a linked failure
	// not passed on, a signal whose action is not taken, a Join that never
	// returns; a panic.
	if !res.Failed() {
		return nil
	}
	return fmt.Errorf("concurrent run failed: %w", sc.Failure(p, res, seed, 0))
}

// linksBytes builds an input from a client count and steps (client,
// operation name, argument); the seeds and the self-check use it.
func linksBytes(clients int, steps ...linksSeed) []byte {
	ops := rttest.GroupOps()
	data := []byte{byte(clients - 1)}
	for _, s := range steps {
		data = append(data, byte(s.client<<6|opIndex(ops, s.op)), byte(s.arg))
	}
	return data
}

// A linksSeed is one step of linksBytes.
type linksSeed struct {
	client int
	op     string
	arg    int // runtime + GroupSize*peer + GroupSize²*(signal or timeout)
}

// link, on and signal build the steps of seeds: Link(i, j), an operation
// on runtime i, and Signals[s] to runtime i.
func link(c, i, j int) linksSeed           { return linksSeed{c, "link", i + rttest.GroupSize*j} }
func unlink(c, i, j int) linksSeed         { return linksSeed{c, "unlink", i + rttest.GroupSize*j} }
func on(c int, op string, i int) linksSeed { return linksSeed{c, op, i} }
func signal(c, i, s int) linksSeed {
	return linksSeed{c, "signal", i + rttest.GroupSize*rttest.GroupSize*s}
}

// halter puts runtime i under a halter of timeout HalterTimeouts[k].
func halter(c, i, k int) linksSeed {
	return linksSeed{c, "halter", i + rttest.GroupSize*rttest.GroupSize*k}
}

// linksSeeds are the target's seeds, one per known-bad group below: each
// shows its bug to the check from a single client, where the order is
// fixed.
var linksSeeds = map[rttest.LinkBug][]byte{
	// r0 linked to r1, r0 halted: r1 must be halted too.
	rttest.LinkDeaf: linksBytes(1, link(0, 0, 1), on(0, "halt", 0), on(0, "join", 0), on(0, "flags", 1)),
	// Linked, unlinked, then r0 halted: r1 must still run (the
	// scenario's Finally, halting every runtime, finds it halted).
	rttest.UnlinkIgnored: linksBytes(1, link(0, 0, 1), unlink(0, 0, 1), on(0, "halt", 0), on(0, "join", 0)),
	// r0 canceled: r1, linked to it, joins with ErrLinkedFailure.
	rttest.LinkedErrorLost: linksBytes(1, link(0, 0, 1), on(0, "cancel", 0), on(0, "join", 0), on(0, "join", 1)),
	// SIGTERM halts r2.
	rttest.SignalIgnored: linksBytes(1, signal(0, 2, 0), on(0, "join", 2), on(0, "flags", 2)),
	// A halter at once that reports sparing r0, then a Join of r0, which
	// only a halt can end: the known-bad's halt lands while it waits (a
	// correct halter's Stop reports a halt, or the Join waits for the
	// scenario's Release).
	rttest.HalterStopNoWait: linksBytes(1, halter(0, 0, 0), on(0, "join", 0)),
	// r1 halted, then a halter that reports halting it again.
	rttest.HalterTrusting: linksBytes(1, on(0, "halt", 1), halter(0, 1, 0)),
}

func FuzzRuntimeLinks(f *testing.F) {
	testdeadline.Guard(f, testdeadline.Default)
	f.Add([]byte{})
	for bug := range rttest.LinkBug(len(linksSeeds) + 1) {
		if s, ok := linksSeeds[bug]; ok {
			f.Add(s)
		}
	}
	// Three clients: a chain linked and torn down while another client
	// freezes, thaws and signals its members.
	f.Add(linksBytes(3, link(0, 0, 1), link(1, 1, 2), on(2, "freeze", 2), on(0, "cancel", 0),
		signal(2, 1, 2), on(1, "thaw", 2), on(2, "join", 2), on(0, "steps", 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkLinks(rttest.NewGroup, data); err != nil {
			t.Fatalf("input %q, program %v:\n%v", data, linksProgram(data), err)
		}
	})
}

// The check of FuzzRuntimeLinks must be able to fail: on each known-bad
// group of rttest, its seed's history must be found Illegal (within ten
// runs).
func TestRuntimeLinksChecksCatchBrokenGroups(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for bug, data := range linksSeeds {
		t.Run(bug.String(), func(t *testing.T) {
			if err := checkLinks(rttest.NewGroup, data); err != nil {
				t.Fatalf("the correct group fails the seed of %s: %v", bug, err)
			}
			// A halt in flight lands when the scheduler says: a few tries.
			var err error
			for range 10 {
				if err = checkLinks(func() rttest.Group { return rttest.BadGroup(bug) }, data); err != nil {
					break
				}
			}
			if err == nil {
				t.Fatalf("the check passed a group with bug %s on %v", bug, linksProgram(data))
			}
			if msg := err.Error(); !strings.Contains(msg, "Illegal") {
				t.Errorf("the failure lacks the verdict:\n%s", msg)
			}
		})
	}
}

// The bug: a decoder that exceeds a client's cap (porcupine then may not
// decide in time), puts a step on a client out of range, or draws a
// runtime, peer or signal out of range.
func TestDecodeLinks(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	data := make([]byte, 301)
	for i := range data {
		data[i] = byte(i*37 + 11)
	}
	clients, steps := decodeLinks(data)
	per := make([]int, clients)
	for _, st := range steps {
		if st.client < 0 || st.client >= clients || st.in.R >= rttest.GroupSize || st.in.Peer >= rttest.GroupSize {
			t.Fatalf("step %+v out of range with %d clients", st, clients)
		}
		if st.in.Op == model.RtSignal && st.in.Sig == 0 {
			t.Fatalf("signal step %+v has no signal", st)
		}
		if st.in.Op != model.RtHalter && st.in.D != 0 {
			t.Fatalf("step %+v has a timeout", st)
		}
		per[st.client]++
	}
	for c, n := range per {
		if n > linksMaxPerClient {
			t.Fatalf("client %d has %d steps, want at most %d", c, n, linksMaxPerClient)
		}
	}
	if c, steps := decodeLinks(nil); c != 1 || len(steps) != 0 {
		t.Fatalf("empty input decoded to %d clients, %v", c, steps)
	}
}
