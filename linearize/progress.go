package linearize

import (
	"fmt"
	"sync/atomic"

	"github.com/insideout-go/insideout/impl/seam"
)

// CheckProgress holds the scenario's LockFree operations to their claim,
// as Lincheck's obstruction-freedom check does: it runs p under ch (a
// build with -tags sched) until, at decision at or later, a client is
// inside a call of a LockFree op; from then on only that client runs,
// every other goroutine stopped where it is. The call must return within
// bound of its own steps, and must never wait: a call that blocks, or
// spins past the bound, waits for a stopped goroutine, which a lock-free
// operation never does. CheckProgress returns "" if it held (or if no
// such call came after at), and else what went wrong, with the schedule.
func (sc *Scenario[S, In, Out]) CheckProgress(p Program, ch seam.Chooser, at, bound int) (string, seam.Result) {
	lockFree := make([]atomic.Bool, len(p))
	iso := &isolating{inner: ch, at: at, bound: bound, solo: -1, inCall: func(g int) bool {
		// Clients are the run's goroutines 1 to len(p), started in order.
		return g >= 1 && g <= len(p) && lockFree[g-1].Load()
	}}
	res, sr := sc.runScheduledWith(p, iso, lockFree)
	switch {
	case iso.fail != "":
		return iso.fail, sr
	case res.Failed() && iso.solo >= 0:
		return fmt.Sprintf("client %d, alone from step %d, did not finish its lock-free call: the round failed (%s)", iso.solo-1, iso.from, sr.Failure), sr
	}
	return "", sr
}

// isolating is the chooser of CheckProgress: inner's picks until a
// client in a lock-free call is chosen to run alone, then that client
// only.
type isolating struct {
	inner     seam.Chooser
	at, bound int
	inCall    func(g int) bool
	solo      int // the goroutine running alone, or -1
	from      int // the step at which it began to
	done      bool
	fail      string
}

func (s *isolating) Choose(d *seam.Decision) int {
	if s.solo < 0 && !s.done && d.Choice >= s.at {
		for _, g := range d.Runnable {
			if s.inCall(g) {
				s.solo, s.from = g, d.Step
				break
			}
		}
	}
	if s.solo < 0 {
		return s.inner.Choose(d)
	}
	if !s.inCall(s.solo) { // it returned: the others may go on
		s.solo, s.done = -1, true
		return s.inner.Choose(d)
	}
	if d.Step-s.from > s.bound {
		s.fail = fmt.Sprintf("not obstruction-free: client %d ran alone from step %d for %d steps inside a lock-free call without finishing it", s.solo-1, s.from, s.bound)
		return -1
	}
	for i, g := range d.Runnable {
		if g == s.solo {
			return i
		}
	}
	s.fail = fmt.Sprintf("not obstruction-free: client %d blocked inside a lock-free call at step %d, with every other goroutine stopped since step %d", s.solo-1, d.Step, s.from)
	return -1
}

// Stopped says why the run stopped.
func (s *isolating) Stopped() string { return s.fail }
