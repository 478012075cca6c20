package model_test

import (
	"syscall"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
	"pgregory.net/rapid"
)

func rtOp(op model.RuntimeOp, out model.RuntimeOutput) porcupine.Operation {
	return porcupine.Operation{Input: model.RuntimeInput{Op: op}, Output: out}
}

func rtBool(op model.RuntimeOp, b bool) porcupine.Operation {
	return rtOp(op, model.RuntimeOutput{Bool: b})
}

func rtFlags(f spec.RuntimeFlags) porcupine.Operation {
	return rtOp(model.RtFlags, model.RuntimeOutput{Flags: f})
}

func rtSteps(n int64) porcupine.Operation { return rtOp(model.RtSteps, model.RuntimeOutput{N: n}) }

func rtErr(op model.RuntimeOp, err error) porcupine.Operation {
	return rtOp(op, model.RuntimeOutput{Err: err})
}

const (
	running = spec.RtRunning | spec.RtPolling | spec.RtCancels
	asleep  = spec.RtFrozen | spec.RtPolling | spec.RtCancels
	dead    = spec.RtTeardown | spec.RtDead | spec.RtCancels
)

// Each case names the model bug that would flip its verdict.
func TestRuntimeModelVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    []porcupine.Operation
		ok   bool
	}{
		{"a running runtime counts", seq(rtFlags(running), rtSteps(1), rtSteps(5)), true},
		{"the counter never goes back (a model that forgets the last read)", seq(rtSteps(5), rtSteps(4)), false},
		{"asleep, the counter stands still (a model without pinning)", seq(
			rtBool(model.RtFreeze, true), rtFlags(asleep), rtSteps(3), rtSteps(4)), false},
		{"frozen but still running a step: the counter may move", seq(
			rtBool(model.RtFreeze, true), rtFlags(asleep|spec.RtRunning), rtSteps(3), rtSteps(4)), true},
		{"thawed, it counts again", seq(
			rtBool(model.RtFreeze, true), rtFlags(asleep), rtSteps(3), rtBool(model.RtThaw, true), rtSteps(4)), true},
		{"running again after being seen asleep, without a thaw", seq(
			rtBool(model.RtFreeze, true), rtFlags(asleep), rtFlags(asleep|spec.RtRunning)), false},
		{"a second freeze is refused", seq(rtBool(model.RtFreeze, true), rtBool(model.RtFreeze, true)), false},
		{"halted: freeze refused, teardown, Join ok", seq(
			rtBool(model.RtHalt, true), rtBool(model.RtFreeze, false), rtErr(model.RtJoin, nil),
			rtFlags(dead|spec.RtHalted), rtBool(model.RtHalt, false)), true},
		{"Join before anything made the runtime due to end (a model that tears down at will)", seq(
			rtErr(model.RtJoin, nil)), false},
		{"Halted must show until the end (a model that loses the flag)", seq(
			rtBool(model.RtHalt, true), rtFlags(running)), false},
		{"after Cancel, Join reports ErrCanceled", seq(
			rtBool(model.RtCancel, true), rtErr(model.RtJoin, spec.ErrCanceled), rtBool(model.RtCancel, false)), true},
		{"after Cancel, Join reporting nil", seq(rtBool(model.RtCancel, true), rtErr(model.RtJoin, nil)), false},
		{"Eject stops the counter at once", seq(
			rtErr(model.RtEject, nil), rtSteps(7), rtSteps(8)), false},
		{"Eject leaves the runtime frozen and asleep; Freeze refused; a second Eject finds nothing", seq(
			rtErr(model.RtEject, nil), rtFlags(asleep), rtBool(model.RtFreeze, false),
			rtErr(model.RtEject, spec.ErrNoContinuation)), true},
		{"a failed Eject leaves no freeze (the non-atomic Eject)", seq(
			rtBool(model.RtHalt, true), rtErr(model.RtEject, spec.ErrTornDown), rtBool(model.RtThaw, true)), false},
		{"ejected and thawed, it tears down", seq(
			rtErr(model.RtEject, nil), rtBool(model.RtThaw, true), rtErr(model.RtJoin, nil), rtFlags(dead)), true},
		{"ejected and thawed: Freeze refused (the runtime is on its way out)", seq(
			rtErr(model.RtEject, nil), rtBool(model.RtThaw, true), rtBool(model.RtFreeze, true)), false},
		{"Halt refused once torn down", seq(
			rtErr(model.RtEject, nil), rtBool(model.RtThaw, true), rtFlags(dead), rtBool(model.RtHalt, true)), false},
		{"Eject of a halted runtime fails", seq(rtBool(model.RtHalt, true), rtErr(model.RtEject, nil)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(model.Runtime(), tc.h); got != tc.ok {
				t.Fatalf("linearizable = %v, want %v", got, tc.ok)
			}
		})
	}
}

