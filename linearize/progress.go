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
	ids := make([]atomic.Int64, len(p)) // each client's goroutine, once started
	for i := range ids {
		ids[i].Store(-1)
	}
	client := func(g int) int {
		for c := range ids {
			if ids[c].Load() == int64(g) {
				return c
			}
		}
		return -1
	}
	iso := &isolating{inner: ch, at: at, bound: bound, solo: -1, client: client, inCall: func(g int) bool {
		c := client(g)
		return c >= 0 && lockFree[c].Load()
	}}
	res, sr := sc.runScheduledWith(p, iso, lockFree, ids)
	switch {
	case iso.fail != "":
		return iso.fail, sr
	case res.Failed() && iso.solo >= 0:
		return fmt.Sprintf("client %d, alone from step %d, did not finish its lock-free call: the round failed (%s)", client(iso.solo), iso.from, sr.Failure), sr
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
	client    func(g int) int // the client that goroutine g runs
	solo      int             // the goroutine running alone, or -1
	from      int             // the step at which it began to
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
		s.fail = fmt.Sprintf("not obstruction-free: client %d ran alone from step %d for %d steps inside a lock-free call without finishing it", s.client(s.solo), s.from, s.bound)
		return -1
	}
	for i, g := range d.Runnable {
		if g == s.solo {
			return i
		}
	}
	s.fail = fmt.Sprintf("not obstruction-free: client %d blocked inside a lock-free call at step %d, with every other goroutine stopped since step %d", s.client(s.solo), d.Step, s.from)
	return -1
}

// Stopped says why the run stopped.
func (s *isolating) Stopped() string { return s.fail }
