package eventqtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// PollBits are the poll(2) flags of the conditions of an event set: how
// the campaign (and FuzzEventQueue) asks the kernel whether a registration
// ought to fire.
func PollBits(e spec.Events) int16 {
	var b int16 = unix.POLLERR | unix.POLLHUP
	if e&spec.EvRead != 0 {
		b |= unix.POLLIN
	}
	if e&spec.EvWrite != 0 {
		b |= unix.POLLOUT
	}
	if e&spec.EvNoPeer != 0 {
		b |= unix.POLLRDHUP
	}
	if e&spec.EvPriority != 0 {
		b |= unix.POLLPRI
	}
	return b
}

// readiness returns what poll(2) says each end of the round is ready for
// now.
func (run *eqRun) readiness() [Ends]int16 {
	var out [Ends]int16
	pfds := make([]unix.PollFd, Ends)
	for i, fd := range run.fds {
		pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN | unix.POLLOUT | unix.POLLRDHUP | unix.POLLPRI}
	}
	for {
		if _, err := unix.Poll(pfds, 0); err != unix.EINTR {
			break
		}
	}
	for i := range pfds {
		out[i] = pfds[i].Revents
	}
	return out
}

// eqLife is one successful registration, with every operation on its id.
type eqLife struct {
	reg      *eqReg
	fires    []porcupine.Operation
	cancels  []porcupine.Operation // Cancel that reported true
	rearms   []porcupine.Operation // Rearm that succeeded
	heldBack int                   // times Close handed its continuation back
}

// ended reports whether the registration is known to have ended: a
// one-shot that fired, or one cancelled.
func (l *eqLife) ended() bool {
	return len(l.cancels) > 0 || l.reg.oneShot() && len(l.fires) > 0
}

// armed returns whether a registration that has not ended is armed now,
// and whether that is known. The recorded intervals of firings may
// overlap (a Wait's interval is wider than the Wait), so: it is known
// armed if it never fired or a Rearm began after every firing returned,
// known lent if a firing began after every Rearm returned, and unknown
// otherwise.
func (l *eqLife) armed() (armed, known bool) {
	rearmedLast := len(l.fires) == 0
	for _, r := range l.rearms {
		after := true
		for _, f := range l.fires {
			after = after && r.Call > f.Return
		}
		rearmedLast = rearmedLast || after
	}
	if rearmedLast {
		return true, true
	}
	for _, f := range l.fires {
		after := true
		for _, r := range l.rearms {
			after = after && f.Call > r.Return
		}
		if after {
			return false, true
		}
	}
	return false, false
}

// eqIndex joins a round's registrations, firings and history.
type eqIndex struct {
	run     *eqRun
	regs    []*eqReg // every attempt
	byID    map[spec.EventID]*eqLife
	byCont  map[*cont.C]*eqLife
	ids     []spec.EventID // successful ones, in id order
	fires   []eqFire
	history []porcupine.Operation
}

// index builds the index of what the round did so far. Call it only while
// no client and no kernel runs.
func (run *eqRun) index() *eqIndex {
	ix := &eqIndex{run: run, byID: map[spec.EventID]*eqLife{}, byCont: map[*cont.C]*eqLife{}, history: run.rec.History()}
	for i := range run.clients {
		for j := range run.clients[i].regs {
			g := &run.clients[i].regs[j]
			ix.regs = append(ix.regs, g)
			if g.err == nil {
				l := &eqLife{reg: g}
				ix.byID[g.id] = l
				ix.byCont[g.c] = l
				ix.ids = append(ix.ids, g.id)
			}
		}
		ix.fires = append(ix.fires, run.clients[i].fires...)
	}
	slices.Sort(ix.ids)
	for _, op := range ix.history {
		in, out := op.Input.(model.EventQInput), op.Output.(model.EventQOutput)
		l := ix.byID[in.ID]
		if l == nil {
			continue
		}
		switch {
		case in.Op == model.EqFire:
			l.fires = append(l.fires, op)
		case in.Op == model.EqCancel && out.Bool:
			l.cancels = append(l.cancels, op)
		case in.Op == model.EqRearm && out.Err == nil:
			l.rearms = append(l.rearms, op)
		}
	}
	return ix
}