// RuntimeRef and the porcupine model agree: any sequence of operations
// with RuntimeRef's results, its flags read after each, is a legal
// sequential history, and altering one Bool or error result makes it
// illegal (a result the model does not pin down would let bugs through).
func TestRuntimeModelAgreesWithRef(t *testing.T) {
	ops := []model.RuntimeOp{model.RtHalt, model.RtFreeze, model.RtThaw, model.RtInterrupt, model.RtCancel, model.RtEject}
	rapid.Check(t, func(t *rapid.T) {
		ref := new(model.RuntimeRef)
		var h []porcupine.Operation
		var flipAt []int // indices of results that can be altered
		for range rapid.IntRange(0, 12).Draw(t, "n") {
			op := rapid.SampledFrom(ops).Draw(t, "op")
			var out model.RuntimeOutput
			switch op {
			case model.RtHalt:
				out.Bool = ref.Halt()
			case model.RtFreeze:
				out.Bool = ref.Freeze()
			case model.RtThaw:
				out.Bool = ref.Thaw()
			case model.RtCancel:
				out.Bool = ref.Cancel()
			case model.RtEject:
				out.Err = ref.Eject()
			}
			if op != model.RtInterrupt {
				flipAt = append(flipAt, len(h))
			}
			h = append(h, rtOp(op, out), rtFlags(ref.Flags()))
		}
		if ref.Dead() {
			h = append(h, rtErr(model.RtJoin, ref.Join()))
		}
		if !porcupine.CheckOperations(model.Runtime(), seq(h...)) {
			t.Fatalf("the model rejects the reference's history")
		}
		if len(flipAt) == 0 {
			return
		}
		i := rapid.SampledFrom(flipAt).Draw(t, "flip")
		bad := append([]porcupine.Operation(nil), h...)
		out := bad[i].Output.(model.RuntimeOutput)
		switch in := bad[i].Input.(model.RuntimeInput); in.Op {
		case model.RtEject:
			if out.Err == nil {
				out.Err = spec.ErrNoContinuation
			} else {
				out.Err = nil
			}
		default:
			out.Bool = !out.Bool
		}
		bad[i].Output = out
		if porcupine.CheckOperations(model.Runtime(), seq(bad...)) {
			t.Fatalf("the model accepts operation %d with an altered result", i)
		}
	})
}

