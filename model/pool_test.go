package model_test

import (
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/model"
)

func poolOp(op model.PoolOp, out model.PoolOutput) porcupine.Operation {
	return porcupine.Operation{Input: model.PoolInput{Op: op}, Output: out}
}

func submitted() porcupine.Operation { return poolOp(model.PoolSubmit, model.PoolOutput{OK: true}) }

func poolN(op model.PoolOp, n int) porcupine.Operation {
	return poolOp(op, model.PoolOutput{N: n})
}

func audit(done, left, inbox, dup int) porcupine.Operation {
	return poolOp(model.PoolAudit, model.PoolOutput{Done: done, Left: left, Inbox: inbox, Dup: dup})
}

// Each case names the model bug that would flip its verdict.
func TestPoolModelVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    []porcupine.Operation
		ok   bool
	}{
		{"every job accounted for", seq(submitted(), submitted(), submitted(), poolN(model.PoolDone, 1), audit(1, 1, 1, 0)), true},
		{"a job lost (a model that does not add up)", seq(submitted(), submitted(), audit(1, 0, 0, 0)), false},
		{"a job counted twice", seq(submitted(), audit(1, 0, 1, 0)), false},
		{"a job run twice (a model that ignores Dup)", seq(submitted(), audit(1, 0, 0, 1)), false},
		{"done before the job was sent (a model without the upper bound)", seq(poolN(model.PoolDone, 1), submitted()), false},
		{"completions go back", seq(submitted(), submitted(), poolN(model.PoolDone, 2), poolN(model.PoolDone, 1)), false},
		{"the audit shows fewer completions than seen", seq(submitted(), poolN(model.PoolDone, 1), audit(0, 1, 0, 0)), false},
		{"Count follows Add and Drain", seq(poolOp(model.PoolAdd, model.PoolOutput{OK: true}), poolN(model.PoolCount, 3),
			poolOp(model.PoolDrain, model.PoolOutput{OK: true}), poolOp(model.PoolDrain, model.PoolOutput{OK: true}),
			poolOp(model.PoolDrain, model.PoolOutput{OK: true}), poolOp(model.PoolDrain, model.PoolOutput{OK: false}), poolN(model.PoolCount, 0)), true},
		{"Drain of an empty pool finds a worker", seq(poolOp(model.PoolDrain, model.PoolOutput{OK: true}),
			poolOp(model.PoolDrain, model.PoolOutput{OK: true}), poolOp(model.PoolDrain, model.PoolOutput{OK: true})), false},
		{"controls change nothing", seq(submitted(), poolOp(model.PoolFreeze, model.PoolOutput{OK: true}), poolOp(model.PoolHalt, model.PoolOutput{}),
			poolN(model.PoolCount, 2), audit(0, 0, 1, 0)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(model.Pool(2), tc.h); got != tc.ok {
				t.Fatalf("linearizable = %v, want %v", got, tc.ok)
			}
		})
	}
	if got := model.DescribePoolOp(model.PoolInput{Op: model.PoolAudit}, model.PoolOutput{Done: 7, Left: 1, Inbox: 2}); got != "audit() → done 7, left 1, inbox 2, dup 0" {
		t.Errorf("DescribePoolOp: %q", got)
	}
}

// The reference pool keeps its members in order: Add appends (all or
// none), Drain takes the newest, Clear all; the leavers are kept. Each
// check names the bug it catches.
func TestPoolRef(t *testing.T) {
	var p model.PoolRef[string]
	if !p.Add("a", "b") || !p.Add("c") {
		t.Fatal("Add of new members refused")
	}
	if p.Add("d", "a") || p.Add("e", "e") || p.Count() != 3 {
		t.Fatal("an Add with a member already in, or twice, was taken (or taken in part)")
	}
	if m, ok := p.Drain(); !ok || m != "c" {
		t.Fatalf("Drain = %q, %v; want the newest, c", m, ok) // the bug: the oldest end
	}
	if got := p.Items(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("Items = %v, want [a b]", got)
	}
	p.Clear()
	if _, ok := p.Drain(); ok || p.Count() != 0 {
		t.Fatal("Drain of a cleared pool found a member")
	}
	if got := p.All(); len(got) != 3 || got[0] != "c" || got[1] != "a" || got[2] != "b" {
		t.Fatalf("All = %v, want the leavers in the order they left: [c a b]", got) // the bug: a leaver forgotten
	}
	if !p.Add("c") {
		t.Fatal("a runtime that left could not come back")
	}
}

// Runners and jobs meet at once, whichever comes first, and each runner
// that took a job ends. The bug: a model that lets a runner take two
// jobs (Completed past the runners), or queues a job beside a waiting
// runner.
func TestRunnerPoolRef(t *testing.T) {
	var r model.RunnerPoolRef
	r.Send()
	r.Send()
	r.Add()
	if r.Queued != 1 || r.Completed != 1 || r.Alive != 0 {
		t.Fatalf("after two sends and a runner: %+v", r)
	}
	r.Add()
	r.Add()
	r.Send()
	if r.Queued != 0 || r.Completed != 3 || r.Alive != 0 || r.Dead() != 3 || r.Count() != 3 {
		t.Fatalf("after three runners and a send: %+v", r)
	}
}

// The ledger's audit finds a job lost, a job in two places and a job
// completed twice, and passes a ledger that adds up.
func TestPoolLedger(t *testing.T) {
	newLedger := func(completed ...int) *model.PoolLedger {
		var l model.PoolLedger
		for range 4 {
			l.Send()
		}
		for _, id := range completed {
			l.Complete(id)
		}
		return &l
	}
	if err := newLedger(0, 1).Audit([]int{2}, []int{3}); err != nil {
		t.Fatalf("a ledger that adds up: %v", err)
	}
	for name, err := range map[string]error{
		"lost":            newLedger(0, 1).Audit([]int{2}, nil),
		"queued and done": newLedger(0, 1, 2).Audit([]int{2}, []int{3}),
		"completed twice": newLedger(0, 0, 1).Audit([]int{2}, []int{3}),
		"left twice":      newLedger(0, 1).Audit([]int{2}, []int{3, 3}),
		"never sent":      newLedger(0, 1).Audit([]int{2, 9}, []int{3}),
	} {
		if err == nil {
			t.Errorf("%s: the audit passed", name)
		}
	}
	if l := newLedger(0, 0, 2); l.Completed() != 2 || l.Sent() != 4 {
		t.Errorf("Completed = %d, Sent = %d; want 2 and 4", l.Completed(), l.Sent())
	}
}
