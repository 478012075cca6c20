package stress

import (
	"testing"

	"github.com/insideout-go/insideout/impl/cont/conttest"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The continuation suite's sizes at INSIDEOUT_SOAK=1, chosen so that it
// takes a few seconds under -race on two cores, with or without -tags
// chaos. INSIDEOUT_SOAK=n multiplies the rounds.
const (
	// contBusyRounds rounds of contBusyPrograms programs at once, of
	// contBusyInstrs top-level instructions each: far more continuations
	// than the 2 to 12 workers of a round's pools, so that mailboxes fill
	// (bounded ones up to their capacity) and every worker switches
	// between programs, forms and pools all the time.
	contBusyRounds   = 200
	contBusyPrograms = 24
	contBusyInstrs   = 10
	// contManyRounds short rounds of the campaign's default size, each on
	// a fresh topology: many pools made, crossed and closed.
	contManyRounds = 1000
)

// Random programs of Goto, ComeFrom, NovelThread and Coop, step and
// sequential, over random topologies, through conttest.RunRound: every
// step of every program must run exactly once, in program order, on the
// pool the program says (model.ContTrace), no two steps of one program at
// once, every program must finish before a deadline, and the pools must
// end with nothing left over. The race detector checks every hand-over
// of a continuation between runners.
func TestContinuationStorm(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	n := soak(t)
	t.Run("busy", func(t *testing.T) {
		conttest.Check{Rounds: contBusyRounds * n, Programs: contBusyPrograms, Instrs: contBusyInstrs}.Test(t)
	})
	t.Run("many", func(t *testing.T) {
		conttest.Check{Rounds: contManyRounds * n}.Test(t)
	})
}
