package stress

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/spec"
	"golang.org/x/sys/unix"
)

// eqRec is the record of one continuation of a storm: what was done to it,
// and what came of it.
type eqRec struct {
	oneShot bool
	what    string

	// Set by the client that registers it, once Register has returned.
	id  spec.EventID
	err error
	reg atomic.Bool // the registration succeeded (id and err are set before)

	fired       atomic.Int32 // handed out by a Wait
	firedID     atomic.Uint64
	wrongID     atomic.Bool  // handed out under another id than the first
	cancels     atomic.Int32 // Cancel reported true
	cancelledAt atomic.Int64 // when such a Cancel returned, since the storm began
	held        atomic.Int32 // handed back by Close
	late        atomic.Bool  // handed out by a Wait that began after a Cancel had reported true
	lent        bool         // the waiter's view: handed out, not handed back (the waiter's alone)
}

// eqStormQueue is one queue of a storm, its fds, and the records of the
// continuations registered with it.
type eqStormQueue struct {
	name   string
	q      eventqtest.Queue
	fds    [eventqtest.Ends]int
	start  time.Time
	closed atomic.Bool

	mu      sync.Mutex
	recs    map[*cont.C]*eqRec
	ids     []*eqRec // registered, in the order their Registers returned
	closeOK bool     // the first Close returned no error
	problem []string
}

func (s *eqStormQueue) fail(format string, args ...any) {
	s.mu.Lock()
	s.problem = append(s.problem, s.name+": "+fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *eqStormQueue) now() int64 { return int64(time.Since(s.start)) }

func newStormQueue(name string, start time.Time, newQueue func() eventqtest.Queue) (*eqStormQueue, error) {
	s := &eqStormQueue{name: name, start: start, recs: map[*cont.C]*eqRec{}}
	var p [2]int
	for _, ends := range [][2]eventqtest.End{{eventqtest.Pipe0R, eventqtest.Pipe0W}, {eventqtest.Pipe1R, eventqtest.Pipe1W}} {
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			return nil, err
		}
		s.fds[ends[0]], s.fds[ends[1]] = p[0], p[1]
	}
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	s.fds[eventqtest.SockA], s.fds[eventqtest.SockB] = sp[0], sp[1]
	s.q = newQueue()
	return s, nil
}

// eqStormTargets are what storm clients register: one-shot, level, edge
// and exclusive registrations, never on an fd that stays ready for good
// (a waiter handing such a registration back at once would spin).
var eqStormTargets = []eventqtest.Target{
	{End: eventqtest.Pipe0R, Events: spec.EvRead | spec.EvOneShot},
	{End: eventqtest.Pipe0R, Events: spec.EvRead},
	{End: eventqtest.Pipe0R, Events: spec.EvRead | spec.EvEdge},
	{End: eventqtest.Pipe1R, Events: spec.EvRead | spec.EvOneShot},
	{End: eventqtest.Pipe1R, Events: spec.EvRead | spec.EvEdge},
	{End: eventqtest.Pipe0W, Events: spec.EvWrite | spec.EvOneShot},
	{End: eventqtest.SockA, Events: spec.EvRead | spec.EvNoPeer | spec.EvOneShot},
	{End: eventqtest.SockB, Events: spec.EvRead | spec.EvLevel},
	{End: eventqtest.SockB, Events: spec.EvRead | spec.EvEdge},
	{End: eventqtest.SockA, Events: spec.EvRead | spec.EvExclusive},
	{End: eventqtest.SockA, Events: spec.EvRead | spec.EvExclusive | spec.EvEdge},
}

var (
	eqStormWritable = []eventqtest.End{eventqtest.Pipe0W, eventqtest.Pipe1W, eventqtest.SockA, eventqtest.SockB}
	eqStormReadable = []eventqtest.End{eventqtest.Pipe0R, eventqtest.Pipe1R, eventqtest.SockA, eventqtest.SockB}
)

