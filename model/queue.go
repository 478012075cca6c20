package model

import (
	"fmt"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// FIFO is the reference sequential queue of spec.Queue: a slice, appended
// at the end and taken from the front. Its zero value is an empty queue.
type FIFO[T any] struct {
	items []T
}

// Push appends v.
func (f *FIFO[T]) Push(v T) { f.items = append(f.items, v) }

// Pop removes and returns the first item; ok is false when f is empty.
func (f *FIFO[T]) Pop() (v T, ok bool) {
	if len(f.items) == 0 {
		return v, false
	}
	v = f.items[0]
	var zero T
	f.items[0] = zero
	f.items = f.items[1:]
	return v, true
}

// Len returns the number of items.
func (f *FIFO[T]) Len() int { return len(f.items) }

// QueueOp names an operation of spec.Queue in a recorded history.
type QueueOp uint8

const (
	// QueuePush is Push(Value).
	QueuePush QueueOp = iota
	// QueuePop is Pop().
	QueuePop
	// QueueLen is Len(). spec.Queue makes Len exact only while no other
	// operation is in progress, so record it only in quiescent states
	// (for example after every client of a round has returned).
	QueueLen
)

// QueueInput records the call of one queue operation. Harnesses push
// distinct ints so that every popped value names the push it came from.
type QueueInput struct {
	Op    QueueOp
	Value int // the value pushed; unused by QueuePop
}

// QueueOutput records the return of one queue operation: for QueuePop, the
// value popped, or Ok false when Pop returned nil; for QueueLen, the length
// in Value. QueuePush returns nothing, and records the zero QueueOutput.
type QueueOutput struct {
	Value int
	Ok    bool
}

// queueState is the model's state: the queued values, front first. States
// are immutable: Step builds a new slice rather than changing one that
// another branch of the search still holds.
type queueState []int

// Queue returns the porcupine model of spec.Queue over int values.
//
// Push(v) always succeeds and appends v. Pop returns the front value and
// removes it; Pop returning nothing (Ok false) is legal only in the empty
// state. Len returns the length; since spec.Queue makes Len exact only when
// no operation is in progress, histories should record it only then.
func Queue() porcupine.Model {
	seed := maphash.MakeSeed()
	return porcupine.Model{
		Init: func() any { return queueState(nil) },
		Step: func(state, input, output any) (bool, any) {
			s := state.(queueState)
			in := input.(QueueInput)
			switch in.Op {
			case QueuePush:
				next := make(queueState, len(s)+1)
				copy(next, s)
				next[len(s)] = in.Value
				return true, next
			case QueuePop:
				out := output.(QueueOutput)
				if !out.Ok {
					return len(s) == 0, s
				}
				if len(s) == 0 || s[0] != out.Value {
					return false, s
				}
				return true, s[1:]
			case QueueLen:
				return output.(QueueOutput).Value == len(s), s
			}
			return false, s
		},
		Equal: func(a, b any) bool { return slices.Equal(a.(queueState), b.(queueState)) },
		Hash: func(state any) uint64 {
			var h maphash.Hash
			h.SetSeed(seed)
			for _, v := range state.(queueState) {
				maphash.WriteComparable(&h, v)
			}
			return h.Sum64()
		},
		DescribeOperation: DescribeQueueOp,
		DescribeState: func(state any) string {
			s := state.(queueState)
			parts := make([]string, len(s))
			for i, v := range s {
				parts[i] = fmt.Sprint(v)
			}
			return "[" + strings.Join(parts, " ") + "]"
		},
	}
}

// DescribeQueueOp renders one queue operation: "push(3)", "pop() → 3" or
// "pop() → empty". A nil output describes a call that has not returned.
func DescribeQueueOp(input, output any) string {
	in := input.(QueueInput)
	switch in.Op {
	case QueuePush:
		return fmt.Sprintf("push(%d)", in.Value)
	case QueuePop:
		out, ok := output.(QueueOutput)
		switch {
		case !ok:
			return "pop()"
		case out.Ok:
			return fmt.Sprintf("pop() → %d", out.Value)
		default:
			return "pop() → empty"
		}
	case QueueLen:
		if out, ok := output.(QueueOutput); ok {
			return fmt.Sprintf("len() → %d", out.Value)
		}
		return "len()"
	}
	return fmt.Sprintf("queue op %d", in.Op)
}
