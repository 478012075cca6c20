package model_test

import (
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
	"pgregory.net/rapid"
)

type mbOp = porcupine.Operation

func mb(op model.MailboxOp, value, n int, out model.MailboxOutput) mbOp {
	return mbOp{Input: model.MailboxInput{Op: op, Value: value, N: n}, Output: out}
}

func res(r spec.Result) model.MailboxOutput { return model.MailboxOutput{Result: r} }

func got(v int) model.MailboxOutput { return model.MailboxOutput{Result: spec.Received, Value: v} }

// sendMany is a TrySendMany of vs that sent n and Delivered (0: Nil).
func sendMany(vs []int, n int) mbOp {
	return mbOp{Input: model.MailboxInput{Op: model.MbTrySendMany, Values: vs}, Output: model.MailboxOutput{Result: spec.Delivered, N: n}}
}

// recvMany is a TryRecvMany of room n that received vs.
func recvMany(n int, vs ...int) mbOp {
	return mbOp{Input: model.MailboxInput{Op: model.MbTryRecvMany, N: n}, Output: model.MailboxOutput{Result: spec.Received, Values: vs}}
}

// at gives an operation the interval [call, ret].
func at(o mbOp, call, ret int64) mbOp {
	o.Call, o.Return = call, ret
	return o
}

