package model

import (
	"errors"
	"fmt"

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
	RtSteps // a read of the step counter
	rtOps
)

var rtNames = [rtOps]string{"halt", "freeze", "thaw", "interrupt", "cancel", "eject", "flags", "join", "steps"}

// RuntimeInput records the call of one runtime operation.
type RuntimeInput struct{ Op RuntimeOp }

// RuntimeOutput records its return: Bool for Halt, Freeze, Thaw and Cancel;
// Err for Eject and Join (nil, or one of the spec errors); Flags for Flags;
// N for Steps.
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
}

// tornDue reports whether the runtime is due to tear down: halted, or
// thawed with its continuation ejected.
func (s rtState) tornDue() bool { return s.halted || s.ejected && !s.frozen }

// tear returns s torn down.
func (s rtState) tear() rtState {
	s.torn, s.stopped, s.frozen = true, true, false
	return s
}

// Runtime returns the porcupine model of spec.Runtime for a runtime whose
// continuation counts its steps and never finishes, spawned running,
// with cancels allowed and no links.
//
// The property at its heart: a frozen runtime runs no step. Once Flags
// shows Frozen with Running off (the runtime is asleep), or an Eject has
// taken the continuation, the counter does not move until a Thaw lets the
// runtime run again; after teardown it never moves.
func Runtime() porcupine.Model {
	nd := &porcupine.NondeterministicModel{
		Init: func() []any { return []any{rtState{}} },
		Step: func(state, input, output any) []any {
			s, in, out := state.(rtState), input.(RuntimeInput), output.(RuntimeOutput)
			var next []any
			for _, s := range []rtState{s, s.tear()} {
				if s.torn && !state.(rtState).torn && !state.(rtState).tornDue() {
					continue // not due to tear down yet
				}
				if n, ok := rtStep(s, in, out); ok {
					next = append(next, n)
				}
			}
			return next
		},
		DescribeOperation: func(input, output any) string { return DescribeRuntimeOp(input, output) },
		DescribeState: func(state any) string {
			s := state.(rtState)
			return fmt.Sprintf("%+v", s)
		},
	}
	return nd.ToModel()
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
		if !s.torn {
			return s, false
		}
		want := error(nil)
		if s.canceled {
			want = spec.ErrCanceled
		}
		if !errors.Is(out.Err, want) || (want == nil) != (out.Err == nil) {
			return s, false
		}
		return s, true
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
	if torn != s.torn || f&spec.RtDead != 0 && !torn {
		return s, false
	}
	if f&spec.RtHalted != 0 != s.halted || f&spec.RtBoot != 0 || f&spec.RtCancels == 0 || f&spec.RtLinked != 0 {
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
// true" or "steps() → 12".
func DescribeRuntimeOp(input, output any) string {
	in := input.(RuntimeInput)
	call := rtNames[in.Op] + "()"
	out, ok := output.(RuntimeOutput)
	if !ok {
		return call
	}
	switch in.Op {
	case RtHalt, RtFreeze, RtThaw, RtCancel:
		return fmt.Sprintf("%s → %v", call, out.Bool)
	case RtEject, RtJoin:
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
