package model

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/spec"
)

// RuntimeOp names an operation on a runtime running a counting
// continuation (every step adds one to a counter) in a recorded history.
type RuntimeOp uint8

const (
	RtHalt RuntimeOp = iota
	RtFreeze
	RtThaw
	RtInterrupt
	RtCancel
	RtEject
	RtFlags
	RtJoin
	RtSteps  // a read of the step counter
	RtLink   // Link(Peer): both ways
	RtUnlink // Unlink(Peer)
	RtSignal // Signal(Sig): its default action
	RtHalter // HaltAfter(d), then the halter's Stop: Bool what Stop reported
	rtOps
)

var rtNames = [rtOps]string{"halt", "freeze", "thaw", "interrupt", "cancel", "eject", "flags", "join", "steps", "link", "unlink", "signal", "halter"}

// RuntimeGroupMax is the most runtimes a history of Runtime may name.
const RuntimeGroupMax = 4

// RuntimeInput records the call of one runtime operation: on runtime R of
// a group (0 for a lone runtime), with Peer the other runtime of a Link
// or Unlink, Sig the signal of a Signal, and D a halter's timeout (the
// model does not need it: a halter's report says what it did).
type RuntimeInput struct {
	Op   RuntimeOp
	R    int
	Peer int
	Sig  syscall.Signal
	D    time.Duration
}

// RuntimeOutput records its return: Bool for Halt, Freeze, Thaw and Cancel;
// Err for Eject, Join and Link (nil, or one of the spec errors); Flags for
// Flags; N for Steps. Interrupt, Unlink and Signal return nothing.
type RuntimeOutput struct {
	Bool  bool
	Err   error
	Flags spec.RuntimeFlags
	N     int64
}

// rtState is the model's state of a runtime that runs a counting
// continuation forever unless stopped. Teardown is the runtime's own
// doing, some time after it became due; the model lets it happen at any
// instant once it is due, which makes the model nondeterministic.
type rtState struct {
	frozen, halted, canceled, ejected bool
	torn                              bool  // torn down: no step ever again
	stopped                           bool  // no step can run now: frozen and seen asleep, or ejected, or torn
	count                             int64 // the counter's last value read
	pinned                            bool  // stopped, and the counter read since: it may not change
	// Links, in a group: the runtimes linked to this one (a bit each),
	// whether it was ever linked (Linked may then be on), the linked
	// runtimes its teardown has yet to halt, and its error as decided so
	// far (a linked failure may decide it before its teardown).
	links, peers uint8
	everLinked   bool
	err          rtErr
}

// rtErr is the error a runtime's Join returns, in the model.
type rtErr uint8

const (
	rtErrNone     rtErr = iota
	rtErrCanceled       // spec.ErrCanceled
	rtErrLinked         // spec.ErrLinkedFailure: a linked runtime failed
)

// tornDue reports whether the runtime is due to tear down: halted, or
// thawed with its continuation ejected.
func (s rtState) tornDue() bool { return s.halted || s.ejected && !s.frozen }

// tear returns s torn down: its error is decided (a Cancel's, unless a
// linked failure came first), and its teardown has yet to halt the
// runtimes linked to it then.
func (s rtState) tear() rtState {
	s.torn, s.stopped, s.frozen = true, true, false
	s.peers = s.links
	if s.canceled && s.err == rtErrNone {
		s.err = rtErrCanceled
	}
	return s
}

// rtGroup is the model's state of a group of runtimes (one, for a lone
// runtime), each running a counting continuation.
type rtGroup [RuntimeGroupMax]rtState

// internal returns every state g may be in once the runtimes have taken
// any of the steps that are their own doing, in any order: a runtime due
// to tear down doing so, and a torn-down runtime halting one of the
// runtimes it was linked to (giving it a linked failure if it failed
// itself, and it has not torn down).
func (g rtGroup) internal() []rtGroup {
	seen := map[rtGroup]bool{g: true}
	all := []rtGroup{g}
	for k := 0; k < len(all); k++ {
		cur := all[k]
		for i := range cur {
			var nexts []rtGroup
			if s := cur[i]; !s.torn && s.tornDue() {
				n := cur
				n[i] = s.tear()
				nexts = append(nexts, n)
			}
			for p := range RuntimeGroupMax {
				if cur[i].peers&(1<<p) == 0 {
					continue
				}
				n := cur
				n[i].peers &^= 1 << p
				if n[i].err != rtErrNone && n[p].err == rtErrNone && !n[p].torn {
					n[p].err = rtErrLinked
				}
				n[p].halted = n[p].halted || !n[p].torn
				nexts = append(nexts, n)
			}
			for _, n := range nexts {
				if !seen[n] {
					seen[n] = true
					all = append(all, n)
				}
			}
		}
	}
	return all
}

