package eventqtest

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/anishathalye/porcupine"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Signals in the campaign: a round's signal steps (AddSignals) register
// continuations for SIGUSR1, SIGUSR2 or both, and send either to the
// process (kill(2) of itself). The history records each kill as a
// delivery (model.EqDeliver), from before the kill to after os/signal has
// handed the signal on to every channel registered for it (the round's
// SignalHold sees it on a channel of its own); the model then says what a firing may hand out (only
// signals delivered while registered, each at most once per delivery,
// nothing after a Cancel). What it cannot say, that every delivery is
// handed out, the end of the round checks: a registration that was live
// (its Register had returned) when a kill of its signal began, and was
// never cancelled, must hand that signal out in a firing that returned
// after the kill began, at least once per delivery up to the coalescing
// of deliveries that come while one is pending (the kernel's, and
// os/signal's). Settling first hands back every registration that owes
// one (its signals wait while it is lent) and waits for them.

// signal runs a signal step of client cl: a signal registration, or a
// kill, recorded as a delivery (model.EqDeliver) from before the kill to
// after os/signal handed it on (SignalHold.Kill).
func (run *eqRun) signal(cl int, s Step) {
	rc, st := run.rec.Client(cl), &run.clients[cl]
	if s.Kind == KillStep {
		sig := Kills[s.Arg%len(Kills)]
		call := rc.Call()
		err := errors.New("no hold of the signals (HoldSignals)")
		if run.hold != nil {
			err = run.hold.Kill(sig)
		}
		rc.Return(call, model.EventQInput{Op: model.EqDeliver, Signals: SigNums(sig)}, model.EventQOutput{})
		if err != nil {
			st.problem("client %d: kill(%v): %v", cl, sig, err)
		}
		return
	}
	sigs := SignalSets[s.Arg%len(SignalSets)]
	g := eqReg{c: idleCont(), step: s, sigs: SigNums(sigs...), events: spec.EvRead}
	in := model.EventQInput{Op: model.EqRegister, FD: -1, Events: g.events, Signals: g.sigs}
	call := rc.Call()
	g.id, g.err = run.q.Signal(g.c, sigs...)
	g.ret = time.Now()
	rc.Return(call, in, model.EventQOutput{ID: g.id, Err: g.err})
	st.regs = append(st.regs, g)
	if g.err == nil {
		run.issue(g.id)
	}
}

// SigNums renders signals as the model has them: one byte each, the
// signal's number.
func SigNums(sigs ...os.Signal) string {
	b := make([]byte, 0, len(sigs))
	for _, sig := range sigs {
		if n, ok := sig.(syscall.Signal); ok && n > 0 && n < 256 {
			b = append(b, byte(n))
		}
	}
	return string(b)
}

// signalsHeld is held by whoever holds the process's SIGUSR1 and
// SIGUSR2 (see HoldSignals).
var signalsHeld sync.Mutex

// A SignalHold is the process's SIGUSR1 and SIGUSR2, held: while it is
// held no round of the campaign sends or registers either, and its Kill
// sends them. Signals are the process's: a kill reaches every
// registration in the process, so two rounds side by side (tests with
// t.Parallel, or a fuzz target's sequential replay) would see each
// other's deliveries as firings without a delivery. Every round with a
// signal step holds them from before its queue is made to after its
// check; so must any other code in the process that registers or sends
// them while rounds may run.
type SignalHold struct {
	probe chan os.Signal // registered for both while held
	kill  sync.Mutex     // one Kill at a time
}

// HoldSignals takes SIGUSR1 and SIGUSR2 for the caller, waiting for a
// holder before it to release them.
func HoldSignals() *SignalHold {
	signalsHeld.Lock()
	h := &SignalHold{probe: make(chan os.Signal, 4)}
	signal.Notify(h.probe, Kills[0], Kills[1])
	return h
}

// Release lets the signals go; every Kill has returned by then, so no
// signal it sent is still on its way to reach the next holder's
// registrations.
func (h *SignalHold) Release() {
	signal.Stop(h.probe)
	signalsHeld.Unlock()
}

// signalPatience is the least time the end of a round waits for the
// signals owed (settleSignals).
const signalPatience = time.Second

// killPatience bounds how long Kill waits for os/signal to hand its signal
// on: microseconds on a quiet machine.
const killPatience = 2 * time.Second

