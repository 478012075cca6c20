package model_test

import (
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/model"
	"pgregory.net/rapid"
)

func semOp(op model.SemaphoreOp, timeout bool, out model.SemaphoreOutput) porcupine.Operation {
	return porcupine.Operation{Input: model.SemaphoreInput{Op: op, Timeout: timeout}, Output: out}
}

var (
	semAcq      = semOp(model.SemAcquire, false, model.SemaphoreOutput{Ok: true})
	semAcqT     = semOp(model.SemAcquire, true, model.SemaphoreOutput{Ok: true})
	semAcqCut   = semOp(model.SemAcquire, true, model.SemaphoreOutput{Canceled: true})
	semTry      = semOp(model.SemTryAcquire, false, model.SemaphoreOutput{Ok: true})
	semTryNo    = semOp(model.SemTryAcquire, false, model.SemaphoreOutput{})
	semRel      = semOp(model.SemRelease, false, model.SemaphoreOutput{Ok: true})
	semSkip     = semOp(model.SemRelease, false, model.SemaphoreOutput{})
	semAvail    = func(n int) porcupine.Operation { return semOp(model.SemAvailable, false, model.SemaphoreOutput{N: n}) }
	semNoWaitAc = semOp(model.SemAcquire, false, model.SemaphoreOutput{Canceled: true})
)

// Each case names the model bug it would catch if the verdict flipped.
func TestSemaphoreModelVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		h    []porcupine.Operation
		ok   bool
	}{
		{"acquire, release, acquire accepted", 1, seq(semAcq, semRel, semAcqT, semAvail(0)), true},
		{"two holders of one permit rejected (a model that does not count down)", 1, seq(semAcq, semTry), false},
		{"n holders of n permits accepted (a model that counts a capacity too few)", 3, seq(semAcq, semTry, semAcqT, semTryNo, semAvail(0)), true},
		{"tryAcquire false while free rejected (a model that allows spurious failures)", 2, seq(semAcq, semTryNo), false},
		{"cut short while free rejected (a model that lets Acquire give up beside a permit)", 1, seq(semAcqCut), false},
		{"cut short with nothing free accepted, changing nothing", 1, seq(semAcq, semAcqCut, semAvail(0), semRel, semAvail(1)), true},
		{"cut short without a time-out rejected (a model that takes any error)", 1, seq(semAcq, semNoWaitAc), false},
		{"release beyond the capacity rejected (a model without an upper bound)", 1, seq(semRel), false},
		{"skipped release changes nothing", 1, seq(semSkip, semAvail(1)), true},
		{"wrong available rejected (a model that ignores Available)", 2, seq(semAcq, semAvail(2)), false},
		{"taken and canceled at once rejected", 1, seq(semOp(model.SemAcquire, true, model.SemaphoreOutput{Ok: true, Canceled: true})), false},
		{"a blocking acquire that returns neither rejected", 1, seq(semOp(model.SemAcquire, false, model.SemaphoreOutput{})), false},
		{"an acquire overlapping a release takes the released permit", 1, []porcupine.Operation{
			{ClientId: 0, Input: model.SemaphoreInput{Op: model.SemTryAcquire}, Output: model.SemaphoreOutput{Ok: true}, Call: 0, Return: 1},
			{ClientId: 1, Input: model.SemaphoreInput{Op: model.SemAcquire}, Output: model.SemaphoreOutput{Ok: true}, Call: 2, Return: 10},
			{ClientId: 0, Input: model.SemaphoreInput{Op: model.SemRelease}, Output: model.SemaphoreOutput{Ok: true}, Call: 3, Return: 4},
			{ClientId: 0, Input: model.SemaphoreInput{Op: model.SemAvailable}, Output: model.SemaphoreOutput{N: 0}, Call: 11, Return: 12},
		}, true},
	} {
		if got := porcupine.CheckOperations(model.Semaphore(tc.n), tc.h); got != tc.ok {
			t.Errorf("%s: linearizable = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// The bug: the porcupine model and the reference semaphore disagreeing
// on a sequential history (one of them miscounts), which would make the
// fuzz target's replay and the linearizability check judge differently.
func TestSemaphoreModelAgreesWithRef(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 4).Draw(t, "n")
		ref := model.NewSemaphoreRef(n)
		var h []porcupine.Operation
		for range rapid.IntRange(0, 30).Draw(t, "ops") {
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0:
				h = append(h, semOp(model.SemTryAcquire, false, model.SemaphoreOutput{Ok: ref.TryAcquire()}))
			case 1:
				if ref.Free > 0 {
					ref.TryAcquire()
					h = append(h, semAcq)
				} else {
					h = append(h, semAcqCut)
				}
			case 2:
				h = append(h, semOp(model.SemRelease, false, model.SemaphoreOutput{Ok: ref.Release()}))
			case 3:
				h = append(h, semAvail(ref.Free))
			}
		}
		if !porcupine.CheckOperations(model.Semaphore(n), seq(h...)) {
			t.Fatalf("the model rejects the reference's history")
		}
		// One wrong count at the end must be rejected.
		if porcupine.CheckOperations(model.Semaphore(n), seq(append(h, semAvail(ref.Free+1))...)) {
			t.Fatalf("the model accepts a wrong count after the reference's history")
		}
	})
}

// The bug: a description that drops the outcome, which would make a
// failing history unreadable.
func TestDescribeSemaphoreOp(t *testing.T) {
	for _, c := range []struct {
		op   porcupine.Operation
		out  bool
		want string
	}{
		{semAcq, true, "acquire() → ok"},
		{semAcqCut, true, "acquire(timeout) → canceled"},
		{semAcqT, false, "acquire(timeout)"},
		{semTryNo, true, "tryAcquire() → false"},
		{semRel, true, "release() → ok"},
		{semSkip, true, "release() → skipped"},
		{semAvail(2), true, "available() → 2"},
	} {
		var out any
		if c.out {
			out = c.op.Output
		}
		if got := model.DescribeSemaphoreOp(c.op.Input, out); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
