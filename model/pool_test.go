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
