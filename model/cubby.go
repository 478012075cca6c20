package model

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// CubbyOp names an operation of spec.Cubby in a recorded history.
type CubbyOp uint8

const (
	// CubbyStore is Store(x): the writer puts a value in.
	CubbyStore CubbyOp = iota
	// CubbyUpdate is Update(f), with an f that writes the input's value.
	CubbyUpdate
	// CubbyLoad is Load().
	CubbyLoad
	// CubbyTryLoad is TryLoad(seen).
	CubbyTryLoad
	// CubbyView is View(f), with an f that reads the value.
	CubbyView
)

// CubbyInput records the call of one cubby operation: for a Store or an
// Update, the value V it writes. The histories' values are pairs (A, B)
// that a write sets both halves of to V, so that a torn read, one half
// old and one new, is a pair no write made.
type CubbyInput struct {
	Op CubbyOp
	V  uint64
}

// CubbyOutput records the return of a read: the pair it saw (A, B), the
// version, Ok (false only for a TryLoad that found nothing new), and for
// a TryLoad the version it was given, Seen (the reader's last, known only
// when the call runs). A write's output is the zero CubbyOutput.
type CubbyOutput struct {
	A, B    uint64
	Version uint64
	Ok      bool
	Seen    uint64
}

// CubbyState is the state of the sequential cubby: the value V (both
// halves of the pair) and the version N, the writes so far.
type CubbyState struct {
	V, N uint64
}

// CubbyRef is the reference sequential cubby of spec.Cubby: a value and
// the number of writes.
type CubbyRef[T any] struct {
	V T
	N uint64
}

// Store sets the value and counts a write.
func (r *CubbyRef[T]) Store(x T) { r.V, r.N = x, r.N+1 }

// Update calls f on the value and counts a write.
func (r *CubbyRef[T]) Update(f func(*T)) {
	f(&r.V)
	r.N++
}

// Load returns the value and the version.
func (r *CubbyRef[T]) Load() (T, uint64) { return r.V, r.N }

// TryLoad returns the zero T, the version and false if the version is
// seen, and the value, the version and true otherwise.
func (r *CubbyRef[T]) TryLoad(seen uint64) (T, uint64, bool) {
	if r.N == seen {
		var zero T
		return zero, r.N, false
	}
	return r.V, r.N, true
}

// Cubby returns the porcupine model of spec.Cubby over pairs: the state is
// a CubbyState, initially the zero pair at version 0.
//
// A Store or Update of V sets both halves to V and counts a write. A Load
// or View must return both halves equal to the value and the version. A
// TryLoad given the current version must return false, the zero pair and
// that version; given any other, true, the pair and the version.
func Cubby() porcupine.Model {
	return porcupine.Model{
		Init: func() any { return CubbyState{} },
		Step: func(state, input, output any) (bool, any) {
			st := state.(CubbyState)
			in := input.(CubbyInput)
			out := output.(CubbyOutput)
			whole := out.A == st.V && out.B == st.V && out.Version == st.N
			switch in.Op {
			case CubbyStore, CubbyUpdate:
				return true, CubbyState{V: in.V, N: st.N + 1}
			case CubbyLoad, CubbyView:
				return out.Ok && whole, st
			case CubbyTryLoad:
				if st.N == out.Seen {
					return !out.Ok && out.A == 0 && out.B == 0 && out.Version == st.N, st
				}
				return out.Ok && whole, st
			}
			return false, st
		},
		Equal:             func(a, b any) bool { return a.(CubbyState) == b.(CubbyState) },
		DescribeOperation: DescribeCubbyOp,
		DescribeState: func(state any) string {
			st := state.(CubbyState)
			return fmt.Sprintf("(%d, %d) at version %d", st.V, st.V, st.N)
		},
	}
}

// DescribeCubbyOp renders one cubby operation: "store(3)", "update(4)",
// "load() → (3, 3) v1", "tryLoad(1) → nothing new v1", "view() → (3, 4)
// v2". A nil output describes a call that has not returned.
func DescribeCubbyOp(input, output any) string {
	in := input.(CubbyInput)
	name := [...]string{"store", "update", "load", "tryLoad", "view"}
	if int(in.Op) >= len(name) {
		return fmt.Sprintf("cubby op %d", in.Op)
	}
	out, ok := output.(CubbyOutput)
	switch {
	case in.Op == CubbyStore || in.Op == CubbyUpdate:
		return fmt.Sprintf("%s(%d)", name[in.Op], in.V)
	case !ok:
		return name[in.Op] + "()"
	case in.Op == CubbyTryLoad && !out.Ok:
		return fmt.Sprintf("tryLoad(%d) → nothing new v%d", out.Seen, out.Version)
	case in.Op == CubbyTryLoad:
		return fmt.Sprintf("tryLoad(%d) → (%d, %d) v%d", out.Seen, out.A, out.B, out.Version)
	}
	return fmt.Sprintf("%s() → (%d, %d) v%d", name[in.Op], out.A, out.B, out.Version)
}
