package fuzz

import (
	"fmt"
	"slices"
	"testing"

	"github.com/insideout-go/insideout/impl/mailbox/mailboxtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// FuzzMailbox: the concurrent check (the program run one goroutine per
// client and checked for linearizability), the whole check of one input,
// the target with its seeds, and the self-checks of the batch operations
// and of the decoder. The input language and its decoder are in
// mailbox_decode_test.go, the sequential replay in mailbox_replay_test.go.

// mailboxProgram builds the concurrent program of in: client c runs its
// first mbMaxPerClient steps in order, as mailboxtest.Ops steps.
func mailboxProgram(in mbInput) linearize.Program {
	ops := mailboxtest.Ops()
	p := make(linearize.Program, in.clients)
	for c := range p {
		p[c] = []linearize.Step{} // a client may have no steps
	}
	for _, st := range in.steps {
		if len(p[st.client]) == mbMaxPerClient {
			continue
		}
		var mi model.MailboxInput
		switch st.kind {
		case mbTrySend:
			mi = model.MailboxInput{Op: model.MbTrySend, Value: st.value}
		case mbSend, mbSendCtx, mbSendDone:
			mi = model.MailboxInput{Op: model.MbSend, Value: st.value}
		case mbTryRecv:
			mi = model.MailboxInput{Op: model.MbTryRecv}
		case mbRecv, mbRecvCtx, mbRecvDone:
			mi = model.MailboxInput{Op: model.MbRecv}
		case mbPause:
			mi = model.MailboxInput{Op: model.MbPause}
		case mbResume:
			mi = model.MailboxInput{Op: model.MbResume}
		case mbCloseWrite:
			mi = model.MailboxInput{Op: model.MbCloseWrite}
		case mbCloseRead:
			mi = model.MailboxInput{Op: model.MbCloseRead}
		case mbInterrupt:
			mi = model.MailboxInput{Op: model.MbInterrupt, N: st.n}
		case mbSetCap:
			mi = model.MailboxInput{Op: model.MbSetCap, N: st.n}
		case mbClear:
			mi = model.MailboxInput{Op: model.MbClear}
		case mbDrain:
			mi = model.MailboxInput{Op: model.MbDrain}
		case mbLen:
			mi = model.MailboxInput{Op: model.MbLen}
		case mbCap:
			mi = model.MailboxInput{Op: model.MbCap}
		case mbFlags:
			mi = model.MailboxInput{Op: model.MbFlags}
		case mbWaitPushable:
			mi = model.MailboxInput{Op: model.MbWaitPushable}
		case mbWaitPoppable:
			mi = model.MailboxInput{Op: model.MbWaitPoppable}
		case mbWaitEmpty:
			mi = model.MailboxInput{Op: model.MbWaitEmpty}
		case mbWaitFull:
			mi = model.MailboxInput{Op: model.MbWaitFull}
		case mbTrySendMany:
			mi = model.MailboxInput{Op: model.MbTrySendMany, Values: st.values}
		case mbTryRecvMany:
			mi = model.MailboxInput{Op: model.MbTryRecvMany, N: st.n}
		}
		p[st.client] = append(p[st.client], linearize.Step{Op: opIndex(ops, mbKindNames[st.kind].campaign), Input: mi})
	}
	return p
}

// checkMailboxConcurrent runs in's program once, one goroutine per client,
// on a fresh mailbox from newMailbox, through mailboxtest.Scenario
// (release, liveness check, final Len, Flags and Drain), and checks the
// history for linearizability.
func checkMailboxConcurrent(newMailbox func(int) spec.Mailbox[int], in mbInput, chaosSeed uint64) error {
	sc := mailboxtest.Scenario("mailbox-cap"+capName(in.capacity), in.capacity, newMailbox)
	p := mailboxProgram(in)
	res := sc.RunProgram(p, chaosSeed)
	// The bug: any concurrent history of the mailbox's operations that no
	// sequential mailbox obeying spec.Mailbox could produce; a call that
	// sleeps though it could proceed (a lost wake-up) or never returns; a
	// panic inside the mailbox.
	if !res.Failed() {
		return nil
	}
	return fmt.Errorf("concurrent run (capacity %s) failed: %w", capName(in.capacity), sc.Failure(p, res, chaosSeed, 0))
}

// checkMailbox is the whole test of one input: sequential, then
// concurrent.
func checkMailbox(newMailbox func(int) spec.Mailbox[int], data []byte) error {
	in := decodeMailbox(data)
	if err := checkMailboxSequential(newMailbox, in); err != nil {
		return err
	}
	return checkMailboxConcurrent(newMailbox, in, chaosSeed(data))
}

// mbBytes builds an input from a capacity index, a client count and
// steps, each step a client and an mbTable index; the seeds use it to stay
// readable.
func mbBytes(capIndex, clients int, steps ...[2]int) []byte {
	data := []byte{byte(capIndex), byte(clients - 1)}
	for _, st := range steps {
		data = append(data, byte(st[0]<<6|st[1]))
	}
	return data
}

// mbAt returns the first mbTable index holding e, for seeds.
func mbAt(e mbEntry) int {
	i := slices.Index(mbTable[:], e)
	if i < 0 {
		panic(fmt.Sprintf("fuzz: no mbTable entry %+v", e))
	}
	return i
}

func FuzzMailbox(f *testing.F) {
	testdeadline.Guard(f, testdeadline.Default)
	var (
		trySend     = mbAt(mbEntry{kind: mbTrySend})
		sendNil     = mbAt(mbEntry{kind: mbTrySend, isNil: true})
		send        = mbAt(mbEntry{kind: mbSend})
		sendDone    = mbAt(mbEntry{kind: mbSendDone})
		tryRecv     = mbAt(mbEntry{kind: mbTryRecv})
		recv        = mbAt(mbEntry{kind: mbRecv})
		recvDone    = mbAt(mbEntry{kind: mbRecvDone})
		pause       = mbAt(mbEntry{kind: mbPause})
		resume      = mbAt(mbEntry{kind: mbResume})
		closeW      = mbAt(mbEntry{kind: mbCloseWrite})
		closeR      = mbAt(mbEntry{kind: mbCloseRead})
		intr1       = mbAt(mbEntry{kind: mbInterrupt, n: 1})
		setCap0     = mbAt(mbEntry{kind: mbSetCap, n: 0})
		setCapInf   = mbAt(mbEntry{kind: mbSetCap, n: spec.Unbounded})
		drain       = mbAt(mbEntry{kind: mbDrain})
		clr         = mbAt(mbEntry{kind: mbClear})
		flags       = mbAt(mbEntry{kind: mbFlags})
		waitPush    = mbAt(mbEntry{kind: mbWaitPushable})
		waitPop     = mbAt(mbEntry{kind: mbWaitPoppable})
		waitEmpty   = mbAt(mbEntry{kind: mbWaitEmpty})
		waitFull    = mbAt(mbEntry{kind: mbWaitFull})
		sendMany0   = mbAt(mbEntry{kind: mbTrySendMany, n: 0})
		sendMany2   = mbAt(mbEntry{kind: mbTrySendMany, n: 2})
		sendMany5   = mbAt(mbEntry{kind: mbTrySendMany, n: 5})
		sendNilMany = mbAt(mbEntry{kind: mbTrySendMany, n: 3, isNil: true})
		recvMany0   = mbAt(mbEntry{kind: mbTryRecvMany, n: 0})
		recvMany1   = mbAt(mbEntry{kind: mbTryRecvMany, n: 1})
		recvMany5   = mbAt(mbEntry{kind: mbTryRecvMany, n: 5})
	)
	f.Add([]byte{})
	// Capacity 1, one client: fill, overfill, pause, interrupt a blocked
	// send, resume, receive, close for writing, drain out.
	f.Add(mbBytes(1, 1, [2]int{0, trySend}, [2]int{0, trySend}, [2]int{0, sendNil}, [2]int{0, pause},
		[2]int{0, tryRecv}, [2]int{0, intr1}, [2]int{0, send}, [2]int{0, flags}, [2]int{0, resume},
		[2]int{0, recv}, [2]int{0, closeW}, [2]int{0, recv}, [2]int{0, recv}))
	// Unbounded, two clients: sends, a pending interrupt taken by a Wait,
	// the ended-context forms, close for reading and a drain.
	f.Add(mbBytes(4, 2, [2]int{0, trySend}, [2]int{1, trySend}, [2]int{0, send}, [2]int{1, intr1},
		[2]int{1, waitFull}, [2]int{0, waitEmpty}, [2]int{0, recvDone}, [2]int{1, closeR},
		[2]int{0, sendDone}, [2]int{1, drain}, [2]int{0, waitPop}, [2]int{1, waitPush}))
	// Capacity 0, then room made by SetCap, then cleared; four clients.
	f.Add(mbBytes(0, 4, [2]int{0, trySend}, [2]int{1, setCapInf}, [2]int{2, trySend}, [2]int{3, trySend},
		[2]int{0, setCap0}, [2]int{1, waitFull}, [2]int{2, clr}, [2]int{3, flags}, [2]int{0, recv},
		[2]int{1, send}, [2]int{2, closeW}, [2]int{3, recv}))
	// Capacity 3, one client: a partial batch, a full one, a batch with a
	// nil, empty batches on a full and an empty mailbox, batch receipts of
	// more and fewer than are there, then a pause and a close in front of
	// both forms.
	f.Add(mbBytes(3, 1, [2]int{0, trySend}, [2]int{0, sendMany5}, [2]int{0, sendMany2}, [2]int{0, sendNilMany},
		[2]int{0, sendMany0}, [2]int{0, recvMany1}, [2]int{0, recvMany5}, [2]int{0, recvMany5}, [2]int{0, recvMany0},
		[2]int{0, sendMany0}, [2]int{0, pause}, [2]int{0, sendMany2}, [2]int{0, recvMany5}, [2]int{0, resume},
		[2]int{0, sendMany2}, [2]int{0, closeW}, [2]int{0, sendMany2}, [2]int{0, recvMany5}, [2]int{0, recvMany5}))
	// Capacity 1, four clients: receivers and senders asleep while
	// batches come and go, so that a batch must wake several of them.
	f.Add(mbBytes(1, 4, [2]int{1, recv}, [2]int{2, recv}, [2]int{0, setCapInf}, [2]int{0, sendMany5},
		[2]int{3, send}, [2]int{0, setCap0}, [2]int{3, send}, [2]int{1, send}, [2]int{2, recvMany5},
		[2]int{0, recvMany5}, [2]int{1, recvMany1}, [2]int{2, sendMany2}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkMailbox(mailboxtest.NewMailbox, data); err != nil {
			in := decodeMailbox(data)
			t.Fatalf("input %q (capacity %s, %d clients, %d steps): %v", data, capName(in.capacity), in.clients, len(in.steps), err)
		}
	})
}

// mbBatchSelfChecks are inputs of one client (so that the concurrent run
// is as deterministic as the sequential replay), each exposing one batch
// bug of mailboxtest.Broken (the real mailbox wrapped so that it breaks
// one rule of TrySendMany or TryRecvMany; fuzz/selfcheck_test.go does the
// same for the other operations).
func mbBatchSelfChecks() []struct {
	name       string
	bug        mailboxtest.Bug
	data       []byte
	concurrent bool // the linearizability check must catch it too
} {
	at := func(e mbEntry) [2]int { return [2]int{0, mbAt(e)} }
	var (
		trySend     = at(mbEntry{kind: mbTrySend})
		sendMany2   = at(mbEntry{kind: mbTrySendMany, n: 2})
		sendMany3   = at(mbEntry{kind: mbTrySendMany, n: 3})
		sendNilMany = at(mbEntry{kind: mbTrySendMany, n: 3, isNil: true})
		recvMany2   = at(mbEntry{kind: mbTryRecvMany, n: 2})
		recvMany3   = at(mbEntry{kind: mbTryRecvMany, n: 3})
		length      = at(mbEntry{kind: mbLen})
	)
	return []struct {
		name       string
		bug        mailboxtest.Bug
		data       []byte
		concurrent bool
	}{
		{"nil-prefix", mailboxtest.BatchNilPrefix, mbBytes(4, 1, sendNilMany, length), true},
		{"all-or-nothing", mailboxtest.BatchAllOrNothing, mbBytes(3, 1, trySend, sendMany3), true},
		{"recv-reversed", mailboxtest.BatchReverses, mbBytes(4, 1, sendMany3, recvMany3), true},
		// Under concurrency a batch may move fewer items than it could
		// (spec.Mailbox), so the model accepts a short batch, and only the
		// sequential replay, where a batch alone must move all it may, can
		// tell.
		{"recv-one", mailboxtest.BatchRecvOne, mbBytes(4, 1, sendMany3, recvMany2), false},
		// A copy carries the right value, so only the sequential replay,
		// which compares pointers, can tell.
		{"recv-copy", mailboxtest.BatchCopies, mbBytes(4, 1, sendMany2, recvMany2), false},
	}
}

// The bug: batch checks that pass a broken batch: a Nil batch that sent
// its prefix, an all-or-nothing batch, a batch receipt that reverses its
// items, takes fewer than it may, or hands out copies. Each must fail the
// sequential replay, and (but for the short batch and the copy) the
// linearizability check.
func TestChecksCatchBrokenBatches(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range mbBatchSelfChecks() {
		t.Run(c.name, func(t *testing.T) {
			mustCatchMailbox(t, c.name, c.data, c.concurrent, brokenMailboxes(c.bug))
		})
	}
}

// The control: the real mailbox passes the same inputs, so that the
// failures above are the bugs' doing and not the inputs'.
func TestChecksPassRealBatches(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range mbBatchSelfChecks() {
		if err := checkMailbox(mailboxtest.NewMailbox, c.data); err != nil {
			t.Errorf("%s input %q: %v", c.name, c.data, err)
		}
	}
}

// The bug: a decoder whose batches are not what the table says (the
// wrong size, a nil missing or one too many, values repeated within a
// batch or shared with another send, which would let a duplicated item
// pass for another), or a concurrent program that runs a batch step as
// another operation or with other items or room.
func TestDecodeMailboxBatches(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	data := []byte{4, 3}
	for i := range mbTable {
		data = append(data, byte(i))
	}
	in := decodeMailbox(data[:2+mbMaxSteps])
	seen := map[int]bool{}
	batches := 0
	for i, st := range in.steps {
		e := mbTable[data[2+i]&63]
		if st.kind != e.kind {
			t.Fatalf("step %d: kind %s, want %s", i, mbKindNames[st.kind].name, mbKindNames[e.kind].name)
		}
		vals := st.values
		if st.value != 0 {
			vals = append(vals, st.value)
		}
		if st.kind == mbTrySendMany {
			batches++
			nils := 0
			for _, v := range st.values {
				if v == 0 {
					nils++
				}
			}
			if len(st.values) != e.n || nils != map[bool]int{true: 1}[e.isNil] {
				t.Errorf("step %d: %s from entry %+v", i, st, e)
			}
		} else if st.values != nil {
			t.Errorf("step %d: %s carries batch values %v", i, st, st.values)
		}
		for _, v := range vals {
			if v != 0 && (seen[v] || v < 0) {
				t.Errorf("step %d: value %d sent twice or negative", i, v)
			}
			seen[v] = true
		}
	}
	if batches == 0 {
		t.Fatal("no batch send decoded from a walk through the whole table")
	}
	ops := mailboxtest.Ops()
	for _, steps := range mailboxProgram(in) {
		for _, ps := range steps {
			mi := ps.Input.(model.MailboxInput)
			name := ops[ps.Op].Name
			switch {
			case mi.Op == model.MbTrySendMany && name != "trySendMany",
				mi.Op == model.MbTryRecvMany && name != "tryRecvMany",
				name == "trySendMany" && mi.Op != model.MbTrySendMany,
				name == "tryRecvMany" && mi.Op != model.MbTryRecvMany:
				t.Errorf("program step %s with input %s", name, model.DescribeMailboxOp(mi, nil))
			}
		}
	}
	// One batch of each kind, mapped one by one.
	for _, e := range mbTable {
		if e.kind != mbTrySendMany && e.kind != mbTryRecvMany {
			continue
		}
		in := decodeMailbox(mbBytes(4, 1, [2]int{0, mbAt(e)}))
		p := mailboxProgram(in)
		st, ps := in.steps[0], p[0][0]
		mi := ps.Input.(model.MailboxInput)
		want := model.MailboxInput{Op: model.MbTryRecvMany, N: e.n}
		if e.kind == mbTrySendMany {
			want = model.MailboxInput{Op: model.MbTrySendMany, Values: st.values}
		}
		if ops[ps.Op].Name != mbKindNames[e.kind].campaign || mi.Op != want.Op || mi.N != want.N || !slices.Equal(mi.Values, want.Values) {
			t.Errorf("entry %+v runs as %s %s, want %s %s", e, ops[ps.Op].Name, model.DescribeMailboxOp(mi, nil),
				mbKindNames[e.kind].campaign, model.DescribeMailboxOp(want, nil))
		}
	}
}