// Runtime returns the porcupine model of spec.Runtime for a group of up to
// RuntimeGroupMax runtimes (runtime R of each input; a lone runtime is
// runtime 0), each running a continuation that counts its steps and never
// finishes, spawned running and unlinked, with cancels allowed.
//
// The property at its heart: a frozen runtime runs no step. Once Flags
// shows Frozen with Running off (the runtime is asleep), or an Eject has
// taken the continuation, the counter does not move until a Thaw lets the
// runtime run again; after teardown it never moves.
//
// Links: Link joins two runtimes both ways (ErrSelfLink for one itself,
// ErrTornDown if either has torn down), Unlink parts them. A teardown
// halts every runtime linked to the one tearing down at that instant, one
// at a time, after it (Halted goes on, as a Halt's), and before its Dead
// goes on and its Join returns; if the runtime failed (a Cancel, or a
// linked failure in turn) each one it halts that has not torn down and
// has no error yet gets ErrLinkedFailure. Signal applies a signal's
// default action: SIGTERM and SIGQUIT halt, SIGCONT thaws, any other does
// nothing. A runtime never linked shows Linked off. A halter (HaltAfter,
// then Stop) that reports it halted the runtime is a Halt that took
// effect; one that reports it did not changes nothing.
func Runtime() porcupine.Model {
	nd := &porcupine.NondeterministicModel{
		Init: func() []any { return []any{rtGroup{}} },
		Step: func(state, input, output any) []any {
			in, out := input.(RuntimeInput), output.(RuntimeOutput)
			var next []any
			for _, g := range state.(rtGroup).internal() {
				if n, ok := rtGroupStep(g, in, out); ok {
					next = append(next, n)
				}
			}
			return next
		},
		DescribeOperation: func(input, output any) string { return DescribeRuntimeOp(input, output) },
		DescribeState: func(state any) string {
			var parts []string
			for i, s := range state.(rtGroup) {
				if s != (rtState{}) {
					parts = append(parts, fmt.Sprintf("r%d%+v", i, s))
				}
			}
			return "{" + strings.Join(parts, " ") + "}"
		},
	}
	return nd.ToModel()
}

// rtGroupStep applies one operation to g, reporting whether it could
// have returned out.
func rtGroupStep(g rtGroup, in RuntimeInput, out RuntimeOutput) (rtGroup, bool) {
	i, j := in.R, in.Peer
	if i < 0 || i >= RuntimeGroupMax {
		return g, false
	}
	switch in.Op {
	case RtLink:
		switch {
		case j < 0 || j >= RuntimeGroupMax:
			return g, false
		case i == j:
			return g, errors.Is(out.Err, spec.ErrSelfLink)
		case g[i].torn || g[j].torn:
			// It links nothing: no teardown halts a runtime through it.
			// Linked may show on i for a while, though (a Link that links
			// i's half first and undoes it), which the model lets pass: the
			// flag is for a post-mortem.
			g[i].everLinked = g[i].everLinked || !g[i].torn
			return g, errors.Is(out.Err, spec.ErrTornDown)
		case out.Err != nil:
			return g, false
		}
		g[i].links, g[j].links = g[i].links|1<<j, g[j].links|1<<i
		g[i].everLinked, g[j].everLinked = true, true
		return g, true
	case RtUnlink:
		if j >= 0 && j < RuntimeGroupMax {
			g[i].links, g[j].links = g[i].links&^(1<<j), g[j].links&^(1<<i)
		}
		return g, true
	case RtSignal:
		switch in.Sig {
		case syscall.SIGTERM, syscall.SIGQUIT:
			g[i], _ = rtStep(g[i], RuntimeInput{Op: RtHalt}, RuntimeOutput{Bool: !g[i].halted && !g[i].torn})
		case syscall.SIGCONT:
			g[i], _ = rtStep(g[i], RuntimeInput{Op: RtThaw}, RuntimeOutput{Bool: g[i].frozen})
		}
		return g, true
	case RtHalter:
		// A halter that reports it halted the runtime did so with a Halt
		// that took effect, at some instant between HaltAfter and the end
		// of Stop; one that reports it did not halted nothing, ever
		// (after Stop it never halts).
		if !out.Bool {
			return g, true
		}
		s, ok := rtStep(g[i], RuntimeInput{Op: RtHalt}, out)
		g[i] = s
		return g, ok
	}
	s, ok := rtStep(g[i], in, out)
	g[i] = s
	return g, ok
}