// Kill sends sig to the process and returns once os/signal has handed it
// on: to the hold's own channel, and in the same pass (under os/signal's
// lock, which a Register must take too) to every channel registered for
// it then, a signal registration's among them. So a registration made
// after Kill returned never sees that delivery, and none is still on its
// way when the hold is released. Kills are one at a time, so that two
// never coalesce into one that a waiter waits for twice.
func (h *SignalHold) Kill(sig syscall.Signal) error {
	h.kill.Lock()
	defer h.kill.Unlock()
	for drained := false; !drained; { // a late one of an earlier Kill of ours
		select {
		case <-h.probe:
		default:
			drained = true
		}
	}
	if err := unix.Kill(os.Getpid(), sig); err != nil {
		return err
	}
	timer := time.NewTimer(killPatience)
	defer timer.Stop()
	for {
		select {
		case got := <-h.probe:
			if got == sig {
				return nil
			}
		case <-timer.C:
			return fmt.Errorf("os/signal did not hand %v on within %v", sig, killPatience)
		}
	}
}

// deliveries returns the round's kills, and the Register of each signal
// registration by id.
func (ix *eqIndex) deliveries() (kills []porcupine.Operation, registered map[spec.EventID]porcupine.Operation) {
	registered = map[spec.EventID]porcupine.Operation{}
	for _, op := range ix.history {
		in, out := op.Input.(model.EventQInput), op.Output.(model.EventQOutput)
		switch {
		case in.Op == model.EqDeliver:
			kills = append(kills, op)
		case in.Op == model.EqRegister && in.Signals != "" && out.Err == nil:
			registered[out.ID] = op
		}
	}
	return kills, registered
}

// owed returns, for signal registration l, one line per signal it owes:
// a kill of it began after l's Register returned, l was never cancelled,
// and no firing of l that returned after the last such kill began handed
// that signal out.
func (ix *eqIndex) owed(l *eqLife, kills []porcupine.Operation, registered map[spec.EventID]porcupine.Operation) []string {
	reg, ok := registered[l.reg.id]
	if !ok || len(l.cancels) > 0 {
		return nil
	}
	var owes []string
	for _, sig := range []byte(l.reg.sigs) {
		var last *porcupine.Operation
		for i, k := range kills {
			if k.Input.(model.EventQInput).Signals == string(sig) && k.Call > reg.Return && (last == nil || k.Call > last.Call) {
				last = &kills[i]
			}
		}
		if last == nil {
			continue
		}
		handed := false
		for _, f := range l.fires {
			handed = handed || f.Return > last.Call && strings.IndexByte(f.Input.(model.EventQInput).Signals, sig) >= 0
		}
		if !handed {
			owes = append(owes, fmt.Sprintf("%v sent at %v, after the registration, never handed out", syscall.Signal(sig), time.Duration(last.Call)))
		}
	}
	return owes
}

// settleSignals hands back every signal registration that owes a signal
// and waits for its firings, until none owes one or patience runs out
// (recording everything, as the kernel client).
func (run *eqRun) settleSignals(patience time.Duration) {
	k := run.kernel
	rc, st := run.rec.Client(k), &run.clients[k]
	var buf []eventq.Ready
	for giveUp := time.Now().Add(patience); time.Now().Before(giveUp); {
		ix := run.index()
		kills, registered := ix.deliveries()
		if len(kills) == 0 {
			return
		}
		owing := 0
		for _, id := range ix.ids {
			l := ix.byID[id]
			if len(ix.owed(l, kills, registered)) == 0 {
				continue
			}
			owing++
			if armed, known := l.armed(); !armed || !known {
				rc.Do(model.EventQInput{Op: model.EqRearm, ID: id}, func() any {
					return model.EventQOutput{Err: run.q.Rearm(id)}
				})
			}
		}
		if owing == 0 {
			return
		}
		call := rc.Call()
		ready, err := run.q.Wait(buf[:0], time.Millisecond)
		buf = ready
		run.record(k, call, ready)
		if err != nil {
			st.problem("kernel: wait for signals: %v", err)
			return
		}
	}
}

// auditSignal returns what is wrong with a firing of signal registration
// g, or "".
func auditSignal(g *eqReg, rd eventq.Ready) string {
	ok := rd.Events == spec.EvRead && rd.Count == uint64(len(rd.Signals)) && rd.Count > 0
	for _, sig := range rd.Signals {
		ok = ok && strings.Contains(g.sigs, SigNums(sig))
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("signal firing of id %d (%v): events %v, count %d, signals %v; want Read, and as many as it counts, at least one, of those it waits for", rd.ID, g.step, rd.Events, rd.Count, rd.Signals)
}