func TestDescribeRuntimeOp(t *testing.T) {
	for _, tc := range []struct {
		op   porcupine.Operation
		want string
	}{
		{rtBool(model.RtFreeze, true), "freeze() → true"},
		{rtSteps(12), "steps() → 12"},
		{rtErr(model.RtEject, nil), "eject() → ok"},
		{rtOp(model.RtInterrupt, model.RuntimeOutput{}), "interrupt()"},
	} {
		if got := model.DescribeRuntimeOp(tc.op.Input, tc.op.Output); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// on returns op on runtime r of a group (with peer for a link or unlink).
func on(r int, op porcupine.Operation) porcupine.Operation {
	in := op.Input.(model.RuntimeInput)
	in.R = r
	op.Input = in
	return op
}

func rtLink(r, peer int, err error) porcupine.Operation {
	return porcupine.Operation{Input: model.RuntimeInput{Op: model.RtLink, R: r, Peer: peer}, Output: model.RuntimeOutput{Err: err}}
}

func rtUnlink(r, peer int) porcupine.Operation {
	return porcupine.Operation{Input: model.RuntimeInput{Op: model.RtUnlink, R: r, Peer: peer}, Output: model.RuntimeOutput{}}
}

func rtSignal(r int, sig syscall.Signal) porcupine.Operation {
	return porcupine.Operation{Input: model.RuntimeInput{Op: model.RtSignal, R: r, Sig: sig}, Output: model.RuntimeOutput{}}
}

const linkedDead = dead | spec.RtHalted | spec.RtLinked

// Links and signals over a group of runtimes: each case names the model
// bug that would flip its verdict.
func TestRuntimeModelLinks(t *testing.T) {
	canceledByPeer := &linkedErr{spec.ErrCanceled}
	for _, tc := range []struct {
		name string
		h    []porcupine.Operation
		ok   bool
	}{
		{"a halt reaches the linked runtime", seq(rtLink(0, 1, nil), on(0, rtBool(model.RtHalt, true)),
			on(0, rtErr(model.RtJoin, nil)), on(1, rtErr(model.RtJoin, nil)), on(1, rtFlags(linkedDead))), true},
		{"the linked runtime still running once the teardown is over (a model without propagation)", seq(rtLink(0, 1, nil),
			on(0, rtBool(model.RtHalt, true)), on(0, rtErr(model.RtJoin, nil)), on(1, rtFlags(running|spec.RtLinked))), false},
		{"halted by its peer's teardown before that peer is Dead: Halted may come late, not after Dead", seq(rtLink(0, 1, nil),
			on(0, rtBool(model.RtHalt, true)), on(0, rtFlags(linkedDead)), on(1, rtFlags(running|spec.RtLinked))), false},
		{"a halt does not cross an unlink (a model whose unlink keeps the link)", seq(rtLink(0, 1, nil), rtUnlink(1, 0),
			on(0, rtBool(model.RtHalt, true)), on(0, rtErr(model.RtJoin, nil)), on(1, rtFlags(running))), true},
		{"the unlinked runtime halted by its former peer's teardown", seq(rtLink(0, 1, nil), rtUnlink(1, 0),
			on(0, rtBool(model.RtHalt, true)), on(0, rtErr(model.RtJoin, nil)), on(1, rtFlags(running|spec.RtHalted))), false},
		{"a cancel's failure reaches the peer's Join (a model that drops linked errors)", seq(rtLink(0, 1, nil),
			on(0, rtBool(model.RtCancel, true)), on(1, rtErr(model.RtJoin, canceledByPeer))), true},
		{"the peer of a canceled runtime joining with no error", seq(rtLink(0, 1, nil),
			on(0, rtBool(model.RtCancel, true)), on(0, rtErr(model.RtJoin, spec.ErrCanceled)), on(1, rtErr(model.RtJoin, nil))), false},
		{"a linked failure goes on down a chain", seq(rtLink(0, 1, nil), rtLink(1, 2, nil),
			on(0, rtBool(model.RtCancel, true)), on(2, rtErr(model.RtJoin, &linkedErr{canceledByPeer}))), true},
		{"a clean halt gives the peer no error", seq(rtLink(0, 1, nil),
			on(0, rtBool(model.RtHalt, true)), on(1, rtErr(model.RtJoin, canceledByPeer))), false},
		{"a self link is refused", seq(rtLink(2, 2, spec.ErrSelfLink), on(2, rtFlags(running))), true},
		{"a self link accepted (a model without the rule)", seq(rtLink(2, 2, nil)), false},
		{"a link to a torn-down runtime is refused", seq(on(1, rtBool(model.RtHalt, true)), on(1, rtErr(model.RtJoin, nil)),
			rtLink(0, 1, spec.ErrTornDown)), true},
		{"a link to a torn-down runtime accepted", seq(on(1, rtBool(model.RtHalt, true)), on(1, rtErr(model.RtJoin, nil)),
			rtLink(0, 1, nil)), false},
		{"Linked on a runtime never linked", seq(on(1, rtFlags(running|spec.RtLinked))), false},
		{"SIGTERM halts, SIGCONT thaws, SIGINT does nothing", seq(on(1, rtBool(model.RtFreeze, true)),
			rtSignal(1, syscall.SIGINT), on(1, rtFlags(asleep)), rtSignal(1, syscall.SIGCONT), on(1, rtFlags(running)),
			rtSignal(1, syscall.SIGTERM), on(1, rtErr(model.RtJoin, nil))), true},
		{"SIGINT that halts (a model that halts on every signal)", seq(rtSignal(0, syscall.SIGINT), on(0, rtErr(model.RtJoin, nil))), false},
		{"a halt signal lost (the runtime still running after SIGQUIT)", seq(rtSignal(0, syscall.SIGQUIT), on(0, rtFlags(running))), false},
		{"a halter that halted: the runtime tears down", seq(on(1, rtBool(model.RtHalter, true)), on(1, rtErr(model.RtJoin, nil)),
			on(1, rtFlags(dead|spec.RtHalted))), true},
		{"a halter that spared the runtime leaves it running", seq(on(1, rtBool(model.RtHalter, false)), on(1, rtFlags(running))), true},
		{"a halter that reports halting a halted runtime (a model where a halter's halt never fails)", seq(on(0, rtBool(model.RtHalt, true)),
			on(0, rtBool(model.RtHalter, true))), false},
		{"a halt after a halter's Stop that reported none (a model where Stop does not wait)", seq(on(0, rtBool(model.RtHalter, false)),
			on(0, rtFlags(running|spec.RtHalted))), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(model.Runtime(), tc.h); got != tc.ok {
				t.Fatalf("linearizable = %v, want %v", got, tc.ok)
			}
		})
	}
}

// linkedErr is a linked failure as impl/rt reports one: ErrLinkedFailure,
// wrapping the peer's error.
type linkedErr struct{ err error }

func (e *linkedErr) Error() string        { return "linked: " + e.err.Error() }
func (e *linkedErr) Is(target error) bool { return target == spec.ErrLinkedFailure }
func (e *linkedErr) Unwrap() error        { return e.err }