// dueTimers returns the timers that have not ended and, as far as is
// known, are armed, and the time by which each is due to fire.
func (ix *eqIndex) dueTimers() (ids []spec.EventID, by time.Time) {
	for _, id := range ix.ids {
		l := ix.byID[id]
		if !l.reg.timer || l.ended() {
			continue
		}
		armed, known := l.armed()
		if !armed || !known {
			continue
		}
		due := time.Now().Add(EveryPeriod) // periodic: the next expiry, at the latest
		if l.reg.oneShot() {
			due = l.reg.ret.Add(l.reg.after)
		}
		if due.After(by) {
			by = due
		}
		ids = append(ids, id)
	}
	return ids, by
}

// settle ends a round's activity: it lets the timers that are due expire,
// then has the kernel client poll until nothing more is ready and every
// timer that was due has fired (or patience runs out), handing nothing
// back. Under the controlled scheduler (controlled) time is virtual: a
// Wait with a timeout lets the queue's clock move to its next timer, so
// nothing sleeps, and two Waits in a row that hand out nothing though a
// timer was due end it (time has passed: the timer is lost).
func (run *eqRun) settle(ix *eqIndex, patience time.Duration, controlled bool) {
	if !controlled {
		// A signal owed comes through two goroutines (os/signal's and the
		// registration's watcher) before the queue sees it: on a loaded
		// machine that may take longer than a due timer, and waiting costs
		// nothing once nothing is owed.
		run.settleSignals(max(patience, signalPatience))
		ix = run.index()
	}
	timers, by := ix.dueTimers()
	if len(timers) > 0 && !controlled {
		time.Sleep(time.Until(by))
	}
	waiting := map[spec.EventID]bool{}
	for _, id := range timers {
		waiting[id] = true
	}
	k := run.kernel
	rc, st := run.rec.Client(k), &run.clients[k]
	var buf []eventq.Ready
	giveUp := time.Now().Add(patience)
	empty := 0 // Waits in a row that handed out nothing
	for range 64 {
		timeout := time.Duration(0)
		if len(waiting) > 0 {
			timeout = time.Millisecond
		}
		call := rc.Call()
		ready, err := run.q.Wait(buf[:0], timeout)
		buf = ready
		run.record(k, call, ready)
		if err != nil {
			st.problem("kernel: final wait: %v", err)
			return
		}
		for _, rd := range ready {
			delete(waiting, rd.ID)
		}
		if len(ready) > 0 {
			empty = 0
			continue
		}
		// A Wait broken by a Wake (a client's, or the driver's that the
		// kernel client did not take) hands out nothing once: under the
		// controlled scheduler a second empty Wait means time has passed
		// and no armed timer was left.
		if empty++; len(waiting) == 0 || controlled && empty > 1 || time.Now().After(giveUp) {
			return
		}
	}
}

// idOrder returns a problem for every two successful Registers whose ids
// are out of real-time order: the one that returned first must have the
// smaller id. The partitioned model checks each id alone, so this is
// checked here.
func (ix *eqIndex) idOrder() []string {
	var regs []porcupine.Operation
	for _, op := range ix.history {
		if in, out := op.Input.(model.EventQInput), op.Output.(model.EventQOutput); in.Op == model.EqRegister && out.Err == nil {
			regs = append(regs, op)
		}
	}
	var problems []string
	for _, a := range regs {
		for _, b := range regs {
			ida, idb := a.Output.(model.EventQOutput).ID, b.Output.(model.EventQOutput).ID
			if a.Return < b.Call && ida >= idb {
				problems = append(problems, fmt.Sprintf("id %d issued by a Register that began after the one that returned id %d had returned", idb, ida))
			}
		}
	}
	return problems
}