// rtStep applies one operation to s, reporting whether it could have
// returned out.
func rtStep(s rtState, in RuntimeInput, out RuntimeOutput) (rtState, bool) {
	switch in.Op {
	case RtHalt:
		ok := !s.halted && !s.torn
		if out.Bool != ok {
			return s, false
		}
		if ok {
			s.halted = true
		}
		return s, true
	case RtFreeze:
		ok := !s.frozen && !s.halted && !s.torn && !s.ejected
		if out.Bool != ok {
			return s, false
		}
		if ok {
			s.frozen = true
		}
		return s, true
	case RtThaw:
		if out.Bool != s.frozen {
			return s, false
		}
		if s.frozen {
			s.frozen = false
			if !s.torn && !s.halted && !s.ejected {
				s.stopped, s.pinned = false, false
			}
		}
		return s, true
	case RtInterrupt:
		return s, true
	case RtCancel:
		ok := !s.canceled && !s.torn
		if out.Bool != ok {
			return s, false
		}
		if ok {
			s.canceled, s.halted = true, true
		}
		return s, true
	case RtEject:
		switch {
		case out.Err == nil:
			if s.halted || s.torn || s.ejected {
				return s, false
			}
			s.frozen, s.ejected, s.stopped = true, true, true
		case errors.Is(out.Err, spec.ErrTornDown):
			if !s.halted && !s.torn {
				return s, false
			}
		case errors.Is(out.Err, spec.ErrNoContinuation):
			if !s.ejected || s.halted || s.torn {
				return s, false
			}
		default:
			return s, false
		}
		return s, true
	case RtFlags:
		return flagsStep(s, out.Flags)
	case RtJoin:
		if !s.torn || s.peers != 0 { // Join returns once Dead: the linked runtimes halted
			return s, false
		}
		switch s.err {
		case rtErrCanceled:
			return s, errors.Is(out.Err, spec.ErrCanceled) && !errors.Is(out.Err, spec.ErrLinkedFailure)
		case rtErrLinked:
			return s, errors.Is(out.Err, spec.ErrLinkedFailure)
		}
		return s, out.Err == nil
	case RtSteps:
		if out.N < s.count || s.pinned && out.N != s.count {
			return s, false
		}
		s.count = out.N
		if s.stopped {
			s.pinned = true
		}
		return s, true
	}
	return s, false
}

// flagsStep checks a Flags result against s: each flag the model knows
// must agree, Teardown and Dead go together with being torn down (Dead
// may lag a moment behind Teardown), and Frozen with Running off means the
// runtime is asleep.
func flagsStep(s rtState, f spec.RuntimeFlags) (rtState, bool) {
	torn := f&spec.RtTeardown != 0
	if torn != s.torn || f&spec.RtDead != 0 && (!torn || s.peers != 0) {
		return s, false
	}
	if f&spec.RtHalted != 0 != s.halted || f&spec.RtBoot != 0 || f&spec.RtCancels == 0 || f&spec.RtLinked != 0 && !s.everLinked {
		return s, false
	}
	if torn {
		return s, f&(spec.RtRunning|spec.RtFrozen|spec.RtPolling) == 0
	}
	if f&spec.RtFrozen != 0 != s.frozen || f&spec.RtPolling == 0 {
		return s, false
	}
	if f&spec.RtRunning != 0 {
		// Running: a step may be in progress, which a runtime seen asleep
		// (and not thawed since) cannot have.
		return s, !s.stopped
	}
	if s.frozen {
		s.stopped = true // asleep: no step until thawed
	}
	return s, true
}