func eqIdle() *cont.C {
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step { return c.Next() })
}

// register makes one registration with a fresh continuation.
func (s *eqStormQueue) register(rng *rand.Rand) {
	c := eqIdle()
	r := &eqRec{}
	var call func() (spec.EventID, error)
	switch k := rng.IntN(10); {
	case k < 7:
		tg := eqStormTargets[rng.IntN(len(eqStormTargets))]
		r.oneShot, r.what = tg.Events&spec.EvOneShot != 0, tg.String()
		call = func() (spec.EventID, error) { return s.q.Register(s.fds[tg.End], tg.Events, c) }
	case k < 9:
		d := time.Duration(rng.IntN(500)) * time.Microsecond
		r.oneShot, r.what = true, fmt.Sprintf("after %v", d)
		call = func() (spec.EventID, error) { return s.q.After(d, c) }
	default:
		d := time.Duration(500+rng.IntN(1500)) * time.Microsecond
		r.what = fmt.Sprintf("every %v", d)
		call = func() (spec.EventID, error) { return s.q.Every(d, c) }
	}
	s.mu.Lock()
	s.recs[c] = r // before Register: the waiter may see it fire at once
	s.mu.Unlock()
	closedBefore := s.closed.Load()
	id, err := call()
	r.id, r.err = id, err
	switch {
	case err == nil:
		r.reg.Store(true)
		s.mu.Lock()
		s.ids = append(s.ids, r)
		s.mu.Unlock()
	case errors.Is(err, spec.ErrClosed):
	default:
		s.fail("%s: %v (closed before: %v)", r.what, err, closedBefore)
	}
}

// cancel cancels one of the last registrations made (or an id never
// issued).
func (s *eqStormQueue) cancel(rng *rand.Rand) {
	s.mu.Lock()
	var r *eqRec
	if n := len(s.ids); n > 0 && rng.IntN(8) != 0 {
		r = s.ids[n-1-rng.IntN(min(n, 6))]
	}
	s.mu.Unlock()
	if r == nil {
		if s.q.Cancel(1 << 40) {
			s.fail("Cancel of an id never issued reported true")
		}
		return
	}
	if s.q.Cancel(r.id) {
		r.cancelledAt.CompareAndSwap(0, s.now())
		r.cancels.Add(1)
	}
}

// poke writes to or reads from an fd of the queue.
func (s *eqStormQueue) poke(rng *rand.Rand) {
	if rng.IntN(3) == 0 {
		var buf [64]byte
		for {
			if _, err := unix.Read(s.fds[eqStormReadable[rng.IntN(len(eqStormReadable))]], buf[:]); err != unix.EINTR {
				return
			}
		}
	}
	if _, err := unix.Write(s.fds[eqStormWritable[rng.IntN(len(eqStormWritable))]], []byte{'x'}); err != nil && err != unix.EAGAIN {
		s.fail("write: %v", err)
	}
}

