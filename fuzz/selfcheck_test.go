package fuzz

import (
	"strings"
	"testing"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// The checks of FuzzQueue must be able to fail. Each test below hands them
// a known-bad queue (queuetest.BadQueue: made safe for concurrent use by a
// mutex, so that only its semantics are wrong) and an input that exposes
// it, and requires the failure.

func TestChecksCatchBrokenQueues(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	// One client: pop on empty, push 1, push 2, pop. Warm-up 0.
	const oneClient = "\x00\x00\x01\x00\x00\x01"
	cases := []struct {
		name       string
		bug        queuetest.Bug
		every      int
		data       string
		concurrent bool // the linearizability check must catch it too
	}{
		{"lifo", queuetest.LIFO, 1, oneClient, true},
		{"lossy", queuetest.Drops, 2, oneClient, true},
		{"len-off", queuetest.LenOff, 1, oneClient, true},
		// Copies carry the right values, so only the sequential replay,
		// which compares pointers, can tell.
		{"copying", queuetest.Copies, 1, oneClient, false},
		// With a warm-up, the warm-up itself must catch the bug.
		{"lifo-warm", queuetest.LIFO, 1, "\x00\x01", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			newQueue := func() spec.Queue[int] { return queuetest.BadQueue[int](c.bug, c.every) }
			in := decode([]byte(c.data))
			if err := checkSequential(newQueue, in); err == nil {
				t.Errorf("the sequential replay passed a %s queue on input %q", c.name, c.data)
			} else {
				t.Logf("sequential: %v", err)
			}
			if !c.concurrent {
				return
			}
			err := checkConcurrent(newQueue, in, chaosSeed([]byte(c.data)))
			if err == nil {
				t.Fatalf("the concurrent check passed a %s queue on input %q", c.name, c.data)
			}
			if msg := err.Error(); !strings.Contains(msg, "Illegal") || !strings.Contains(msg, "client 0:") {
				t.Errorf("the concurrent failure lacks the verdict or the program:\n%s", msg)
			}
		})
	}
}

// The bug: a decoder that makes inputs longer than the cap (so that one
// input no longer runs in milliseconds), clients out of range, or pushes
// of equal values (which would let a duplicated item pass for another).
func TestDecode(t *testing.T) {
	data := make([]byte, 2+3*maxSteps)
	data[0], data[1] = 255, 255
	for i := 2; i < len(data); i++ {
		data[i] = byte(i * 37)
	}
	in := decode(data)
	if in.clients != maxClients || in.warm != 255*warmStep {
		t.Errorf("clients %d, warm-up %d: want %d and %d", in.clients, in.warm, maxClients, 255*warmStep)
	}
	if len(in.steps) != maxSteps {
		t.Errorf("%d steps, want the cap %d", len(in.steps), maxSteps)
	}
	seen := map[int]bool{}
	pushes := 0
	for _, st := range in.steps {
		if st.client < 0 || st.client >= in.clients {
			t.Errorf("step for client %d of %d", st.client, in.clients)
		}
		if st.push {
			pushes++
			if seen[st.value] || st.value <= 0 {
				t.Errorf("pushed value %d twice or not positive", st.value)
			}
			seen[st.value] = true
		}
	}
	if pushes == 0 || pushes == len(in.steps) {
		t.Errorf("%d pushes in %d steps: the test input should mix both", pushes, len(in.steps))
	}
	if got := program(in); len(got) != in.clients {
		t.Errorf("program has %d clients, want %d", len(got), in.clients)
	}
	if len(in.byClient()) != len(in.steps) {
		t.Errorf("byClient lost or invented steps")
	}
	if e := decode(nil); e.clients != 1 || e.warm != 0 || len(e.steps) != 0 {
		t.Errorf("empty input decodes to %+v, want one idle client", e)
	}
}

// The checks of FuzzMailbox must be able to fail too. Each case below
// hands them a known-bad mailbox of mailboxtest.Broken (the real mailbox of
// impl/mailbox, wrapped so that it breaks one rule every time) with an
// input that exposes the break, and requires the failure.
func TestChecksCatchBrokenMailboxes(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	at := func(e mbEntry) [2]int { return [2]int{0, mbAt(e)} }
	var (
		trySend = at(mbEntry{kind: mbTrySend})
		tryRecv = at(mbEntry{kind: mbTryRecv})
		pause   = at(mbEntry{kind: mbPause})
		closeW  = at(mbEntry{kind: mbCloseWrite})
		intr    = at(mbEntry{kind: mbInterrupt, n: 1})
		drain   = at(mbEntry{kind: mbDrain})
		flags   = at(mbEntry{kind: mbFlags})
	)
	// All inputs have one client, so that the concurrent run is as
	// deterministic as the sequential replay.
	cases := []struct {
		name       string
		bug        mailboxtest.Bug
		data       []byte
		concurrent bool // the linearizability check must catch it too
	}{
		{"paused-full", mailboxtest.PausedFull, mbBytes(1, 1, trySend, pause, trySend), true},
		{"lifo", mailboxtest.LIFO, mbBytes(4, 1, trySend, trySend, tryRecv), true},
		{"drain-reversed", mailboxtest.DrainReverses, mbBytes(4, 1, trySend, trySend, drain), true},
		{"close-twice", mailboxtest.ClosesTwice, mbBytes(2, 1, closeW, closeW), true},
		{"hide-interrupt", mailboxtest.HidesInterrupt, mbBytes(2, 1, intr, flags), true},
		// A copy carries the right value, so only the sequential replay,
		// which compares pointers, can tell.
		{"copy", mailboxtest.Copies, mbBytes(2, 1, trySend, tryRecv), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mustCatchMailbox(t, c.name, c.data, c.concurrent, brokenMailboxes(c.bug))
		})
	}
}

