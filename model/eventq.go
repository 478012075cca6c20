package model

import (
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/spec"
)

// The registration life of spec.EventQueue: armed (may fire), lent (fired,
// its continuation out, not handed back), ended (cancelled, or a one-shot
// that fired).
type eqStatus uint8

const (
	eqArmed eqStatus = iota
	eqLent
	eqEnded
)

var eqStatusNames = [...]string{"armed", "lent", "ended"}

// eqReg is one registration, as the model sees it. A signal
// registration has Sigs, the signals it waits for, and Pending, the
// deliveries it has seen and not yet handed out: one byte each, the
// signal's number, in order of number (strings, so that a state stays
// comparable).
type eqReg struct {
	ID      spec.EventID
	FD      int
	Events  spec.Events
	Status  eqStatus
	Sigs    string
	Pending string
}

func (r eqReg) oneShot() bool { return r.Events&spec.EvOneShot != 0 }

// eqEventsOK is spec.Events.Check's rule, written out again: known bits
// only, at least one condition, not both Edge and Level, and Exclusive
// without OneShot, NoPeer, Priority or Message.
func eqEventsOK(e spec.Events) bool {
	const all = spec.EvRead | spec.EvWrite | spec.EvError | spec.EvHangUp | spec.EvNoPeer |
		spec.EvPriority | spec.EvMessage | spec.EvOneShot | spec.EvEdge | spec.EvLevel |
		spec.EvExclusive | spec.EvWakeUp
	const conditions = spec.EvRead | spec.EvWrite | spec.EvError | spec.EvHangUp | spec.EvNoPeer |
		spec.EvPriority | spec.EvMessage
	switch {
	case e&^all != 0, e&conditions == 0:
		return false
	case e&spec.EvEdge != 0 && e&spec.EvLevel != 0:
		return false
	case e&spec.EvExclusive != 0 && e&(spec.EvOneShot|spec.EvNoPeer|spec.EvPriority|spec.EvMessage) != 0:
		return false
	}
	return true
}

// errModelBadFD is EventQRef's error for a negative fd, where a real queue
// reports the kernel's EBADF.
var errModelBadFD = errors.New("model: bad fd")

// EventQRef is the reference sequential event queue of spec.EventQueue:
// a map of registrations, each armed, lent or ended, with the rules
// written out one by one. It has no kernel: a firing is what a client
// observes (a Wait handing a continuation out), applied with Fire, which
// says whether the rules allow it. Timers and signals are registrations
// like any other (a one-shot timer is registered OneShot). Close is
// outside the model.
type EventQRef struct {
	regs map[spec.EventID]*eqReg
	last spec.EventID
}

// Register adds an armed registration and returns its fresh id, or fails
// with spec.ErrBadEvents for a bad event set, or an error for a negative
// fd (the kernel's EBADF), registering nothing.
func (q *EventQRef) Register(fd int, events spec.Events) (spec.EventID, error) {
	if !eqEventsOK(events) {
		return 0, spec.ErrBadEvents
	}
	if fd < 0 {
		return 0, errModelBadFD
	}
	if q.regs == nil {
		q.regs = map[spec.EventID]*eqReg{}
	}
	q.last++
	q.regs[q.last] = &eqReg{ID: q.last, FD: fd, Events: events}
	return q.last, nil
}

// CanFire reports whether registration id may fire now: it is armed.
func (q *EventQRef) CanFire(id spec.EventID) bool {
	r := q.regs[id]
	return r != nil && r.Status == eqArmed
}

// Fire applies a firing of id, if the rules allow one, and reports
// whether they did: a one-shot ends, any other is lent. A signal
// registration fires with FireSignals.
func (q *EventQRef) Fire(id spec.EventID) bool {
	if !q.CanFire(id) || q.regs[id].Sigs != "" { // a signal registration's: FireSignals
		return false
	}
	r := q.regs[id]
	if r.oneShot() {
		r.Status = eqEnded
	} else {
		r.Status = eqLent
	}
	return true
}

// Rearm hands a lent continuation back (armed again); an armed
// registration stays armed; an ended or unknown id fails with
// spec.ErrUnknownID.
func (q *EventQRef) Rearm(id spec.EventID) error {
	r := q.regs[id]
	if r == nil || r.Status == eqEnded {
		return spec.ErrUnknownID
	}
	r.Status = eqArmed
	return nil
}

// Cancel ends registration id and reports whether it had not ended.
func (q *EventQRef) Cancel(id spec.EventID) bool {
	r := q.regs[id]
	if r == nil || r.Status == eqEnded {
		return false
	}
	r.Status = eqEnded
	return true
}

