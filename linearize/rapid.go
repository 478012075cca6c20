package linearize

import (
	"github.com/insideout-go/insideout/impl/seam"
	"pgregory.net/rapid"
)

// RapidTries is how many times Rapid runs each program before it calls it
// a pass: a concurrent run of a failing program may pass by chance, and
// rapid, shrinking, must see the failure again to keep it.
const RapidTries = 8

// Rapid checks one program that rapid draws (through RapidGen), for use as
// rapid's property:
//
//	rapid.Check(t, sc.Rapid)
//
// rapid then shrinks a failing program to a small one and prints how to
// replay it (its -rapid.seed flag, or the fail file it writes), and the
// failure's report, logged, says so in place of a seed and round. Each program
// runs up to RapidTries times, stopping at the first failure, with a chaos
// seed that rapid draws too.
//
// With Schedule set (a build with -tags sched), rapid draws the schedule
// too: one list of picks, the i-th choosing among the goroutines that can
// go at the i-th decision (0 keeps the running one, past the list's end
// every pick is 0). Each program then runs once, exactly as drawn, and
// rapid shrinks program and schedule together, toward fewer operations
// and fewer preemptions; the report shows the schedule's steps.
func (sc *Scenario[S, In, Out]) Rapid(t *rapid.T) {
	c := sc.mustDefaults()
	p := c.Generate(RapidGen(t))
	if c.Schedule != nil && seam.Enabled {
		picks := rapid.SliceOfN(rapid.IntRange(0, 3), 0, 256).Draw(t, "schedule")
		res, sr := c.RunScheduled(p, &drawn{picks: picks})
		if res.Failed() {
			f := c.Failure(p, res, 0, 0)
			// No token: it names a generated program, and rapid drew this
			// one; rapid's seed replays both.
			f.Schedule, f.Trace = DescribeSchedule(sr), sr.Trace
			writeScheduleReport(c.ReportDir, f)
			f.Replay = "rapid's own lines (its -rapid.seed, or -rapid.failfile) replay this program and schedule"
			t.Log(f)
			t.Fatalf("linearize: %s: %s (the report is in the log)", c.Name, f.cause())
		}
		return
	}
	chaosSeed := rapid.Uint64().Draw(t, "chaos")
	for try := range uint64(RapidTries) {
		if res := c.RunProgram(p, chaosSeed+try); res.Failed() {
			f := c.Failure(p, res, 0, 0)
			f.Replay = "rapid's own lines (its -rapid.seed, or -rapid.failfile) replay this program"
			// rapid keeps a smaller program only if it fails with the same
			// message: the report goes to the log, which rapid prints for
			// the program it settles on.
			t.Log(f)
			t.Fatalf("linearize: %s: %s (the report is in the log)", c.Name, f.cause())
		}
	}
}

// drawn is the chooser of a schedule that rapid drew: pick i chooses at
// decision i, modulo the options; 0 after the last.
type drawn struct{ picks []int }

func (d *drawn) Choose(dec *seam.Decision) int {
	if dec.Choice < len(d.picks) {
		return d.picks[dec.Choice] % len(dec.Runnable)
	}
	return 0
}
