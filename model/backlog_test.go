package model_test

import (
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/model"
	"pgregory.net/rapid"
)

func posAt(p int) *int { return &p }

func blog(id int, out model.BacklogOutcome, p *int) porcupine.Operation {
	return porcupine.Operation{Input: model.BacklogInput{Op: model.BacklogLog, ID: id}, Output: model.BacklogOutput{Outcome: out, Pos: p}}
}

func blogMay(id int, drop, fail bool, out model.BacklogOutcome) porcupine.Operation {
	return porcupine.Operation{Input: model.BacklogInput{Op: model.BacklogLog, ID: id, MayDrop: drop, MayFail: fail}, Output: model.BacklogOutput{Outcome: out}}
}

var blogClose = porcupine.Operation{Input: model.BacklogInput{Op: model.BacklogClose}, Output: model.BacklogOutput{}}

func blogResult(written, stray, failed, dropped, refused int) porcupine.Operation {
	return porcupine.Operation{Input: model.BacklogInput{Op: model.BacklogResult, MayFail: true},
		Output: model.BacklogOutput{Written: written, Stray: stray, Failed: failed, Dropped: dropped, Refused: refused}}
}

// Each case names the model bug it would catch if the verdict flipped.
func TestBacklogModelVerdicts(t *testing.T) {
	acc := model.Accepted
	for _, tc := range []struct {
		name string
		h    []porcupine.Operation
		ok   bool
	}{
		{"log, log, close, all written accepted", seq(blog(1, acc, posAt(0)), blog(2, acc, posAt(1)), blogClose, blogResult(2, 0, 0, 0, 0)), true},
		{"a record lost uncounted rejected (a model that does not count)", seq(blog(1, acc, posAt(0)), blog(2, acc, nil), blogClose, blogResult(1, 0, 0, 0, 0)), false},
		{"a record written twice rejected", seq(blog(1, acc, posAt(0)), blogClose, blogResult(2, 1, 0, 0, 0)), false},
		{"a result that claims more records than found rejected", seq(blog(1, acc, posAt(0)), blogClose, blogResult(2, 0, 0, 0, 0)), false},
		{"one producer's records reordered rejected (a model that ignores order)", seq(blog(1, acc, posAt(1)), blog(2, acc, posAt(0)), blogClose, blogResult(2, 0, 0, 0, 0)), false},
		{"accepted after close rejected", seq(blogClose, blog(1, acc, nil)), false},
		{"refused after close accepted", seq(blogClose, blog(1, model.Refused, nil), blogResult(0, 0, 0, 0, 1)), true},
		{"refused yet written rejected", seq(blogClose, blog(1, model.Refused, posAt(0)), blogResult(1, 0, 0, 0, 1)), false},
		{"refused while open rejected", seq(blog(1, model.Refused, nil)), false},
		{"refused not counted rejected", seq(blogClose, blog(1, model.Refused, nil), blogResult(0, 0, 0, 0, 0)), false},
		{"dropped where it may drop accepted", seq(blogMay(1, true, false, model.Dropped), blogClose, blogResult(0, 0, 0, 1, 0)), true},
		{"dropped where it may not rejected", seq(blog(1, model.Dropped, nil)), false},
		{"a drop not counted rejected", seq(blogMay(1, true, false, model.Dropped), blogClose, blogResult(0, 0, 0, 0, 0)), false},
		{"a written prefix and the rest failed accepted", seq(blog(1, acc, posAt(0)), blog(2, acc, nil), blogClose, blogResult(1, 0, 1, 0, 0)), true},
		{"a record written behind an unwritten one rejected", seq(blog(1, acc, nil), blog(2, acc, posAt(0)), blogClose, blogResult(1, 0, 1, 0, 0)), false},
		{"accepted after a write failure was seen rejected", seq(blog(1, acc, posAt(0)), blogMay(2, false, true, model.WriteFailed), blog(3, acc, nil)), false},
		{"write failed where it may not rejected", seq(blog(1, model.WriteFailed, nil)), false},
		{"result before close rejected", seq(blog(1, acc, posAt(0)), blogResult(1, 0, 0, 0, 0)), false},
		{"a close error where the writer cannot fail rejected", seq(porcupine.Operation{Input: model.BacklogInput{Op: model.BacklogClose}, Output: model.BacklogOutput{Err: true}}), false},
		{"overlapping logs accepted in either order", []porcupine.Operation{
			{ClientId: 0, Input: model.BacklogInput{Op: model.BacklogLog, ID: 1}, Output: model.BacklogOutput{Pos: posAt(1)}, Call: 0, Return: 5},
			{ClientId: 1, Input: model.BacklogInput{Op: model.BacklogLog, ID: 2}, Output: model.BacklogOutput{Pos: posAt(0)}, Call: 1, Return: 4},
			{ClientId: 2, Input: model.BacklogInput{Op: model.BacklogClose}, Output: model.BacklogOutput{}, Call: 6, Return: 7},
			{ClientId: 2, Input: model.BacklogInput{Op: model.BacklogResult}, Output: model.BacklogOutput{Written: 2}, Call: 8, Return: 9},
		}, true},
		{"a record written before one accepted earlier in real time rejected", []porcupine.Operation{
			{ClientId: 0, Input: model.BacklogInput{Op: model.BacklogLog, ID: 1}, Output: model.BacklogOutput{Pos: posAt(1)}, Call: 0, Return: 1},
			{ClientId: 1, Input: model.BacklogInput{Op: model.BacklogLog, ID: 2}, Output: model.BacklogOutput{Pos: posAt(0)}, Call: 2, Return: 3},
			{ClientId: 2, Input: model.BacklogInput{Op: model.BacklogClose}, Output: model.BacklogOutput{}, Call: 6, Return: 7},
			{ClientId: 2, Input: model.BacklogInput{Op: model.BacklogResult}, Output: model.BacklogOutput{Written: 2}, Call: 8, Return: 9},
		}, false},
	} {
		if got := porcupine.CheckOperations(model.Backlog(), tc.h); got != tc.ok {
			t.Errorf("%s: linearizable = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// The bug: the reference and the porcupine model disagreeing on a
// sequential history, so that the fuzz target and the campaign judge
// differently.
func TestBacklogModelAgreesWithRef(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var ref model.BacklogRef
		var h []porcupine.Operation
		closeAt := rapid.IntRange(0, 20).Draw(t, "closeAt")
		written := 0
		for i := range rapid.IntRange(0, 20).Draw(t, "ops") {
			if i == closeAt {
				h = append(h, blogClose)
				ref.Closed = true
			}
			in := model.BacklogInput{Op: model.BacklogLog, ID: i, MayDrop: true}
			out := model.BacklogOutput{Outcome: model.Accepted}
			switch {
			case ref.Closed:
				out.Outcome = model.Refused
			case rapid.Bool().Draw(t, "drop"):
				out.Outcome = model.Dropped
			default:
				out.Pos = posAt(written)
				written++
			}
			if !ref.Log(i, out.Outcome) {
				t.Fatalf("the reference refuses log(%d) → %v", i, out.Outcome)
			}
			h = append(h, porcupine.Operation{Input: in, Output: out})
		}
		if err := ref.Check(ref.Accepted, 0, ref.Dropped, ref.Refused, false); err != nil {
			t.Fatalf("the reference rejects its own records: %v", err)
		}
		h = append(h, blogClose, blogResult(written, 0, 0, ref.Dropped, ref.Refused))
		if !porcupine.CheckOperations(model.Backlog(), seq(h...)) {
			t.Fatalf("the model rejects the reference's history")
		}
		h[len(h)-1] = blogResult(written, 0, 0, ref.Dropped+1, ref.Refused)
		if porcupine.CheckOperations(model.Backlog(), seq(h...)) {
			t.Fatalf("the model accepts a wrong drop count")
		}
		if len(ref.Accepted) >= 2 {
			swapped := append([]int{ref.Accepted[1], ref.Accepted[0]}, ref.Accepted[2:]...)
			if ref.Check(swapped, 0, ref.Dropped, ref.Refused, false) == nil {
				t.Fatalf("the reference accepts two records swapped")
			}
		}
	})
}

// The bug: a description that drops the outcome.
func TestDescribeBacklogOp(t *testing.T) {
	for _, c := range []struct {
		op   porcupine.Operation
		out  bool
		want string
	}{
		{blog(7, model.Accepted, posAt(3)), true, "log(7) → accepted, written 3"},
		{blogMay(7, true, false, model.Dropped), true, "log(7, may drop) → dropped"},
		{blog(7, model.Refused, nil), false, "log(7)"},
		{blogClose, true, "close() → ok"},
		{blogResult(2, 0, 0, 1, 0), true, "result() → written 2 stray 0 failed 0 dropped 1 refused 0"},
	} {
		var out any
		if c.out {
			out = c.op.Output
		}
		if got := model.DescribeBacklogOp(c.op.Input, out); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