// RegisterSignals adds an armed signal registration for sigs (signal
// numbers, one byte each) and returns its fresh id.
func (q *EventQRef) RegisterSignals(sigs string) spec.EventID {
	id, _ := q.Register(0, spec.EvRead)
	q.regs[id].Sigs = sortedSigs(sigs)
	return id
}

// Deliver applies a delivery of signal sig: every live registration for
// it has one more of it pending.
func (q *EventQRef) Deliver(sig byte) {
	for _, r := range q.regs {
		if r.Status != eqEnded && strings.IndexByte(r.Sigs, sig) >= 0 {
			r.Pending = sortedSigs(r.Pending + string(sig))
		}
	}
}

// Pending returns the signals delivered to registration id and not yet
// handed out, in order of number.
func (q *EventQRef) Pending(id spec.EventID) string {
	if r := q.regs[id]; r != nil {
		return r.Pending
	}
	return ""
}

// FireSignals applies a firing of signal registration id that handed out
// got, if the rules allow one (armed, at least one signal, each pending),
// and reports whether they did.
func (q *EventQRef) FireSignals(id spec.EventID, got string) bool {
	r := q.regs[id]
	if r == nil || r.Status != eqArmed {
		return false
	}
	ok, next := eqFireSignals(eqState{*r}, 0, got)
	if ok {
		*r = next.(eqState)[0]
	}
	return ok
}