// DescribeRuntimeOp renders one runtime operation, such as "freeze() →
// true" or "steps() → 12"; in a group, "r1.link(r2) → ok".
func DescribeRuntimeOp(input, output any) string {
	in := input.(RuntimeInput)
	call := rtNames[in.Op] + "()"
	switch in.Op {
	case RtLink, RtUnlink:
		call = fmt.Sprintf("%s(r%d)", rtNames[in.Op], in.Peer)
	case RtSignal:
		call = fmt.Sprintf("signal(%v)", in.Sig)
	case RtHalter:
		call = fmt.Sprintf("halter(%v)", in.D)
	}
	if in.R != 0 || in.Op == RtLink || in.Op == RtUnlink {
		call = fmt.Sprintf("r%d.%s", in.R, call)
	}
	out, ok := output.(RuntimeOutput)
	if !ok {
		return call
	}
	switch in.Op {
	case RtHalt, RtFreeze, RtThaw, RtCancel, RtHalter:
		return fmt.Sprintf("%s → %v", call, out.Bool)
	case RtEject, RtJoin, RtLink:
		if out.Err == nil {
			return call + " → ok"
		}
		return fmt.Sprintf("%s → %v", call, out.Err)
	case RtFlags:
		return fmt.Sprintf("%s → %v", call, out.Flags)
	case RtSteps:
		return fmt.Sprintf("%s → %d", call, out.N)
	}
	return call
}

// RuntimeRef is the reference runtime, sequential: a runtime running a
// counting continuation that never finishes, spawned running, with cancels
// allowed and no links, seen only once it has settled after each
// operation (asleep if frozen, torn down if due). A test drives the real
// runtime and RuntimeRef with the same operations and, after each, waits
// (with a deadline) until the real runtime's Flags equal the reference's:
// a runtime that never gets there has settled somewhere it should not.
type RuntimeRef struct{ s rtState }

// settle tears the runtime down if it is due.
func (r *RuntimeRef) settle() {
	if !r.s.torn && r.s.tornDue() {
		r.s = r.s.tear()
	}
}

// Halt sets Halted unless set already or torn down, and reports whether it
// did.
func (r *RuntimeRef) Halt() bool {
	ok := !r.s.halted && !r.s.torn
	r.s.halted = r.s.halted || ok
	r.settle()
	return ok
}

// Freeze sets Frozen unless frozen, halted, torn down or ejected, and
// reports whether it did.
func (r *RuntimeRef) Freeze() bool {
	ok := !r.s.frozen && !r.s.halted && !r.s.torn && !r.s.ejected
	r.s.frozen = r.s.frozen || ok
	return ok
}

// Thaw clears Frozen and reports whether it was set.
func (r *RuntimeRef) Thaw() bool {
	ok := r.s.frozen
	r.s.frozen = false
	r.settle()
	return ok
}

// Cancel halts the runtime and drops its continuation unless canceled
// already or torn down, and reports whether it did.
func (r *RuntimeRef) Cancel() bool {
	ok := !r.s.canceled && !r.s.torn
	if ok {
		r.s.canceled, r.s.halted = true, true
	}
	r.settle()
	return ok
}

// Eject takes the continuation: nil, or spec.ErrTornDown, or
// spec.ErrNoContinuation.
func (r *RuntimeRef) Eject() error {
	switch {
	case r.s.halted || r.s.torn:
		return spec.ErrTornDown
	case r.s.ejected:
		return spec.ErrNoContinuation
	}
	r.s.frozen, r.s.ejected = true, true
	return nil
}

// Flags returns the flags of the settled runtime.
func (r *RuntimeRef) Flags() spec.RuntimeFlags {
	f := spec.RtCancels
	if r.s.halted {
		f |= spec.RtHalted
	}
	switch {
	case r.s.torn:
		f |= spec.RtTeardown | spec.RtDead
	case r.s.frozen:
		f |= spec.RtFrozen | spec.RtPolling
	default:
		f |= spec.RtRunning | spec.RtPolling
	}
	return f
}

// Dead reports whether the runtime has torn down, so that Join returns.
func (r *RuntimeRef) Dead() bool { return r.s.torn }

// Join returns the error Join returns once Dead: spec.ErrCanceled after a
// Cancel, else nil.
func (r *RuntimeRef) Join() error {
	if r.s.canceled {
		return spec.ErrCanceled
	}
	return nil
}

// Stepping reports whether the counter may move: the runtime is neither
// frozen nor torn down.
func (r *RuntimeRef) Stepping() bool { return !r.s.torn && !r.s.frozen }
