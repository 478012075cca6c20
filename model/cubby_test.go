package model_test

import (
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/model"
	"pgregory.net/rapid"
)

func cubbyOp(op model.CubbyOp, v uint64, out model.CubbyOutput) porcupine.Operation {
	return porcupine.Operation{Input: model.CubbyInput{Op: op, V: v}, Output: out}
}

func cbStore(v uint64) porcupine.Operation { return cubbyOp(model.CubbyStore, v, model.CubbyOutput{}) }
func cbUpdate(v uint64) porcupine.Operation {
	return cubbyOp(model.CubbyUpdate, v, model.CubbyOutput{})
}
func cbLoad(a, b, n uint64) porcupine.Operation {
	return cubbyOp(model.CubbyLoad, 0, model.CubbyOutput{A: a, B: b, Version: n, Ok: true})
}
func cbView(a, b, n uint64) porcupine.Operation {
	return cubbyOp(model.CubbyView, 0, model.CubbyOutput{A: a, B: b, Version: n, Ok: true})
}
func cbTry(seen, a, b, n uint64, ok bool) porcupine.Operation {
	return cubbyOp(model.CubbyTryLoad, 0, model.CubbyOutput{A: a, B: b, Version: n, Ok: ok, Seen: seen})
}

// Each case names the model bug it would catch if the verdict flipped.
func TestCubbyModelVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    []porcupine.Operation
		ok   bool
	}{
		{"the zero value at version 0 accepted", seq(cbLoad(0, 0, 0), cbTry(0, 0, 0, 0, false)), true},
		{"store then load accepted", seq(cbStore(3), cbLoad(3, 3, 1), cbUpdate(4), cbView(4, 4, 2)), true},
		{"a torn pair rejected (a model that checks one half)", seq(cbStore(3), cbStore(4), cbLoad(3, 4, 2)), false},
		{"a torn pair in a view rejected", seq(cbStore(3), cbUpdate(4), cbView(4, 3, 2)), false},
		{"a stale load after the store returned rejected (a model that keeps old values)", seq(cbStore(3), cbStore(4), cbLoad(3, 3, 1)), false},
		{"a wrong version rejected (a model that ignores versions)", seq(cbStore(3), cbLoad(3, 3, 2)), false},
		{"an update that keeps the version rejected", seq(cbUpdate(5), cbTry(0, 0, 0, 0, false)), false},
		{"tryLoad with nothing new accepted", seq(cbStore(3), cbTry(1, 0, 0, 1, false)), true},
		{"tryLoad false with something new rejected (a model that allows spurious misses)", seq(cbStore(3), cbTry(0, 0, 0, 1, false)), false},
		{"tryLoad true with nothing new rejected", seq(cbStore(3), cbTry(1, 3, 3, 1, true)), false},
		{"tryLoad with news accepted", seq(cbStore(3), cbStore(7), cbTry(1, 7, 7, 2, true)), true},
		{"a load that reports a miss rejected", seq(cubbyOp(model.CubbyLoad, 0, model.CubbyOutput{})), false},
		{"a load overlapping a store may see either", []porcupine.Operation{
			{ClientId: 0, Input: model.CubbyInput{Op: model.CubbyStore, V: 1}, Output: model.CubbyOutput{}, Call: 0, Return: 1},
			{ClientId: 0, Input: model.CubbyInput{Op: model.CubbyStore, V: 2}, Output: model.CubbyOutput{}, Call: 2, Return: 10},
			{ClientId: 1, Input: model.CubbyInput{Op: model.CubbyLoad}, Output: model.CubbyOutput{A: 1, B: 1, Version: 1, Ok: true}, Call: 3, Return: 4},
			{ClientId: 1, Input: model.CubbyInput{Op: model.CubbyLoad}, Output: model.CubbyOutput{A: 2, B: 2, Version: 2, Ok: true}, Call: 5, Return: 6},
		}, true},
	} {
		if got := porcupine.CheckOperations(model.Cubby(), tc.h); got != tc.ok {
			t.Errorf("%s: linearizable = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

type cubbyPair struct{ A, B uint64 }

// The bug: the porcupine model and the reference cubby disagreeing on a
// sequential history, which would make the fuzz target's replay and the
// linearizability check judge differently.
func TestCubbyModelAgreesWithRef(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var ref model.CubbyRef[cubbyPair]
		var h []porcupine.Operation
		seen := uint64(0)
		for i := range rapid.IntRange(0, 30).Draw(t, "ops") {
			v := uint64(i + 1)
			switch rapid.IntRange(0, 4).Draw(t, "op") {
			case 0:
				ref.Store(cubbyPair{v, v})
				h = append(h, cbStore(v))
			case 1:
				ref.Update(func(p *cubbyPair) { *p = cubbyPair{v, v} })
				h = append(h, cbUpdate(v))
			case 2:
				p, n := ref.Load()
				seen = n
				h = append(h, cbLoad(p.A, p.B, n))
			case 3:
				p, n, ok := ref.TryLoad(seen)
				h = append(h, cbTry(seen, p.A, p.B, n, ok))
				seen = n
			case 4:
				p, n := ref.Load()
				h = append(h, cbView(p.A, p.B, n))
			}
		}
		if !porcupine.CheckOperations(model.Cubby(), seq(h...)) {
			t.Fatalf("the model rejects the reference's history")
		}
		// One torn read at the end must be rejected.
		p, n := ref.Load()
		if porcupine.CheckOperations(model.Cubby(), seq(append(h, cbLoad(p.A, p.B+1, n))...)) {
			t.Fatalf("the model accepts a torn read after the reference's history")
		}
	})
}

// The bug: a description that drops the outcome, which would make a
// failing history unreadable.
func TestDescribeCubbyOp(t *testing.T) {
	for _, c := range []struct {
		op   porcupine.Operation
		out  bool
		want string
	}{
		{cbStore(3), true, "store(3)"},
		{cbUpdate(4), false, "update(4)"},
		{cbLoad(3, 3, 1), true, "load() → (3, 3) v1"},
		{cbLoad(3, 3, 1), false, "load()"},
		{cbTry(1, 0, 0, 1, false), true, "tryLoad(1) → nothing new v1"},
		{cbTry(1, 5, 5, 2, true), true, "tryLoad(1) → (5, 5) v2"},
		{cbView(3, 4, 2), true, "view() → (3, 4) v2"},
	} {
		var out any
		if c.out {
			out = c.op.Output
		}
		if got := model.DescribeCubbyOp(c.op.Input, out); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
