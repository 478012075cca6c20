package model

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// SemaphoreOp names an operation of spec.Semaphore in a recorded history.
type SemaphoreOp uint8

const (
	// SemAcquire is Acquire(ctx): it takes a permit, or is cut short by
	// its context (Canceled) having found none free.
	SemAcquire SemaphoreOp = iota
	// SemTryAcquire is TryAcquire().
	SemTryAcquire
	// SemRelease is Release(). A harness that must not release more than
	// it holds records a release it skipped as one with Ok false, which
	// changes nothing.
	SemRelease
	// SemAvailable is Available().
	SemAvailable
)

// SemaphoreInput records the call of one semaphore operation.
type SemaphoreInput struct {
	Op SemaphoreOp
	// Timeout marks an Acquire whose context ends (the harness's
	// time-out); only such a call may come back Canceled.
	Timeout bool
}

// SemaphoreOutput records the return of one semaphore operation: Ok for
// an Acquire or TryAcquire that took a permit and a Release that gave one
// back; Canceled for an Acquire cut short by its context; N, the free
// permits, for Available.
type SemaphoreOutput struct {
	Ok       bool
	Canceled bool
	N        int
}

// SemaphoreRef is the reference sequential semaphore of spec.Semaphore:
// a count of free permits between 0 and the capacity.
type SemaphoreRef struct {
	Cap  int
	Free int
}

// NewSemaphoreRef returns a reference semaphore of capacity n, all free.
func NewSemaphoreRef(n int) *SemaphoreRef { return &SemaphoreRef{Cap: n, Free: n} }

// TryAcquire takes a permit if one is free.
func (r *SemaphoreRef) TryAcquire() bool {
	if r.Free == 0 {
		return false
	}
	r.Free--
	return true
}

// Release gives a permit back; it reports false, changing nothing, when
// every permit is free already (the programmer error spec.Semaphore's
// Release panics at).
func (r *SemaphoreRef) Release() bool {
	if r.Free == r.Cap {
		return false
	}
	r.Free++
	return true
}

// Semaphore returns the porcupine model of spec.Semaphore of capacity n.
// The state is the number of free permits, an int.
//
// An Acquire or TryAcquire that took a permit needs one free and takes
// it. A TryAcquire that took none, and an Acquire cut short (which only
// an Acquire with a Timeout may be), are legal only where none is free,
// and change nothing. A Release that gave a permit back needs one held
// (fewer than n free); a skipped one (Ok false) changes nothing.
// Available must return the count.
func Semaphore(n int) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return n },
		Step: func(state, input, output any) (bool, any) {
			free := state.(int)
			in := input.(SemaphoreInput)
			out := output.(SemaphoreOutput)
			switch in.Op {
			case SemAcquire, SemTryAcquire:
				switch {
				case out.Ok && out.Canceled:
					return false, free // no call both takes a permit and is cut short
				case out.Ok:
					return free > 0, free - 1
				case out.Canceled:
					// Only an Acquire whose context ends is cut short, and
					// only having found nothing free.
					return in.Op == SemAcquire && in.Timeout && free == 0, free
				case in.Op == SemAcquire:
					return false, free // a blocking Acquire takes a permit or is cut short
				}
				return free == 0, free // TryAcquire → false
			case SemRelease:
				if !out.Ok {
					return true, free
				}
				return free < n, free + 1
			case SemAvailable:
				return out.N == free, free
			}
			return false, free
		},
		Equal:             func(a, b any) bool { return a.(int) == b.(int) },
		DescribeOperation: DescribeSemaphoreOp,
		DescribeState:     func(state any) string { return fmt.Sprintf("%d of %d free", state.(int), n) },
	}
}

// DescribeSemaphoreOp renders one semaphore operation: "acquire() → ok",
// "acquire(timeout) → canceled", "tryAcquire() → false",
// "release() → ok", "release() → skipped", "available() → 2". A nil
// output describes a call that has not returned.
func DescribeSemaphoreOp(input, output any) string {
	in := input.(SemaphoreInput)
	name := [...]string{"acquire", "tryAcquire", "release", "available"}
	if int(in.Op) >= len(name) {
		return fmt.Sprintf("semaphore op %d", in.Op)
	}
	call := name[in.Op] + "()"
	if in.Timeout {
		call = name[in.Op] + "(timeout)"
	}
	out, ok := output.(SemaphoreOutput)
	switch {
	case !ok:
		return call
	case in.Op == SemAvailable:
		return fmt.Sprintf("%s → %d", call, out.N)
	case out.Canceled:
		return call + " → canceled"
	case in.Op == SemTryAcquire:
		return fmt.Sprintf("%s → %v", call, out.Ok)
	case in.Op == SemRelease && !out.Ok:
		return call + " → skipped"
	case out.Ok:
		return call + " → ok"
	}
	return call + " → ?"
}
