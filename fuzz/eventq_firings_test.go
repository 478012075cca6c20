package fuzz

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/eventq/eventqtest"
	"github.com/insideout-go/insideout/spec"
)

// The sequential replay's checks of what an event queue hands out: each
// firing of a Wait against the reference, the ready level registrations
// a Wait must hand out, a Wake that must end the next Wait, the timers
// that must fire once due, and the continuations Close must hand back.

// wait runs one Wait and checks every firing against the reference; and,
// if the queue is open, that every level registration that was armed
// before the Wait on an fd that poll(2) then said was ready has fired.
func (r *eqReplay) wait(what string, timeout time.Duration) error {
	var due []*eqFuzzReg
	if !r.closed {
		due = r.readyLevels()
	}
	ready, err := r.q.Wait(nil, timeout)
	if r.closed {
		if len(ready) > 0 || !errors.Is(err, spec.ErrClosed) {
			return fmt.Errorf("%s after Close: %d firings, %v; want none and ErrClosed", what, len(ready), err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	if err := r.fired(what, ready); err != nil {
		return err
	}
	for _, g := range due {
		if !slices.ContainsFunc(ready, func(rd eventq.Ready) bool { return rd.ID == g.id }) {
			return fmt.Errorf("%s: id %d (%v on %v) was armed while poll(2) said ready, yet not handed out (%d firings)", what, g.id, g.events, eventqtest.End(g.end), len(ready))
		}
	}
	return nil
}

// fired checks and applies the firings of one Wait.
func (r *eqReplay) fired(what string, ready []eventq.Ready) error {
	for _, rd := range ready {
		g := r.byID[rd.ID]
		if g == nil {
			return fmt.Errorf("%s: fired id %d, never issued", what, rd.ID)
		}
		if g.signal {
			if err := r.firedSignal(what, g, rd); err != nil {
				return err
			}
			continue
		}
		if !r.ref.Fire(g.mid) {
			return fmt.Errorf("%s: fired id %d (%v), which the reference says cannot fire now (cancelled, a one-shot that fired, or lent)", what, rd.ID, g.events)
		}
		switch {
		case rd.C != g.c:
			return fmt.Errorf("%s: firing of id %d handed out another continuation", what, rd.ID)
		case rd.Ended != (g.events&spec.EvOneShot != 0):
			return fmt.Errorf("%s: firing of id %d (%v) says Ended %v", what, rd.ID, g.events, rd.Ended)
		case g.timer:
			if rd.Events != spec.EvRead || rd.Count == 0 || rd.Signals != nil {
				return fmt.Errorf("%s: timer firing of id %d: events %v, count %d; want Read, at least 1", what, rd.ID, rd.Events, rd.Count)
			}
		default:
			if allowed := g.events&spec.EvConditions | spec.EvError | spec.EvHangUp; rd.Events == 0 || rd.Events&^allowed != 0 || rd.Count != 0 || rd.Signals != nil {
				return fmt.Errorf("%s: firing of id %d (%v): events %v, count %d", what, rd.ID, g.events, rd.Events, rd.Count)
			}
		}
	}
	return nil
}

// firedSignal checks and applies a firing of signal registration g: it
// hands out its own continuation, not Ended, Read, as many signals as it
// counts, each one the reference has pending (delivered while registered,
// not handed out yet: never one that was not sent, never one twice).
func (r *eqReplay) firedSignal(what string, g *eqFuzzReg, rd eventq.Ready) error {
	got := eventqtest.SigNums(rd.Signals...)
	switch pending := r.ref.Pending(g.mid); {
	case rd.C != g.c:
		return fmt.Errorf("%s: firing of id %d handed out another continuation", what, rd.ID)
	case rd.Ended || rd.Events != spec.EvRead || rd.Count != uint64(len(rd.Signals)) || len(got) != len(rd.Signals):
		return fmt.Errorf("%s: signal firing of id %d: ended %v, events %v, count %d, signals %v; want Read and the count of its signals", what, rd.ID, rd.Ended, rd.Events, rd.Count, rd.Signals)
	case !r.ref.FireSignals(g.mid, got):
		return fmt.Errorf("%s: signal registration %d handed out %v, with %q pending (delivered while registered, not yet handed out) and armed %v: a signal not sent, or handed out twice, or a firing while lent", what, rd.ID, rd.Signals, pending, r.ref.CanFire(g.mid))
	}
	for _, sig := range []byte(got) {
		g.owed = strings.ReplaceAll(g.owed, string(sig), "")
	}
	return nil
}

// kill sends sigs to the process, one after the other, each once os/signal
// has handed the one before on, and tells the reference of each delivery;
// every live registration for one then owes a firing with it.
func (r *eqReplay) kill(what string, sigs []syscall.Signal) error {
	for _, sig := range sigs {
		if err := r.hold.Kill(sig); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		n := eventqtest.SigNums(sig)
		r.ref.Deliver(n[0])
		for _, g := range r.regs {
			if g.signal && r.live(g) && strings.Contains(g.sigs, n) && !strings.Contains(g.owed, n) {
				g.owed += n
			}
		}
	}
	return nil
}

// settleSignals hands back every live signal registration that owes a
// firing (a signal sent since it last handed that one out), and waits
// until each has handed out what it owes (up to eqPatience): at least
// one firing per delivery while registered, deliveries that came while
// one was pending coalesced.
func (r *eqReplay) settleSignals() error {
	for giveUp := time.Now().Add(eqPatience); ; {
		var owing []*eqFuzzReg
		for _, g := range r.regs {
			if g.signal && g.owed != "" && r.live(g) {
				owing = append(owing, g)
			}
		}
		if len(owing) == 0 {
			return nil
		}
		if time.Now().After(giveUp) {
			g := owing[0]
			return fmt.Errorf("signal registration %d: %q sent while it was registered, never handed out in %v (a lost signal)", g.id, g.owed, eqPatience)
		}
		for _, g := range owing {
			if !r.ref.CanFire(g.mid) {
				if err := r.rearm("final rearm", g.id); err != nil {
					return err
				}
			}
		}
		ready, err := r.q.Wait(nil, time.Millisecond)
		if err != nil {
			return fmt.Errorf("final wait for signals: %v", err)
		}
		if err := r.fired("final wait for signals", ready); err != nil {
			return err
		}
	}
}

// readyLevels returns the armed level (not edge) registrations of ends of
// ours that poll(2) says are ready for what they ask: a Wait must hand
// each out, since the kernel puts a ready fd on epoll's ready list as it
// becomes ready and a level one stays there. (Nothing makes such an fd
// unready meanwhile: the queue neither reads nor writes it; closing a
// duplicate it held can only add a hang-up.)
func (r *eqReplay) readyLevels() []*eqFuzzReg {
	var due []*eqFuzzReg
	for _, g := range r.regs {
		if g.end < 0 || g.events&spec.EvEdge != 0 || !r.ref.CanFire(g.mid) || r.fds[g.end] < 0 {
			continue
		}
		pfd := []unix.PollFd{{Fd: int32(r.fds[g.end]), Events: eventqtest.PollBits(g.events)}}
		for {
			if _, err := unix.Poll(pfd, 0); err != unix.EINTR {
				break
			}
		}
		if pfd[0].Revents&eventqtest.PollBits(g.events) != 0 {
			due = append(due, g)
		}
	}
	return due
}

// wake wakes the queue, then waits without a limit: the kept wake-up
// must end that Wait at once (a watchdog closes the queue after
// eqWakePatience, which breaks the Wait, to report a lost wake-up rather
// than hang).
func (r *eqReplay) wake(what string) error {
	err := r.q.Wake()
	if r.closed {
		return oneOf(what, err, spec.ErrClosed)
	}
	if err != nil {
		return fmt.Errorf("%s: Wake: %v", what, err)
	}
	dog := time.AfterFunc(eqWakePatience, func() { r.q.Close() })
	ready, err := r.q.Wait(nil, -1)
	if !dog.Stop() {
		r.closed = true
		return fmt.Errorf("%s: the Wait after a Wake slept until the watchdog closed the queue, %v later: the wake-up was lost", what, eqWakePatience)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	return r.fired(what, ready)
}

// settleTimers waits until every armed timer is due, and then until each
// has fired (up to eqPatience).
func (r *eqReplay) settleTimers() error {
	armed := map[spec.EventID]*eqFuzzReg{}
	var by time.Time
	for _, g := range r.regs {
		if !g.timer || !r.ref.CanFire(g.mid) {
			continue
		}
		due := g.due
		if g.period > 0 {
			due = time.Now().Add(g.period)
		}
		if due.After(by) {
			by = due
		}
		armed[g.id] = g
	}
	if len(armed) == 0 {
		return nil
	}
	time.Sleep(time.Until(by))
	giveUp := time.Now().Add(eqPatience)
	for len(armed) > 0 {
		if time.Now().After(giveUp) {
			var ids []spec.EventID
			for id := range armed {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			return fmt.Errorf("timers %v armed and due, not handed out in %v (a lost firing)", ids, eqPatience)
		}
		ready, err := r.q.Wait(nil, time.Millisecond)
		if err != nil {
			return fmt.Errorf("final wait: %v", err)
		}
		if err := r.fired("final wait", ready); err != nil {
			return err
		}
		for _, rd := range ready {
			delete(armed, rd.ID)
		}
	}
	return nil
}

// closeQueue closes the queue, which must hand back the continuations of
// the armed registrations, in registration order.
func (r *eqReplay) closeQueue() error {
	held, err := r.q.Close()
	r.closed = true
	if err != nil {
		return fmt.Errorf("Close: %v", err)
	}
	var want []*cont.C
	var ids []spec.EventID
	for _, g := range r.regs {
		if r.ref.CanFire(g.mid) {
			want = append(want, g.c)
			ids = append(ids, g.id)
		}
	}
	if !slices.Equal(held, want) {
		return fmt.Errorf("Close handed back %d continuations; want the %d of the armed registrations %v, in order", len(held), len(want), ids)
	}
	return nil
}
