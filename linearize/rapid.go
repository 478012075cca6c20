package linearize

import "pgregory.net/rapid"

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
func (sc *Scenario[S, In, Out]) Rapid(t *rapid.T) {
	c := sc.mustDefaults()
	p := c.Generate(RapidGen(t))
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
