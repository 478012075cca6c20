package model_test

import (
	"slices"
	"testing"

	"github.com/insideout-go/insideout/model"
)

func work(id int) model.ContInstr { return model.ContInstr{Kind: model.ContWork, Step: id} }
func gotoPool(p int) model.ContInstr {
	return model.ContInstr{Kind: model.ContGoto, Pool: p}
}
func comeFrom(p int, sub ...model.ContInstr) model.ContInstr {
	return model.ContInstr{Kind: model.ContComeFrom, Pool: p, Sub: sub}
}
func novel(sub ...model.ContInstr) model.ContInstr {
	return model.ContInstr{Kind: model.ContNovelThread, Sub: sub}
}

var coop = model.ContInstr{Kind: model.ContCoop}

func ev(step int, w model.Where) model.ContEvent { return model.ContEvent{Step: step, Where: w} }

// Each case names the model bug it would catch.
func TestContTrace(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start model.Where
		prog  []model.ContInstr
		want  []model.ContEvent
	}{
		{"empty program: no steps (a model that invents a step)", 0, nil, nil},
		{"work runs where the continuation starts (a model that ignores start)", 2,
			[]model.ContInstr{work(1), coop, work(2)}, []model.ContEvent{ev(1, 2), ev(2, 2)}},
		{"goto moves the rest (a model that moves only the next step, or none)", 0,
			[]model.ContInstr{work(1), gotoPool(1), work(2), work(3), gotoPool(0), work(4)},
			[]model.ContEvent{ev(1, 0), ev(2, 1), ev(3, 1), ev(4, 0)}},
		{"comefrom runs its part there and resumes here (a model where the caller moves too)", 0,
			[]model.ContInstr{work(1), comeFrom(2, work(2), work(3)), work(4)},
			[]model.ContEvent{ev(1, 0), ev(2, 2), ev(3, 2), ev(4, 0)}},
		{"a goto inside comefrom moves only the remote part (a model that leaks the move)", 1,
			[]model.ContInstr{comeFrom(2, work(1), gotoPool(3), work(2)), work(3)},
			[]model.ContEvent{ev(1, 2), ev(2, 3), ev(3, 1)}},
		{"novel runs on no pool, the caller stays (a model that runs it in place)", 3,
			[]model.ContInstr{novel(work(1), gotoPool(0), work(2)), work(3)},
			[]model.ContEvent{ev(1, model.Novel), ev(2, 0), ev(3, 3)}},
		{"nesting: order is program order (a model that runs remote parts last)", 0,
			[]model.ContInstr{gotoPool(1), comeFrom(2, work(1), novel(work(2), comeFrom(3, work(3))), work(4)), work(5)},
			[]model.ContEvent{ev(1, 2), ev(2, model.Novel), ev(3, 3), ev(4, 2), ev(5, 1)}},
		{"starting novel: the caller stays novel after a remote part", model.Novel,
			[]model.ContInstr{comeFrom(0, work(1)), work(2)},
			[]model.ContEvent{ev(1, 0), ev(2, model.Novel)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := model.ContTrace(tc.start, tc.prog); !slices.Equal(got, tc.want) {
				t.Errorf("ContTrace(%v, %s) = %v, want %v", tc.start, model.FormatCont(tc.prog), got, tc.want)
			}
		})
	}
}

// The bug: a formatter that drops nesting, so that failure messages show
// a different program than the one run.
func TestFormatCont(t *testing.T) {
	p := []model.ContInstr{work(1), gotoPool(2), comeFrom(1, work(2), novel(coop, work(3))), work(4)}
	if got, want := model.FormatCont(p), "work(1); goto(2); comefrom(1){work(2); novel{coop; work(3)}}; work(4)"; got != want {
		t.Errorf("FormatCont = %q, want %q", got, want)
	}
	if got := model.Novel.String() + "," + model.Where(2).String(); got != "novel,pool 2" {
		t.Errorf("Where strings %q", got)
	}
}