// Live returns the ids of the registrations that have not ended, in
// order.
func (q *EventQRef) Live() []spec.EventID {
	var ids []spec.EventID
	for id, r := range q.regs {
		if r.Status != eqEnded {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// EventQOp names an operation of spec.EventQueue in a recorded history.
type EventQOp uint8

const (
	// EqRegister is Register(FD, Events), of an fd, a timer or a signal.
	EqRegister EventQOp = iota
	// EqCancel is Cancel(ID).
	EqCancel
	// EqFire is a firing of ID, observed: a Wait handed its continuation
	// out. Record it with the interval of the Wait that returned it.
	EqFire
	// EqRearm is Rearm(ID).
	EqRearm
	// EqDeliver is a process signal sent (kill(2) of the process itself):
	// Signals holds its number. The signal reaches the registrations at
	// some instant after the call began, which need not be before kill
	// returned (os/signal hands it on from a goroutine of its own): record
	// its return once it is known handed on (a channel of the recorder's
	// own, registered for it, received it), or after every other
	// operation of the history.
	EqDeliver
	eqOps
)

var eqNames = [eqOps]string{"register", "cancel", "fire", "rearm", "deliver"}

// EventQInput records the call of one event queue operation.
type EventQInput struct {
	Op     EventQOp
	FD     int          // EqRegister
	Events spec.Events  // EqRegister
	ID     spec.EventID // EqCancel, EqFire, EqRearm
	// Signals are signal numbers, one byte each: for an EqRegister of a
	// signal registration, the signals it waits for (Events is then
	// Read); for an EqFire of one, the signals the firing handed out, in
	// order; for an EqDeliver, the one delivered.
	Signals string
}

// EventQOutput records its return: ID and Err for EqRegister, Bool for
// EqCancel, Err for EqRearm; EqFire returns nothing.
type EventQOutput struct {
	ID   spec.EventID
	Err  error
	Bool bool
}

// eqState is the model's state: every registration ever issued, in id
// order (ended ones too, so that an id is never issued twice). States are
// immutable: a step copies the slice before changing it.
type eqState []eqReg

func (s eqState) find(id spec.EventID) int {
	i, ok := slices.BinarySearchFunc(s, id, func(r eqReg, id spec.EventID) int {
		switch {
		case r.ID < id:
			return -1
		case r.ID > id:
			return 1
		}
		return 0
	})
	if !ok {
		return -1
	}
	return i
}

// with returns a copy of s with registration i's status set to st.
func (s eqState) with(i int, st eqStatus) eqState {
	next := slices.Clone(s)
	next[i].Status = st
	return next
}

// EventQ returns the porcupine model of spec.EventQueue's registrations.
//
// Signal registrations are registrations too, with the signals they wait
// for. A delivery (EqDeliver) adds its signal to what every live signal
// registration for it has pending (armed or lent: a lent one keeps it for
// its next firing); a firing of a signal registration must hand out at
// least one signal, each one pending (it takes one), so no firing
// without a delivery, and no signal handed out more often than it was
// delivered while registered. It may hand out fewer: the kernel
// coalesces a signal that arrives while the same one is pending, and
// os/signal drops what a full channel cannot take. That every delivery
// is handed out (at least once per delivery while registered, up to
// that coalescing) is liveness, which no history alone shows: the
// event-queue campaign's audit checks it.
//
// Register with a bad event set must fail with spec.ErrBadEvents; with a
// good one it either returns an id greater than every id issued before
// (ids increase in linearization order) and adds an armed registration,
// or fails with another error (the kernel refused the fd) and adds
// nothing. A Fire is legal only for an armed registration: never after a
// Cancel that returned true, never twice for a one-shot, never while lent.
// A one-shot ends when it fires, any other is lent until a Rearm. Cancel
// returns true exactly when the registration exists and has not ended,
// and ends it; Rearm succeeds exactly when it exists and has not ended.
//
// The model partitions a history by registration (see
// PartitionEventQ): registrations are independent objects, and
// linearizability is local, so each id's operations are checked on their
// own, which keeps the search small. What couples registrations, the
// order of their ids, is then left to the caller to check on the history
// itself: an id returned by a Register called after another Register
// returned must be the greater.
func EventQ() porcupine.Model {
	seed := maphash.MakeSeed()
	return porcupine.Model{
		Partition: PartitionEventQ,
		Init:      func() any { return eqState(nil) },
		Step: func(state, input, output any) (bool, any) {
			s, in := state.(eqState), input.(EventQInput)
			out, _ := output.(EventQOutput)
			switch in.Op {
			case EqRegister:
				if !eqEventsOK(in.Events) {
					return errors.Is(out.Err, spec.ErrBadEvents), s
				}
				if out.Err != nil {
					return !errors.Is(out.Err, spec.ErrBadEvents), s
				}
				if out.ID == 0 || len(s) > 0 && out.ID <= s[len(s)-1].ID {
					return false, s
				}
				next := append(slices.Clip(s), eqReg{ID: out.ID, FD: in.FD, Events: in.Events, Sigs: sortedSigs(in.Signals)})
				return true, next
			case EqFire:
				i := s.find(in.ID)
				if i < 0 || s[i].Status != eqArmed {
					return false, s
				}
				if s[i].Sigs != "" || in.Signals != "" {
					return eqFireSignals(s, i, in.Signals)
				}
				if s[i].oneShot() {
					return true, s.with(i, eqEnded)
				}
				return true, s.with(i, eqLent)
			case EqDeliver:
				return true, eqDeliver(s, in.Signals)
			case EqCancel:
				i := s.find(in.ID)
				live := i >= 0 && s[i].Status != eqEnded
				if out.Bool != live {
					return false, s
				}
				if live {
					return true, s.with(i, eqEnded)
				}
				return true, s
			case EqRearm:
				i := s.find(in.ID)
				live := i >= 0 && s[i].Status != eqEnded
				if !live {
					return errors.Is(out.Err, spec.ErrUnknownID), s
				}
				if out.Err != nil {
					return false, s
				}
				return true, s.with(i, eqArmed)
			}
			return false, s
		},
		Equal: func(a, b any) bool { return slices.Equal(a.(eqState), b.(eqState)) },
		Hash: func(state any) uint64 {
			var h maphash.Hash
			h.SetSeed(seed)
			for _, r := range state.(eqState) {
				maphash.WriteComparable(&h, r)
			}
			return h.Sum64()
		},
		DescribeOperation: DescribeEventQOp,
		DescribeState: func(state any) string {
			var parts []string
			for _, r := range state.(eqState) {
				if r.Sigs != "" {
					parts = append(parts, fmt.Sprintf("%d:%s:%s:pending[%s]", r.ID, eqSigNames(r.Sigs), eqStatusNames[r.Status], eqSigNames(r.Pending)))
					continue
				}
				parts = append(parts, fmt.Sprintf("%d:fd%d:%v:%s", r.ID, r.FD, r.Events, eqStatusNames[r.Status]))
			}
			return "{" + strings.Join(parts, " ") + "}"
		},
	}
}

// eqFireSignals applies a firing of signal registration i (armed) that
// handed out got: at least one signal, each taken from what it has
// pending. A firing with signals of a registration that waits for none is
// illegal too.
func eqFireSignals(s eqState, i int, got string) (bool, any) {
	if s[i].Sigs == "" || got == "" {
		return false, s
	}
	pending := []byte(s[i].Pending)
	for _, sig := range []byte(got) {
		j := slices.Index(pending, sig)
		if j < 0 {
			return false, s // handed out more often than delivered
		}
		pending = slices.Delete(pending, j, j+1)
	}
	next := s.with(i, eqLent)
	if next[i].oneShot() {
		next[i].Status = eqEnded
	}
	next[i].Pending = string(pending)
	return true, next
}

// eqDeliver returns s with the delivery of sig pending at every live
// registration that waits for it.
func eqDeliver(s eqState, sig string) eqState {
	var next eqState
	for i, r := range s {
		if r.Status == eqEnded || sig == "" || !strings.Contains(r.Sigs, sig) {
			continue
		}
		if next == nil {
			next = slices.Clone(s)
		}
		next[i].Pending = sortedSigs(r.Pending + sig)
	}
	if next == nil {
		return s
	}
	return next
}

// sortedSigs returns the signal numbers of sigs in order.
func sortedSigs(sigs string) string {
	b := []byte(sigs)
	slices.Sort(b)
	return string(b)
}

// PartitionEventQ splits an event queue history by registration: the
// operations on one id (the Register that returned it, and every Cancel,
// Fire and Rearm of it, including those of an id never issued) form one
// partition, in history order; each failed Register is a partition of its
// own. An id issued twice lands two Registers in one partition, which the
// model rejects. A delivery of a signal joins the partition of every
// registration that waits for that signal, and no other: it changes no
// other registration.
func PartitionEventQ(history []porcupine.Operation) [][]porcupine.Operation {
	sigRegs := map[spec.EventID]string{} // the signal registrations' ids and signals
	for _, op := range history {
		in := op.Input.(EventQInput)
		if out, _ := op.Output.(EventQOutput); in.Op == EqRegister && in.Signals != "" && out.Err == nil {
			sigRegs[out.ID] = in.Signals
		}
	}
	byID := map[spec.EventID][]porcupine.Operation{}
	var ids []spec.EventID
	var parts [][]porcupine.Operation
	for _, op := range history {
		in := op.Input.(EventQInput)
		if in.Op == EqDeliver {
			for _, id := range slices.Sorted(maps.Keys(sigRegs)) {
				if in.Signals == "" || !strings.Contains(sigRegs[id], in.Signals) {
					continue
				}
				if _, ok := byID[id]; !ok {
					ids = append(ids, id)
				}
				byID[id] = append(byID[id], op)
			}
			continue
		}
		id := in.ID
		if in.Op == EqRegister {
			out, _ := op.Output.(EventQOutput)
			if out.Err != nil {
				parts = append(parts, []porcupine.Operation{op})
				continue
			}
			id = out.ID
		}
		if _, ok := byID[id]; !ok {
			ids = append(ids, id)
		}
		byID[id] = append(byID[id], op)
	}
	for _, id := range ids {
		parts = append(parts, byID[id])
	}
	return parts
}

// eqSigNames renders signal numbers for DescribeEventQOp.
func eqSigNames(sigs string) string {
	var parts []string
	for _, b := range []byte(sigs) {
		parts = append(parts, fmt.Sprintf("sig%d", b))
	}
	return strings.Join(parts, ",")
}

// DescribeEventQOp renders one event queue operation, such as
// "register(fd 3, Read|OneShot) → 1", "cancel(1) → true", "fire(1)" or
// "rearm(2) → ok". A nil output describes a call that has not returned.
func DescribeEventQOp(input, output any) string {
	in := input.(EventQInput)
	var call string
	switch in.Op {
	case EqRegister:
		call = fmt.Sprintf("register(fd %d, %v)", in.FD, in.Events)
		if in.Signals != "" {
			call = fmt.Sprintf("signal(%s)", eqSigNames(in.Signals))
		}
	case EqFire:
		call = fmt.Sprintf("fire(%d)", in.ID)
		if in.Signals != "" {
			call = fmt.Sprintf("fire(%d: %s)", in.ID, eqSigNames(in.Signals))
		}
	case EqCancel, EqRearm:
		call = fmt.Sprintf("%s(%d)", eqNames[in.Op], in.ID)
	case EqDeliver:
		call = fmt.Sprintf("deliver(%s)", eqSigNames(in.Signals))
	default:
		return fmt.Sprintf("eventq op %d", in.Op)
	}
	out, ok := output.(EventQOutput)
	if !ok {
		return call
	}
	switch in.Op {
	case EqRegister:
		if out.Err != nil {
			return fmt.Sprintf("%s → %v", call, out.Err)
		}
		return fmt.Sprintf("%s → %d", call, out.ID)
	case EqCancel:
		return fmt.Sprintf("%s → %v", call, out.Bool)
	case EqRearm:
		if out.Err != nil {
			return fmt.Sprintf("%s → %v", call, out.Err)
		}
		return call + " → ok"
	}
	return call
}
