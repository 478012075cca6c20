package model_test

import (
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/model"
	"go.uber.org/goleak"
	"pgregory.net/rapid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFIFO(t *testing.T) {
	var f model.FIFO[string]
	if _, ok := f.Pop(); ok {
		t.Fatal("a new FIFO is not empty")
	}
	f.Push("a")
	f.Push("b")
	if f.Len() != 2 {
		t.Fatalf("Len = %d, want 2", f.Len())
	}
	for _, want := range []string{"a", "b"} {
		if got, ok := f.Pop(); !ok || got != want {
			t.Fatalf("Pop = %q %v, want %q", got, ok, want)
		}
	}
	if _, ok := f.Pop(); ok || f.Len() != 0 {
		t.Fatal("FIFO not empty after popping everything")
	}
}

// seq turns a sequential list of queue operations into a history with
// non-overlapping intervals, in list order.
func seq(ops ...porcupine.Operation) []porcupine.Operation {
	for i := range ops {
		ops[i].Call, ops[i].Return = int64(2*i), int64(2*i+1)
	}
	return ops
}

func push(v int) porcupine.Operation {
	return porcupine.Operation{Input: model.QueueInput{Op: model.QueuePush, Value: v}, Output: model.QueueOutput{}}
}

func pop(v int, ok bool) porcupine.Operation {
	return porcupine.Operation{Input: model.QueueInput{Op: model.QueuePop}, Output: model.QueueOutput{Value: v, Ok: ok}}
}

func length(n int) porcupine.Operation {
	return porcupine.Operation{Input: model.QueueInput{Op: model.QueueLen}, Output: model.QueueOutput{Value: n}}
}

// Each case names the model bug it would catch if the verdict flipped.
func TestQueueModelVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    []porcupine.Operation
		ok   bool
	}{
		{"FIFO order accepted", seq(push(1), push(2), pop(1, true), pop(2, true), pop(0, false)), true},
		{"LIFO order rejected (a model that pops the newest)", seq(push(1), push(2), pop(2, true)), false},
		{"empty while non-empty rejected (a model that allows spurious empties)", seq(push(1), pop(0, false)), false},
		{"value never pushed rejected (a model that ignores the value)", seq(pop(5, true)), false},
		{"duplicate rejected (a model that does not remove)", seq(push(1), pop(1, true), pop(1, true)), false},
		{"len counts", seq(push(1), push(2), length(2), pop(1, true), length(1)), true},
		{"wrong len rejected", seq(push(1), length(0)), false},
		{"overlapping pushes in either order", []porcupine.Operation{
			{ClientId: 0, Input: model.QueueInput{Op: model.QueuePush, Value: 1}, Output: model.QueueOutput{}, Call: 0, Return: 10},
			{ClientId: 1, Input: model.QueueInput{Op: model.QueuePush, Value: 2}, Output: model.QueueOutput{}, Call: 0, Return: 10},
			{ClientId: 2, Input: model.QueueInput{Op: model.QueuePop}, Output: model.QueueOutput{Value: 2, Ok: true}, Call: 11, Return: 12},
			{ClientId: 2, Input: model.QueueInput{Op: model.QueuePop}, Output: model.QueueOutput{Value: 1, Ok: true}, Call: 13, Return: 14},
		}, true},
	} {
		if got := porcupine.CheckOperations(model.Queue(), tc.h); got != tc.ok {
			t.Errorf("%s: linearizable = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// The porcupine model and the reference FIFO are two transcriptions of the
// same rules; on every sequential history drawn from the FIFO, the model
// must agree. A disagreement means one of them misreads spec.Queue.
func TestModelAgreesWithFIFO(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var f model.FIFO[int]
		var ops []porcupine.Operation
		n := rapid.IntRange(0, 40).Draw(t, "n")
		for i := range n {
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				f.Push(i)
				ops = append(ops, push(i))
			case 1:
				v, ok := f.Pop()
				ops = append(ops, pop(v, ok))
			case 2:
				ops = append(ops, length(f.Len()))
			}
		}
		if !porcupine.CheckOperations(model.Queue(), seq(ops...)) {
			t.Fatalf("the model rejects a history the FIFO produced: %v", ops)
		}
		// And it rejects the same history with one pop's value changed.
		for i, op := range ops {
			if out := op.Output.(model.QueueOutput); op.Input.(model.QueueInput).Op == model.QueuePop && out.Ok {
				bad := append([]porcupine.Operation(nil), ops...)
				bad[i].Output = model.QueueOutput{Value: out.Value + 1000, Ok: true}
				if porcupine.CheckOperations(model.Queue(), seq(bad...)) {
					t.Fatalf("the model accepts a pop of a value never pushed: %v", bad)
				}
				break
			}
		}
	})
}

func TestDescribe(t *testing.T) {
	m := model.Queue()
	for _, tc := range []struct {
		in   model.QueueInput
		out  any
		want string
	}{
		{model.QueueInput{Op: model.QueuePush, Value: 3}, model.QueueOutput{}, "push(3)"},
		{model.QueueInput{Op: model.QueuePop}, model.QueueOutput{Value: 3, Ok: true}, "pop() → 3"},
		{model.QueueInput{Op: model.QueuePop}, model.QueueOutput{}, "pop() → empty"},
		{model.QueueInput{Op: model.QueuePop}, nil, "pop()"},
		{model.QueueInput{Op: model.QueueLen}, model.QueueOutput{Value: 2}, "len() → 2"},
	} {
		if got := m.DescribeOperation(tc.in, tc.out); got != tc.want {
			t.Errorf("DescribeOperation = %q, want %q", got, tc.want)
		}
	}
	_, next := m.Step(m.Init(), model.QueueInput{Op: model.QueuePush, Value: 1}, model.QueueOutput{})
	if got := m.DescribeState(next); got != "[1]" {
		t.Errorf("DescribeState = %q, want [1]", got)
	}
}
