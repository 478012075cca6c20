package model_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/model"
	"pgregory.net/rapid"
)

func blog(id int, out model.BacklogOutcome) porcupine.Operation {
	return porcupine.Operation{Input: model.BacklogInput{Op: model.BacklogLog, ID: id}, Output: model.BacklogOutput{Outcome: out}}
}

func blogMay(id int, drop, fail bool, out model.BacklogOutcome) porcupine.Operation {
	return porcupine.Operation{Input: model.BacklogInput{Op: model.BacklogLog, ID: id, MayDrop: drop, MayFail: fail}, Output: model.BacklogOutput{Outcome: out}}
}

var blogClose = porcupine.Operation{Input: model.BacklogInput{Op: model.BacklogClose}, Output: model.BacklogOutput{}}

func blogResult(written string, failed, dropped, refused int) porcupine.Operation {
	return porcupine.Operation{Input: model.BacklogInput{Op: model.BacklogResult, MayFail: true},
		Output: model.BacklogOutput{Written: written, Failed: failed, Dropped: dropped, Refused: refused}}
}

// Each case names the model bug it would catch if the verdict flipped.
func TestBacklogModelVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    []porcupine.Operation
		ok   bool
	}{
		{"log, log, close, all written accepted", seq(blog(1, model.Accepted), blog(2, model.Accepted), blogClose, blogResult("1,2", 0, 0, 0)), true},
		{"a record lost rejected (a model that does not count)", seq(blog(1, model.Accepted), blog(2, model.Accepted), blogClose, blogResult("1", 0, 0, 0)), false},
		{"a record written twice rejected", seq(blog(1, model.Accepted), blogClose, blogResult("1,1", 0, 0, 0)), false},
		{"one producer's records reordered rejected (a model that ignores order)", seq(blog(1, model.Accepted), blog(2, model.Accepted), blogClose, blogResult("2,1", 0, 0, 0)), false},
		{"accepted after close rejected", seq(blogClose, blog(1, model.Accepted), blogResult("1", 0, 0, 0)), false},
		{"refused after close accepted", seq(blogClose, blog(1, model.Refused), blogResult("", 0, 0, 1)), true},
		{"refused while open rejected", seq(blog(1, model.Refused)), false},
		{"refused not counted rejected", seq(blogClose, blog(1, model.Refused), blogResult("", 0, 0, 0)), false},
		{"dropped where it may drop accepted", seq(blogMay(1, true, false, model.Dropped), blogClose, blogResult("", 0, 1, 0)), true},
		{"dropped where it may not rejected", seq(blog(1, model.Dropped)), false},
		{"a drop not counted rejected", seq(blogMay(1, true, false, model.Dropped), blogClose, blogResult("", 0, 0, 0)), false},
		{"a written prefix and the rest failed accepted", seq(blog(1, model.Accepted), blog(2, model.Accepted), blogClose, blogResult("1", 1, 0, 0)), true},
		{"failed records beside a gap rejected", seq(blog(1, model.Accepted), blog(2, model.Accepted), blogClose, blogResult("2", 1, 0, 0)), false},
		{"write failed where the writer may fail, then refused", seq(blog(1, model.Accepted), blogMay(2, false, true, model.WriteFailed), blog(3, model.Accepted)), false},
		{"write failed where it may not rejected", seq(blog(1, model.WriteFailed)), false},
		{"result before close rejected", seq(blog(1, model.Accepted), blogResult("1", 0, 0, 0)), false},
		{"a close error where the writer cannot fail rejected", seq(porcupine.Operation{Input: model.BacklogInput{Op: model.BacklogClose}, Output: model.BacklogOutput{Err: true}}), false},
		{"two producers' records in an order of acceptance consistent with real time", []porcupine.Operation{
			{ClientId: 0, Input: model.BacklogInput{Op: model.BacklogLog, ID: 1}, Output: model.BacklogOutput{}, Call: 0, Return: 5},
			{ClientId: 1, Input: model.BacklogInput{Op: model.BacklogLog, ID: 2}, Output: model.BacklogOutput{}, Call: 1, Return: 4},
			{ClientId: 2, Input: model.BacklogInput{Op: model.BacklogClose}, Output: model.BacklogOutput{}, Call: 6, Return: 7},
			{ClientId: 2, Input: model.BacklogInput{Op: model.BacklogResult}, Output: model.BacklogOutput{Written: "2,1"}, Call: 8, Return: 9},
		}, true},
		{"a record written before one accepted earlier in real time rejected", []porcupine.Operation{
			{ClientId: 0, Input: model.BacklogInput{Op: model.BacklogLog, ID: 1}, Output: model.BacklogOutput{}, Call: 0, Return: 1},
			{ClientId: 1, Input: model.BacklogInput{Op: model.BacklogLog, ID: 2}, Output: model.BacklogOutput{}, Call: 2, Return: 3},
			{ClientId: 2, Input: model.BacklogInput{Op: model.BacklogClose}, Output: model.BacklogOutput{}, Call: 6, Return: 7},
			{ClientId: 2, Input: model.BacklogInput{Op: model.BacklogResult}, Output: model.BacklogOutput{Written: "2,1"}, Call: 8, Return: 9},
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
		var written []string
		closeAt := rapid.IntRange(0, 20).Draw(t, "closeAt")
		for i := range rapid.IntRange(0, 20).Draw(t, "ops") {
			if i == closeAt {
				h = append(h, blogClose)
				ref.State.Closed = true
			}
			in := model.BacklogInput{Op: model.BacklogLog, ID: i, MayDrop: true}
			out := model.Accepted
			switch {
			case ref.State.Closed:
				out = model.Refused
			case rapid.Bool().Draw(t, "drop"):
				out = model.Dropped
			default:
				written = append(written, strconv.Itoa(i))
			}
			if !ref.Log(in, out) {
				t.Fatalf("the reference refuses log(%d) → %v", i, out)
			}
			h = append(h, porcupine.Operation{Input: in, Output: model.BacklogOutput{Outcome: out}})
		}
		h = append(h, blogClose, blogResult(strings.Join(written, ","), 0, ref.State.Dropped, ref.State.Refused))
		if !porcupine.CheckOperations(model.Backlog(), seq(h...)) {
			t.Fatalf("the model rejects the reference's history")
		}
		h[len(h)-1] = blogResult(strings.Join(written, ","), 0, ref.State.Dropped+1, ref.State.Refused)
		if porcupine.CheckOperations(model.Backlog(), seq(h...)) {
			t.Fatalf("the model accepts a wrong drop count")
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
		{blog(7, model.Accepted), true, "log(7) → accepted"},
		{blogMay(7, true, false, model.Dropped), true, "log(7, may drop) → dropped"},
		{blog(7, model.Refused), false, "log(7)"},
		{blogClose, true, "close() → ok"},
		{blogResult("1,2", 0, 1, 0), true, "result() → written [1,2] failed 0 dropped 1 refused 0"},
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