// brokenMailboxes returns the constructor of the real mailboxes of
// impl/mailbox broken by bug every time (mailboxtest.Broken).
func brokenMailboxes(bug mailboxtest.Bug) func(capacity int) spec.Mailbox[int] {
	return func(capacity int) spec.Mailbox[int] {
		return mailboxtest.Broken(mailbox.New[int](capacity), bug, 1, nil)
	}
}

// mustCatchMailbox fails the test unless the sequential replay of data
// rejects the mailboxes newMailbox makes (which have bug), and, if
// concurrent, unless the linearizability check rejects them too, with the
// verdict and the program in its report.
func mustCatchMailbox(t *testing.T, bug string, data []byte, concurrent bool, newMailbox func(capacity int) spec.Mailbox[int]) {
	t.Helper()
	in := decodeMailbox(data)
	if err := checkMailboxSequential(newMailbox, in); err == nil {
		t.Errorf("the sequential replay passed a %s mailbox on input %q", bug, data)
	} else {
		t.Logf("sequential: %v", err)
	}
	if !concurrent {
		return
	}
	err := checkMailboxConcurrent(newMailbox, in, chaosSeed(data))
	if err == nil {
		t.Fatalf("the concurrent check passed a %s mailbox on input %q", bug, data)
	}
	if msg := err.Error(); !strings.Contains(msg, "Illegal") || !strings.Contains(msg, "client 0:") {
		t.Errorf("the concurrent failure lacks the verdict or the program:\n%s", msg)
	}
}

// The control: the real mailbox passes the same inputs, so that the
// failures above are the bugs' doing and not the inputs'.
func TestChecksPassRealMailbox(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, data := range [][]byte{
		mbBytes(1, 1, [2]int{0, mbAt(mbEntry{kind: mbTrySend})}, [2]int{0, mbAt(mbEntry{kind: mbPause})}, [2]int{0, mbAt(mbEntry{kind: mbTrySend})}),
		mbBytes(4, 1, [2]int{0, mbAt(mbEntry{kind: mbTrySend})}, [2]int{0, mbAt(mbEntry{kind: mbTrySend})}, [2]int{0, mbAt(mbEntry{kind: mbDrain})}),
		mbBytes(2, 1, [2]int{0, mbAt(mbEntry{kind: mbInterrupt, n: 1})}, [2]int{0, mbAt(mbEntry{kind: mbFlags})}),
	} {
		if err := checkMailbox(mailboxtest.NewMailbox, data); err != nil {
			t.Errorf("input %q: %v", data, err)
		}
	}
}

// The bug: a decoder that makes programs longer than the caps (so that an
// input no longer runs in milliseconds), clients out of range, sends of
// equal values (which would let a duplicated item pass for another), or a
// table that leaves an operation of spec.Mailbox out of reach.
func TestDecodeMailbox(t *testing.T) {
	reached := map[mbKind]bool{}
	for _, e := range mbTable {
		reached[e.kind] = true
	}
	for k := range mbKinds {
		if !reached[k] {
			t.Errorf("no step byte selects %s", mbKindNames[k].name)
		}
	}
	data := make([]byte, 2+3*mbMaxSteps)
	data[0], data[1] = 4, 255
	for i := 2; i < len(data); i++ {
		data[i] = byte(i * 37)
	}
	in := decodeMailbox(data)
	if in.capacity != spec.Unbounded || in.clients != mbMaxClients {
		t.Errorf("capacity %d, %d clients: want unbounded and %d", in.capacity, in.clients, mbMaxClients)
	}
	if len(in.steps) != mbMaxSteps {
		t.Errorf("%d steps, want the cap %d", len(in.steps), mbMaxSteps)
	}
	seen := map[int]bool{}
	for _, st := range in.steps {
		if st.client < 0 || st.client >= in.clients {
			t.Errorf("step for client %d of %d", st.client, in.clients)
		}
		if st.value != 0 {
			if seen[st.value] || st.value < 0 {
				t.Errorf("sent value %d twice or negative", st.value)
			}
			seen[st.value] = true
		}
	}
	if len(seen) == 0 {
		t.Errorf("no sends in %d steps: the test input should have some", len(in.steps))
	}
	p := mailboxProgram(in)
	if len(p) != in.clients {
		t.Errorf("program has %d clients, want %d", len(p), in.clients)
	}
	for c, steps := range p {
		if len(steps) > mbMaxPerClient {
			t.Errorf("client %d has %d steps in the concurrent program, over the cap %d", c, len(steps), mbMaxPerClient)
		}
	}
	if len(in.byClient()) != len(in.steps) {
		t.Errorf("byClient lost or invented steps")
	}
	if e := decodeMailbox(nil); e.capacity != 0 || e.clients != 1 || len(e.steps) != 0 {
		t.Errorf("empty input decodes to %+v, want capacity 0, one idle client", e)
	}
}