// Each case names the model bug that would flip its verdict.
func TestMailboxModelVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		capacity int
		h        []porcupine.Operation
		ok       bool
	}{
		{"FIFO delivery", 2, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbTrySend, 2, 0, res(spec.Delivered)),
			mb(model.MbTryRecv, 0, 0, got(1)), mb(model.MbRecv, 0, 0, got(2))), true},
		{"delivered beyond capacity (a model that ignores the capacity)", 1, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbTrySend, 2, 0, res(spec.Delivered))), false},
		{"full when there is room (a model that counts wrong)", 2, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbTrySend, 2, 0, res(spec.Full))), false},
		{"capacity 0 is full from birth", 0, seq(mb(model.MbTrySend, 1, 0, res(spec.Full))), true},
		{"empty with an item queued", 2, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbTryRecv, 0, 0, res(spec.Empty))), false},
		{"nil is refused before anything else", 0, seq(
			mb(model.MbPause, 0, 0, model.MailboxOutput{Bool: true}), mb(model.MbTrySend, 0, 0, res(spec.Nil))), true},
		{"paused first: a paused, closed mailbox says Paused", 2, seq(
			mb(model.MbCloseWrite, 0, 0, model.MailboxOutput{Bool: true}), mb(model.MbPause, 0, 0, model.MailboxOutput{Bool: true}),
			mb(model.MbTrySend, 1, 0, res(spec.Paused)), mb(model.MbTryRecv, 0, 0, res(spec.Paused))), true},
		{"CloseWrite drains, then Unreadable", 2, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbCloseWrite, 0, 0, model.MailboxOutput{Bool: true}),
			mb(model.MbTrySend, 2, 0, res(spec.Unwritable)), mb(model.MbTryRecv, 0, 0, got(1)),
			mb(model.MbTryRecv, 0, 0, res(spec.Unreadable))), true},
		{"CloseRead makes the mailbox unwritable at once (the seed's rule would deliver)", 2, seq(
			mb(model.MbCloseRead, 0, 0, model.MailboxOutput{Bool: true}), mb(model.MbTrySend, 1, 0, res(spec.Delivered))), false},
		{"a second close reports false", 2, seq(
			mb(model.MbCloseWrite, 0, 0, model.MailboxOutput{Bool: true}), mb(model.MbCloseWrite, 0, 0, model.MailboxOutput{Bool: true})), false},
		{"interrupt with nobody asleep leaves it pending for the next sleeper", 1, seq(
			mb(model.MbInterrupt, 0, 1, model.MailboxOutput{N: 0}), mb(model.MbFlags, 0, 0, model.MailboxOutput{Flags: spec.FlagInterrupt | spec.FlagEmpty | spec.FlagReadable | spec.FlagWritable | spec.FlagBounded}),
			mb(model.MbRecv, 0, 0, res(spec.Interrupted))), true},
		{"an interrupted Recv with no Interrupt at all", 1, seq(mb(model.MbRecv, 0, 0, res(spec.Interrupted))), false},
		{"a pending interrupt stops only a call that would sleep", 1, seq(
			mb(model.MbInterrupt, 0, 1, model.MailboxOutput{N: 0}), mb(model.MbTrySend, 1, 0, res(spec.Delivered)),
			mb(model.MbRecv, 0, 0, res(spec.Interrupted))), false},
		{"Interrupt claims to have woken one, and nobody returns interrupted", 1, seq(
			mb(model.MbInterrupt, 0, 1, model.MailboxOutput{N: 1}), mb(model.MbLen, 0, 0, model.MailboxOutput{N: 0})), false},
		{"a woken sleeper returns interrupted right after the Interrupt", 1, []porcupine.Operation{
			at(mb(model.MbRecv, 0, 0, res(spec.Interrupted)), 0, 10),
			at(mb(model.MbInterrupt, 0, 3, model.MailboxOutput{N: 1}), 5, 6),
			at(mb(model.MbLen, 0, 0, model.MailboxOutput{N: 0}), 7, 8)}, true},
		{"a context that ends while the call could proceed", 2, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbRecv, 0, 0, model.MailboxOutput{Canceled: true})), false},
		{"drain returns everything, in order, and empties the mailbox", 3, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbTrySend, 2, 0, res(spec.Delivered)),
			mb(model.MbDrain, 0, 0, model.MailboxOutput{Values: []int{1, 2}}), mb(model.MbLen, 0, 0, model.MailboxOutput{N: 0})), true},
		{"a drain out of order (a model that ignores the order)", 3, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbTrySend, 2, 0, res(spec.Delivered)),
			mb(model.MbDrain, 0, 0, model.MailboxOutput{Values: []int{2, 1}})), false},
		// A drain may leave later items behind (they may have landed while
		// it decided), so the model cannot reject this; the sequential
		// tests, which compare with MailboxRef, demand every item.
		{"a drain that leaves an item behind, accepted as one that was short", 3, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbTrySend, 2, 0, res(spec.Delivered)),
			mb(model.MbDrain, 0, 0, model.MailboxOutput{Values: []int{1}}), mb(model.MbLen, 0, 0, model.MailboxOutput{N: 1})), true},
		{"a drain that leaves the first item behind", 3, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbTrySend, 2, 0, res(spec.Delivered)),
			mb(model.MbDrain, 0, 0, model.MailboxOutput{Values: []int{2}})), false},
		{"clear counts what it removed", 3, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbClear, 0, 0, model.MailboxOutput{N: 1}),
			mb(model.MbTryRecv, 0, 0, res(spec.Empty))), true},
		{"SetCap below the length makes it full", 3, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbTrySend, 2, 0, res(spec.Delivered)),
			mb(model.MbSetCap, 0, 1, model.MailboxOutput{}), mb(model.MbTrySend, 3, 0, res(spec.Full)),
			mb(model.MbCap, 0, 0, model.MailboxOutput{N: 1})), true},
		// The batches. A batch moves at least one item where one would
		// move and at most what fits (or what there is), the first ones,
		// together; under concurrency it may move fewer than that
		// (spec.Mailbox), so the model takes any such number.
		{"a batch moves the first items, together", 3, seq(
			sendMany([]int{1, 2}, 2), sendMany([]int{3, 4}, 1),
			recvMany(2, 1, 2), recvMany(5, 3)), true},
		{"a short batch: 1 of 2 sent where 2 fit, then 1 taken of 2 queued", 2, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), recvMany(2, 1),
			sendMany([]int{2, 3}, 1), sendMany([]int{4}, 1), recvMany(2, 2), recvMany(2, 4)), true},
		{"the stress suite's history: a cap-2 batch of 2 sends 1 while a batch receipt empties it", 2, []porcupine.Operation{
			at(mb(model.MbSend, 3, 0, res(spec.Delivered)), 0, 2),
			at(recvMany(2, 3), 1, 6),
			at(sendMany([]int{4, 5}, 1), 3, 4),
			at(mb(model.MbDrain, 0, 0, model.MailboxOutput{Values: []int{4}}), 5, 7)}, true},
		{"a drain that misses a send landing while it decides, which a Len saw", 3, []porcupine.Operation{
			at(mb(model.MbTrySend, 1, 0, res(spec.Delivered)), 0, 1),
			at(mb(model.MbDrain, 0, 0, model.MailboxOutput{Values: []int{1}}), 2, 9),
			at(mb(model.MbTrySend, 2, 0, res(spec.Delivered)), 3, 4),
			at(mb(model.MbLen, 0, 0, model.MailboxOutput{N: 2}), 5, 6),
			at(mb(model.MbLen, 0, 0, model.MailboxOutput{N: 1}), 10, 11)}, true},
		{"a drain that takes nothing from a mailbox with an item (a model that lets it)", 3, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbDrain, 0, 0, model.MailboxOutput{Values: nil})), false},
		{"a clear that counts more than there was", 3, seq(
			mb(model.MbTrySend, 1, 0, res(spec.Delivered)), mb(model.MbClear, 0, 0, model.MailboxOutput{N: 2})), false},
		{"a batch that sends none where one fits (a model that lets a batch do nothing)", 2, seq(
			sendMany([]int{1, 2}, 0)), false},
		{"a batch that sends more than fits", 2, seq(
			sendMany([]int{1, 2, 3}, 3)), false},
		{"a batch receipt that skips the first item (a model that takes any items)", 3, seq(
			sendMany([]int{1, 2, 3}, 3), recvMany(2, 2, 3)), false},
		{"a batch receipt of more than it asked for", 3, seq(
			sendMany([]int{1, 2, 3}, 3), recvMany(2, 1, 2, 3)), false},
	} {
		if got := porcupine.CheckOperations(model.Mailbox(tc.capacity), tc.h); got != tc.ok {
			t.Errorf("%s: linearizable = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// The porcupine model and the reference agree: every sequential history
// the reference produces is accepted, and changing one receipt's value
// makes it rejected.
func TestMailboxModelAgreesWithRef(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		capacity := rapid.SampledFrom([]int{0, 1, 2, spec.Unbounded}).Draw(t, "cap")
		ref := model.NewMailboxRef(capacity)
		var h []porcupine.Operation
		next := 0
		for range rapid.IntRange(0, 30).Draw(t, "n") {
			switch rapid.IntRange(0, 7).Draw(t, "op") {
			case 0, 1:
				next++
				h = append(h, mb(model.MbTrySend, next, 0, res(ref.TrySend(next))))
			case 2, 3:
				v, r := ref.TryRecv()
				h = append(h, mb(model.MbTryRecv, 0, 0, model.MailboxOutput{Result: r, Value: v}))
			case 4:
				h = append(h, mb(model.MbPause, 0, 0, model.MailboxOutput{Bool: ref.Pause()}))
			case 5:
				h = append(h, mb(model.MbResume, 0, 0, model.MailboxOutput{Bool: ref.Resume()}))
			case 6:
				h = append(h, mb(model.MbLen, 0, 0, model.MailboxOutput{N: ref.Len()}))
			case 7:
				h = append(h, mb(model.MbFlags, 0, 0, model.MailboxOutput{Flags: ref.Flags()}))
			}
		}
		if !porcupine.CheckOperations(model.Mailbox(capacity), seq(h...)) {
			t.Fatalf("the model rejects a history the reference produced")
		}
		for i, o := range h {
			if out := o.Output.(model.MailboxOutput); o.Input.(model.MailboxInput).Op == model.MbTryRecv && out.Result == spec.Received {
				bad := append([]porcupine.Operation(nil), h...)
				bad[i].Output = got(out.Value + 1000)
				if porcupine.CheckOperations(model.Mailbox(capacity), seq(bad...)) {
					t.Fatalf("the model accepts a receipt of a value never sent")
				}
				break
			}
		}
	})
}

func TestDescribeMailboxOp(t *testing.T) {
	for _, tc := range []struct {
		op   mbOp
		want string
	}{
		{mb(model.MbSend, 3, 0, res(spec.Delivered)), "send(3) → Delivered"},
		{mb(model.MbRecv, 0, 0, got(3)), "recv() → 3"},
		{mb(model.MbRecv, 0, 0, model.MailboxOutput{Canceled: true}), "recv() → canceled"},
		{mb(model.MbInterrupt, 0, 2, model.MailboxOutput{N: 1}), "interrupt(2) → 1"},
		{mb(model.MbSetCap, 0, spec.Unbounded, model.MailboxOutput{}), "setCap(∞)"},
		{mb(model.MbPause, 0, 0, model.MailboxOutput{Bool: true}), "pause() → true"},
	} {
		if got := model.DescribeMailboxOp(tc.op.Input, tc.op.Output); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
