package linearize_test

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/insideout-go/insideout/linearize"
)

// A Treiber stack: a lock-free LIFO of ints.
type TreiberStack struct{ top atomic.Pointer[node] }

type node struct {
	v    int
	next *node
}

func (s *TreiberStack) Push(v int) {
	n := &node{v: v}
	for {
		n.next = s.top.Load()
		if s.top.CompareAndSwap(n.next, n) {
			return
		}
	}
}

func (s *TreiberStack) Pop() (int, bool) {
	for {
		top := s.top.Load()
		if top == nil {
			return 0, false
		}
		if s.top.CompareAndSwap(top, top.next) {
			return top.v, true
		}
	}
}

// RacyStack is the known-bad twin: its Push reads the top, then stores
// over it without a CompareAndSwap, so a push that lands in between is
// lost.
type RacyStack struct{ TreiberStack }

func (s *RacyStack) Push(v int) {
	n := &node{v: v, next: s.top.Load()}
	runtime.Gosched() // widen the window, as a busy machine would
	s.top.Store(n)
}

// Stack is what the scenario tests: either stack.
type Stack interface {
	Push(v int)
	Pop() (int, bool)
}

// StackIn and StackOut are a call and its result, as the model sees them.
type StackIn struct {
	Push  bool
	Value int
}

type StackOut struct {
	Value int
	Ok    bool
}

// stackModel is the simplest obviously correct stack: a slice. Step must
// not change the state it is given, so Push copies it; a slice is not
// comparable with ==, so the model says how to compare two.
var stackModel = linearize.Model[[]int, StackIn, StackOut]{
	Init: func() []int { return nil },
	Step: func(st []int, in StackIn, out StackOut) (bool, []int) {
		switch {
		case in.Push:
			return out == StackOut{}, append(slices.Clone(st), in.Value)
		case len(st) == 0:
			return out == StackOut{}, st
		default:
			return out == StackOut{Value: st[len(st)-1], Ok: true}, st[:len(st)-1]
		}
	},
	Equal: slices.Equal[[]int],
}

// stackScenario checks any Stack against stackModel: three clients push
// distinct values and pop at once, then Finally pops what is left, so
// that a value lost on the way shows in the history.
func stackScenario(name string, newStack func() Stack) linearize.Scenario[Stack, StackIn, StackOut] {
	pop := func(s Stack) StackOut {
		v, ok := s.Pop()
		return StackOut{Value: v, Ok: ok}
	}
	return linearize.Scenario[Stack, StackIn, StackOut]{
		Name:  name,
		Model: stackModel,
		New:   newStack,
		Ops: []linearize.Op[Stack, StackIn, StackOut]{
			{Name: "push",
				Input: func(g *linearize.Gen) StackIn { return StackIn{Push: true, Value: g.Unique()} },
				Run:   func(s Stack, in StackIn) StackOut { s.Push(in.Value); return StackOut{} }},
			{Name: "pop",
				Run: func(s Stack, _ StackIn) StackOut { return pop(s) }},
		},
		Finally: func(s Stack, c linearize.Caller[StackIn, StackOut]) {
			for c.Do(StackIn{}, func() StackOut { return pop(s) }).Ok {
			}
		},
		Clients:      3,
		OpsPerClient: 6,
		Duration:     time.Second,
	}
}

// Verify a primitive of your own: a model, the operations, and a run. The
// Treiber stack passes; its racy twin, which loses pushes, is caught. In a
// test, call Test(t) instead of Run: it logs the seed first and fails the
// test with the report (the program, and the path of porcupine's
// visualization).
func ExampleScenario() {
	treiber := stackScenario("treiber", func() Stack { return new(TreiberStack) })
	if _, err := treiber.Run(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("treiber: linearizable")

	racy := stackScenario("racy", func() Stack { return new(RacyStack) })
	racy.ReportDir, _ = os.MkdirTemp("", "racy")
	defer os.RemoveAll(racy.ReportDir)
	_, err := racy.Run()
	var f *linearize.Failure
	if errors.As(err, &f) {
		fmt.Println("racy:", f.Verdict)
	}
	// Output:
	// treiber: linearizable
	// racy: Illegal
}
