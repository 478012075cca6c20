package linearize

import (
	"fmt"
	"reflect"
	"sync/atomic"

	"github.com/anishathalye/porcupine"
)

// A Model is a sequential specification: the simplest obviously correct
// version of the system under test, as states of type St and calls that
// take an In and return an Out. A Scenario checks every concurrent history
// against it: the history passes if some order of its calls, consistent
// with real time, is a run of the model.
//
// The model is checked as it is used: a Step or Init that panics, an
// Equal missing for a state type that == cannot compare, an operation
// whose output is not an Out (through Porcupine) are each reported as a
// mistake of the model, with the round that met it, never as a crash.
type Model[St, In, Out any] struct {
	// Init returns the state before any call.
	Init func() St
	// Step reports whether a call with input in may return out in state
	// st, and the state after it. It must not change st: copy a slice or
	// a map before changing it, since the checker explores other orders
	// from the same state.
	Step func(st St, in In, out Out) (ok bool, next St)
	// Equal reports whether two states are the same. Nil means ==, which
	// needs a comparable St: a slice or a map state needs Equal (for a
	// slice, slices.Equal).
	Equal func(a, b St) bool
	// DescribeOperation, if set, renders a call in the HTML report. Nil
	// means "in -> out" with %v. (A program shows each call as the op's
	// name and its input.)
	DescribeOperation func(in In, out Out) string
	// DescribeState, if set, renders a state in the HTML report.
	DescribeState func(st St) string
}

// A Spec is what a Scenario checks its histories against: a [Model], or a
// porcupine.Model adapted by [Porcupine].
type Spec[In, Out any] interface {
	// model returns the porcupine form of the spec, each of whose
	// functions reports its mistakes to g; or why it cannot be used.
	model(g *guard) (porcupine.Model, error)
}

// model implements Spec.
func (m Model[St, In, Out]) model(g *guard) (porcupine.Model, error) {
	switch {
	case m.Init == nil:
		return porcupine.Model{}, fmt.Errorf("the Model has no Init")
	case m.Step == nil:
		return porcupine.Model{}, fmt.Errorf("the Model has no Step")
	case m.Equal == nil && !reflect.TypeFor[St]().Comparable():
		return porcupine.Model{}, fmt.Errorf("the Model's state type %v cannot be compared with ==: set Model.Equal (for a slice, slices.Equal)", reflect.TypeFor[St]())
	}
	equal := func(a, b St) bool { return any(a) == any(b) }
	if m.Equal != nil {
		equal = m.Equal
	}
	pm := porcupine.Model{
		Init: func() any {
			var st St
			g.protect("Model.Init", func() { st = m.Init() })
			return st
		},
		Step: func(state, input, output any) (ok bool, next any) {
			in, out, good := typed[In, Out](g, input, output)
			if !good {
				return false, state
			}
			next = state // what a Step that panics leaves
			defer g.catch("Model.Step")
			return m.Step(state.(St), in, out)
		},
		Equal: func(a, b any) (same bool) {
			defer g.catch("Model.Equal")
			return equal(a.(St), b.(St))
		},
	}
	if m.DescribeOperation != nil {
		pm.DescribeOperation = func(input, output any) string {
			if output == nil {
				return "" // a call in a program, not yet made: the op's name says it
			}
			in, out, _ := typed[In, Out](nil, input, output)
			s := fmt.Sprintf("%v -> %v", input, output)
			g.protect("Model.DescribeOperation", func() { s = m.DescribeOperation(in, out) })
			return s
		}
	}
	if m.DescribeState != nil {
		pm.DescribeState = func(state any) string {
			s := fmt.Sprintf("%v", state)
			g.protect("Model.DescribeState", func() { s = m.DescribeState(state.(St)) })
			return s
		}
	}
	return pm, nil
}

// Porcupine adapts a porcupine.Model whose inputs are In and outputs Out
// (such as those of package model) to a Spec, checked as a Model is.
func Porcupine[In, Out any](m porcupine.Model) Spec[In, Out] { return porcupineSpec[In, Out]{m} }