// close closes the queue (once it takes effect; later Closes must report
// ErrClosed) and records what it hands back.
func (s *eqStormQueue) close() {
	held, err := s.q.Close()
	if errors.Is(err, spec.ErrClosed) {
		if held != nil {
			s.fail("a second Close handed back %d continuations", len(held))
		}
		return
	}
	s.closed.Store(true)
	if err != nil {
		s.fail("Close: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeOK = true
	for _, c := range held {
		r := s.recs[c]
		if r == nil {
			s.problem = append(s.problem, s.name+": Close handed back a continuation never registered")
			continue
		}
		r.held.Add(1)
	}
}

// handle accounts for the firings of one Wait (begun at call) and hands
// some lent continuations back; it is the waiter's alone.
func (s *eqStormQueue) handle(ready []eventq.Ready, call int64, rng *rand.Rand) {
	for _, rd := range ready {
		s.mu.Lock()
		r := s.recs[rd.C]
		s.mu.Unlock()
		if r == nil {
			s.fail("Wait handed out id %d with a continuation never registered", rd.ID)
			continue
		}
		r.fired.Add(1)
		if !r.firedID.CompareAndSwap(0, uint64(rd.ID)) && r.firedID.Load() != uint64(rd.ID) {
			r.wrongID.Store(true)
		}
		if at := r.cancelledAt.Load(); at != 0 && call > at {
			r.late.Store(true)
		}
		if rd.Ended != r.oneShot {
			s.fail("id %d (%s) handed out with Ended %v", rd.ID, r.what, rd.Ended)
		}
		if rd.Ended {
			continue
		}
		r.lent = true
		if rng.IntN(2) == 0 {
			switch err := s.q.Rearm(rd.ID); {
			case err == nil:
				r.lent = false
			case errors.Is(err, spec.ErrUnknownID), errors.Is(err, spec.ErrClosed):
			default:
				s.fail("Rearm(%d): %v", rd.ID, err)
			}
		}
	}
}

// waitLoop is a goroutine waiter: it waits until the queue is closed.
func (s *eqStormQueue) waitLoop(rng *rand.Rand) {
	var buf []eventq.Ready
	for {
		call := s.now()
		ready, err := s.q.Wait(buf[:0], -1)
		buf = ready
		s.handle(ready, call, rng)
		switch {
		case errors.Is(err, spec.ErrClosed):
			return
		case err != nil:
			s.fail("Wait: %v", err)
			return
		}
	}
}

// waiterCont is a runtime waiter's continuation: each step waits once
// (the end of its context, a Halt or a Cancel of the runtime, breaks the
// Wait with a Wake) and handles what it got; it finishes once the queue is
// closed.
func (s *eqStormQueue) waiterCont(rng *rand.Rand) *cont.C {
	var buf []eventq.Ready
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		stop := context.AfterFunc(ctx, func() { s.q.Wake() })
		call := s.now()
		ready, err := s.q.Wait(buf[:0], -1)
		stop()
		buf = ready
		s.handle(ready, call, rng)
		switch {
		case errors.Is(err, spec.ErrClosed):
			return nil
		case err != nil:
			s.fail("Wait: %v", err)
			return nil
		}
		return c.Next()
	})
}

// audit accounts for every continuation of the queue, once every goroutine
// of the storm has finished and the queue is closed.
func (s *eqStormQueue) audit() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	problems := slices.Clone(s.problem)
	if !s.closeOK {
		problems = append(problems, s.name+": no Close took effect")
	}
	for _, r := range s.recs {
		fired, cancels, held := int(r.fired.Load()), int(r.cancels.Load()), int(r.held.Load())
		what := fmt.Sprintf("%s: id %d (%s): handed out %d, cancelled %d, handed back by Close %d", s.name, r.id, r.what, fired, cancels, held)
		switch {
		case !r.reg.Load():
			if fired+held > 0 {
				problems = append(problems, what+": but its Register failed ("+fmt.Sprint(r.err)+")")
			}
			continue
		case r.wrongID.Load() || fired > 0 && r.firedID.Load() != uint64(r.id):
			problems = append(problems, what+fmt.Sprintf(": handed out under id %d", r.firedID.Load()))
		case r.late.Load():
			problems = append(problems, what+": handed out by a Wait that began after a Cancel had reported true")
		case held > 1, cancels > 1:
			problems = append(problems, what+": more than once")
		case r.oneShot && fired+cancels+held != 1:
			problems = append(problems, what+": a one-shot must be exactly one of the three")
		case !r.oneShot && (held == 1) != (cancels == 0 && !r.lent):
			problems = append(problems, what+fmt.Sprintf(": lent at the end %v, so it must be handed back exactly when neither cancelled nor lent", r.lent))
		}
	}
	return problems
}

// release closes the queue's fds.
func (s *eqStormQueue) release() {
	for i, fd := range s.fds {
		if fd >= 0 {
			unix.Close(fd)
			s.fds[i] = -1
		}
	}
}