// audit accounts for every registration, given what Close handed back
// and what each end was ready for just before it (see the campaign's
// comment).
func (ix *eqIndex) audit(held []*cont.C, ready [Ends]int16) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, g := range ix.regs {
		switch {
		case g.err == nil:
		case g.events.Check() != nil:
			// The model checks that it is ErrBadEvents.
		default:
			add("%v failed: %v (every fd of the round is open, every timer fine)", g.step, g.err)
		}
	}
	for _, f := range ix.fires {
		rd := f.rd
		l := ix.byID[rd.ID]
		if l == nil {
			add("client %d was handed id %d, which no Register returned", f.client, rd.ID)
			continue
		}
		g := l.reg
		if rd.C != g.c {
			add("firing of id %d (%v) handed out another continuation than the one registered", rd.ID, g.step)
		}
		if rd.Ended != g.oneShot() {
			add("firing of id %d (%v) says Ended %v", rd.ID, g.step, rd.Ended)
		}
		if g.sigs != "" {
			if p := auditSignal(g, rd); p != "" {
				add("%s", p)
			}
			continue
		}
		if g.timer {
			if rd.Events != spec.EvRead || rd.Count == 0 {
				add("timer firing of id %d (%v): events %v, count %d; want Read and at least 1", rd.ID, g.step, rd.Events, rd.Count)
			}
			continue
		}
		allowed := g.events&spec.EvConditions | spec.EvError | spec.EvHangUp
		if rd.Events == 0 || rd.Events&^allowed != 0 || rd.Count != 0 || rd.Signals != nil {
			add("fd firing of id %d (%v): events %v, count %d, signals %v; want conditions among %v, count 0", rd.ID, g.step, rd.Events, rd.Count, rd.Signals, allowed)
		}
	}
	kills, registered := ix.deliveries()
	var lastID spec.EventID
	for i, c := range held {
		l := ix.byCont[c]
		if l == nil {
			add("Close handed back a continuation (#%d) that no successful Register registered", i)
			continue
		}
		if l.reg.id <= lastID {
			add("Close handed back id %d after id %d: not in registration order", l.reg.id, lastID)
		}
		lastID = l.reg.id
		l.heldBack++
	}
	for _, id := range ix.ids {
		l := ix.byID[id]
		g := l.reg
		what := fmt.Sprintf("id %d (%v): fired %d, cancelled %d, handed back by Close %d", id, g.step, len(l.fires), len(l.cancels), l.heldBack)
		if l.heldBack > 1 {
			add("%s: handed back more than once", what)
		}
		if g.oneShot() {
			if len(l.fires)+len(l.cancels)+l.heldBack != 1 {
				add("%s: a one-shot must be exactly one of the three", what)
			}
		} else if len(l.cancels) > 0 {
			if l.heldBack > 0 {
				add("%s: cancelled, yet handed back", what)
			}
		} else if armed, known := l.armed(); known && armed != (l.heldBack > 0) {
			add("%s: armed %v at Close, so it must be handed back exactly when armed", what, armed)
		}
		for _, p := range ix.owed(l, kills, registered) {
			add("%s: %s (a lost signal)", what, p)
		}
		// A lost firing: armed at Close, handed back, while what it waits
		// for held (a timer due: the end of the round waited for it).
		if l.heldBack == 0 || g.events&spec.EvEdge != 0 || g.sigs != "" {
			continue
		}
		if g.timer {
			if armed, known := l.armed(); known && armed {
				add("%s: a timer armed and due at the end, never handed out (a lost firing)", what)
			}
			continue
		}
		if ready[g.end]&PollBits(g.events) != 0 {
			add("%s: armed at Close while %v was ready (revents %#x), yet the final Poll did not hand it out (a lost firing)", what, g.end, ready[g.end])
		}
	}
	return problems
}

var fdWarmUp sync.Once

// countFDs returns the number of fds the process has open, or -1.
func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// fdsBack compares the open fds with before, and describes a difference
// that persists for a moment (so that an fd the runtime opens for itself,
// once, is told apart from one a round left open only by persisting).
func fdsBack(before int) string {
	if before < 0 {
		return ""
	}
	var now int
	for range 20 {
		if now = countFDs(); now == before {
			return ""
		}
		time.Sleep(time.Millisecond)
	}
	var open []string
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		open = append(open, e.Name()+"→"+target)
	}
	return fmt.Sprintf("%d fds open before the round, %d after it ended: %s", before, now, strings.Join(open, " "))
}
