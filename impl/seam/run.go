package seam

import (
	"errors"
	"time"
)

// ErrDisabled is Run's error in a build made without -tags sched.
var ErrDisabled = errors.New("seam: the controlled scheduler needs a build with -tags sched (go test -tags sched, go run -tags sched)")

// A Decision is what a Chooser sees at a switch point where more than one
// goroutine of the run could go next.
type Decision struct {
	Step   int // switch points passed so far in this run
	Choice int // decisions with more than one option made so far
	// Current is the id of the goroutine that reached the switch point,
	// or -1 if it cannot go on (it blocked or exited). Ids count the run's
	// goroutines in the order they started: the run's main function is 0.
	Current int
	// Runnable holds the ids of the goroutines that can go next. When
	// Current can go on and did not yield, it is Runnable[0], so that
	// choosing 0 never preempts; when it yielded, it is last, so that a
	// strategy can honour the yield by choosing among the others; the
	// rest are in the order of their ids.
	Runnable []int
	Yielded  bool // Current called Yield (or was made to give way: Options.Fair)
	// Spinning says that Current yielded where it yielded last, with no
	// switch point of anyone's since then that could have written memory:
	// it waits in a loop that nothing has moved, and a strategy that ranks
	// goroutines should let every other go before it runs again.
	Spinning bool
}

// Preempts reports whether choosing Runnable[i] takes the processor from a
// goroutine that could have gone on, or, after a Yield, keeps it running
// against its own request: both count against a preemption bound, which
// keeps a bounded search from following a spinning goroutine for ever.
func (d *Decision) Preempts(i int) bool {
	if i == 0 || d.Current < 0 || len(d.Runnable) < 2 {
		return false
	}
	if d.Yielded {
		return i == len(d.Runnable)-1
	}
	return d.Runnable[0] == d.Current
}

// A Chooser picks who runs next: Choose returns an index into
// d.Runnable. A negative index stops the run; if the Chooser has a
// method Stopped() string, its answer is the reason given in the Result.
type Chooser interface {
	Choose(d *Decision) int
}

// Options bound a controlled run. Zero values take the defaults.
type Options struct {
	// MaxSteps ends a run that passes more switch points than this
	// (default 200000): a loop that waits for another goroutine without
	// calling Yield spins for ever under a scheduler that never preempts.
	MaxSteps int
	// Stall is how long the goroutine that holds the turn may go without
	// reaching a switch point before the run is declared blocked outside
	// the seam (default 2s).
	Stall time.Duration
	// Fair makes a goroutine that has been kept running over others at
	// this many decisions in a row give way at its next, as if it yielded
	// (default 1000): a strategy that never preempts, or a PCT priority,
	// cannot starve the rest behind a goroutine that runs for ever.
	Fair int
	// Trace keeps every step in Result.Trace (the hash is kept always).
	Trace bool
}

// An Outcome says how a controlled run ended.
type Outcome uint8

const (
	// Finished: every goroutine of the run exited, or the main function
	// returned while the others were blocked (see Result.Leftover).
	Finished Outcome = iota
	// Deadlock: every goroutine of the run was blocked, and the main
	// function had not returned.
	Deadlock
	// Uncontrolled: the goroutine that held the turn blocked, or ran for
	// Options.Stall, outside the seam (a raw channel, a syscall, a
	// sync.Mutex): the report names it and shows its stack.
	Uncontrolled
	// StepLimit: the run passed Options.MaxSteps switch points.
	StepLimit
	// Stopped: the Chooser stopped the run.
	Stopped
)

var outcomeNames = [...]string{"finished", "deadlock", "uncontrolled blocking", "step limit", "stopped"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome?"
}

// An Event is one step of a run: goroutine G passed a switch point of
// kind Op at At (file:line of the code that called the seam).
type Event struct {
	G  int
	Op string
	At string
}

// A Choice is one decision of a run that had more than one option: N
// goroutines could go next, and Picked (an index into the Decision's
// Runnable) went.
type Choice struct{ N, Picked int }

// A Result is what a controlled run did.
type Result struct {
	Outcome     Outcome
	Failure     string   // what went wrong, when Outcome is not Finished
	Steps       int      // switch points passed
	Goroutines  int      // goroutines of the run, the main function's included
	Choices     []Choice // every decision with more than one option
	Preemptions int      // choices that took the processor from a goroutine that could go on
	Hash        uint64   // a hash of the steps: goroutine, kind and place of each
	Trace       []Event  // every step, if Options.Trace
	// Leftover counts goroutines still blocked when the main function
	// returned; they were ended (runtime.Goexit) with the run.
	Leftover int
	// Outside counts switch points passed during the run by goroutines
	// not started through Go: they ran uncontrolled, and a run that has
	// any may not replay exactly.
	Outside int
}
