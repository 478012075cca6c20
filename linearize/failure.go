package linearize

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/insideout-go/insideout/impl/seam"
)

// Summary counts what a run did.
type Summary struct {
	Rounds    int           // rounds run
	Ops       int           // operations recorded, Finally's included
	Histories int           // histories checked
	Illegal   int           // histories found not linearizable
	Unknown   int           // histories the checker gave up on
	Hangs     int           // rounds that did not finish in time, or had a call stuck
	Panics    int           // rounds in which an operation, or the model, panicked or failed
	Elapsed   time.Duration // wall time
	// Schedules counts the schedules run under the controlled scheduler,
	// and Exhausted the programs whose every schedule within a DFS bound
	// ran (see Scenario.Schedule).
	Schedules, Exhausted int
}

// Failures returns the number of rounds that failed.
func (s Summary) Failures() int { return s.Illegal + s.Unknown + s.Hangs + s.Panics }

// A Failure is the report of a failed round. Its message gives the seed and
// round that replay it, the program, and the visualization's path or the
// goroutine dump.
type Failure struct {
	Scenario string
	Seed     uint64 // 0 for a program that rapid drew
	Round    int
	Verdict  Verdict // of the history, if it was checked
	Hung     bool    // the round did not finish within RoundTimeout
	Stuck    string  // a call slept though it could proceed: what Stuck said
	Panic    string  // an operation panicked: the value and stack
	Model    error   // the model failed: a mistake in the test (see Checked.Err)
	// Problems are what a round's own checks found beside the history's
	// verdict (an engine's audit of every item, every program's trace),
	// one line each.
	Problems []string
	Report   string // path of the HTML visualization, for Illegal
	Dump     string // every goroutine's stack, for a hang
	Program  string // the round's program
	// Replay says how to run the round again; empty means the
	// environment variables, in the same test.
	Replay string
	// Token, under the controlled scheduler, names the program and the
	// schedule exactly (package linearize/schedule); Schedule sums the
	// schedule up; ReplayExact says how to run that schedule again
	// (empty: INSIDEOUT_TOKEN, in the same test).
	Token, Schedule, ReplayExact string
	// Trace is the schedule's every step, oldest first; the message shows
	// the last traceTail of them.
	Trace []seam.Event
}

// traceTail is how many of a schedule's last steps a Failure's message
// shows.
const traceTail = 40

// cause says what went wrong, in one line that names no seed, round or
// program.
func (f *Failure) cause() string {
	switch {
	case f.Model != nil:
		return "the model failed, a mistake in the test rather than in the code under test: " + f.Model.Error()
	case f.Stuck != "":
		return "a call stayed asleep though it could proceed (lost wake-up): " + f.Stuck
	case f.Hung:
		return "did not finish in time: a call never returned (hang)"
	case f.Panic != "":
		return "an operation panicked"
	case f.Verdict == Illegal:
		return "history is not linearizable (Illegal)"
	case f.Verdict == Unknown:
		return "checker timed out (Unknown, which is not a pass): fewer clients or operations per client, or a longer CheckTimeout"
	case len(f.Problems) > 0:
		return fmt.Sprintf("the round's checks found %d problem(s)", len(f.Problems))
	}
	return "failed"
}

// Error describes the failure and how to replay it.
func (f *Failure) Error() string {
	var b strings.Builder
	if f.Seed == 0 {
		fmt.Fprintf(&b, "linearize: %s: a program drawn by rapid: ", f.Scenario)
	} else {
		fmt.Fprintf(&b, "linearize: %s: round %d of seed %#x: ", f.Scenario, f.Round, f.Seed)
	}
	b.WriteString(f.cause())
	for _, p := range f.Problems {
		b.WriteString("\n  " + p)
	}
	if f.Report != "" {
		fmt.Fprintf(&b, "\n  visualization: %s", f.Report)
	}
	switch {
	case f.Replay != "":
		fmt.Fprintf(&b, "\n  replay: %s", f.Replay)
	case f.Seed != 0:
		fmt.Fprintf(&b, "\n  replay: INSIDEOUT_SEED=%#x INSIDEOUT_ROUND=%d (same test)", f.Seed, f.Round)
	}
	if f.Schedule != "" {
		fmt.Fprintf(&b, "\n  schedule: %s", f.Schedule)
	}
	if f.Token != "" {
		exact := f.ReplayExact
		if exact == "" {
			exact = "INSIDEOUT_TOKEN=" + f.Token + " (same test, -tags sched)"
		}
		fmt.Fprintf(&b, "\n  token: %s\n  replay exactly: %s", f.Token, exact)
	}
	if n := len(f.Trace); n > 0 {
		fmt.Fprintf(&b, "\n  last %d of %d steps (g0 runs the round, the others are numbered in the order they started: in a scenario, g1 to gn are its clients):", min(n, traceTail), n)
		for i, e := range f.Trace[max(0, n-traceTail):] {
			fmt.Fprintf(&b, "\n    %5d  g%-2d %-7s %s", max(0, n-traceTail)+i+1, e.G, e.Op, e.At)
		}
	}
	fmt.Fprintf(&b, "\n  program:\n%s", f.Program)
	if f.Panic != "" {
		fmt.Fprintf(&b, "\n  panic: %s", f.Panic)
	}
	if f.Dump != "" {
		fmt.Fprintf(&b, "\n  goroutines:\n%s", f.Dump)
	}
	return b.String()
}

// allStacks returns the stacks of every goroutine.
func allStacks() string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// sanitize makes name safe as part of a file name.
func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
}