type porcupineSpec[In, Out any] struct{ m porcupine.Model }

// model implements Spec: m's functions, each guarded, and its inputs and
// outputs checked against In and Out before Step sees them.
func (p porcupineSpec[In, Out]) model(g *guard) (porcupine.Model, error) {
	m := p.m
	if m.Step == nil && m.StepContext == nil {
		return porcupine.Model{}, fmt.Errorf("the porcupine.Model has no Step")
	}
	if m.Equal == nil && m.Init != nil {
		var st any
		g.protect("Model.Init", func() { st = m.Init() })
		if st != nil && !reflect.TypeOf(st).Comparable() {
			return porcupine.Model{}, fmt.Errorf("the porcupine.Model's state type %T cannot be compared with ==: set its Equal (for a slice, slices.Equal)", st)
		}
	}
	pm := m
	if m.Init != nil {
		pm.Init = func() (st any) {
			g.protect("Model.Init", func() { st = m.Init() })
			return st
		}
	}
	if m.Step != nil {
		pm.Step = func(state, input, output any) (ok bool, next any) {
			if _, _, good := typed[In, Out](g, input, output); !good {
				return false, state
			}
			next = state // what a Step that panics leaves
			defer g.catch("Model.Step")
			return m.Step(state, input, output)
		}
	}
	equal := m.Equal
	if equal == nil {
		equal = func(a, b any) bool { return a == b }
	}
	pm.Equal = func(a, b any) (same bool) {
		defer g.catch("Model.Equal (a porcupine.Model without Equal compares states with ==)")
		return equal(a, b)
	}
	if m.DescribeOperation != nil {
		pm.DescribeOperation = func(input, output any) string {
			s := fmt.Sprintf("%v -> %v", input, output)
			g.protect("Model.DescribeOperation", func() { s = m.DescribeOperation(input, output) })
			return s
		}
	}
	if m.DescribeState != nil {
		pm.DescribeState = func(state any) string {
			s := fmt.Sprintf("%v", state)
			g.protect("Model.DescribeState", func() { s = m.DescribeState(state) })
			return s
		}
	}
	if m.Partition != nil {
		pm.Partition = func(h []porcupine.Operation) (parts [][]porcupine.Operation) {
			parts = [][]porcupine.Operation{h}
			g.protect("Model.Partition", func() { parts = m.Partition(h) })
			return parts
		}
	}
	return pm, nil
}

// typed returns input and output as In and Out; if either is not, it
// reports the mistake to g (if not nil) and returns false.
func typed[In, Out any](g *guard, input, output any) (in In, out Out, ok bool) {
	in, okIn := input.(In)
	out, okOut := output.(Out)
	switch {
	case g == nil:
	case !okIn:
		g.fail(fmt.Errorf("an operation's input is a %T; the model takes a %v", input, reflect.TypeFor[In]()))
	case !okOut:
		g.fail(fmt.Errorf("an operation returned a %T; the model takes a %v", output, reflect.TypeFor[Out]()))
	}
	return in, out, okIn && okOut
}

// A guard collects the first mistake that a model's functions make while
// the checker runs them, on whatever goroutines it runs them: a panic
// there would otherwise kill the process from inside porcupine.
type guard struct {
	err atomic.Pointer[error]
}

// fail records err, unless a mistake is already recorded.
func (g *guard) fail(err error) { g.err.CompareAndSwap(nil, &err) }

// protect runs f, recording a panic in it as what's mistake.
func (g *guard) protect(what string, f func()) {
	defer g.catch(what)
	f()
}

// catch, deferred, records a panic of the function that deferred it as
// what's mistake; the function returns its named results as they stood.
// The Step and Equal that the checker calls at every move defer it
// directly, with no closure to run.
func (g *guard) catch(what string) {
	if v := recover(); v != nil {
		g.fail(fmt.Errorf("%s panicked: %v", what, v))
	}
}

// Err returns the first mistake recorded, or nil.
func (g *guard) Err() error {
	if e := g.err.Load(); e != nil {
		return *e
	}
	return nil
}
