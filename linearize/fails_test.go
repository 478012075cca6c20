package linearize_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
)

// fatalTB is a linearize.TB whose Fatal records the message and ends the
// call (a panic that expectFatal recovers), as testing.T's ends the test.
type fatalTB struct {
	fatal string
	logs  []string
}

type fatalStop struct{}

func (*fatalTB) Helper()      {}
func (*fatalTB) Name() string { return "TestFake" }
func (tb *fatalTB) Logf(format string, args ...any) {
	tb.logs = append(tb.logs, fmt.Sprintf(format, args...))
}
func (tb *fatalTB) Fatal(args ...any) { tb.fatal = fmt.Sprint(args...); panic(fatalStop{}) }

// run calls f with tb and reports whether it called Fatal.
func (tb *fatalTB) run(f func(linearize.TB)) (fataled bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatalStop); !ok {
				panic(r)
			}
			fataled = true
		}
	}()
	f(tb)
	return false
}

// lyingStack is a Treiber stack whose Pop of a non-empty stack returns
// one more than the value it took: every history with such a Pop is
// Illegal. With once set, only the first such Pop in the process lies, so
// that a failure it causes never replays.
type lyingStack struct {
	TreiberStack
	once *atomic.Bool
}

func (s *lyingStack) Pop() (int, bool) {
	v, ok := s.TreiberStack.Pop()
	if ok && (s.once == nil || s.once.CompareAndSwap(false, true)) {
		v++
	}
	return v, ok
}

// The bugs TestFails must not have: passing a variant that every round
// passes (the point of the call), passing a failure of another kind than
// the one wanted, failing a variant that fails as wanted, or returning no
// failure.
func TestTestFails(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	good := stackScenario("treiber", func() Stack { return new(TreiberStack) })
	good.Rounds, good.Duration = 50, 0
	if tb := new(fatalTB); !tb.run(func(tb linearize.TB) { good.TestFails(tb, nil) }) ||
		!strings.Contains(tb.fatal, "passed a known-bad variant") {
		t.Fatalf("TestFails on a correct stack did not fail: %q", tb.fatal)
	}
	bad := stackScenario("lying", func() Stack { return new(lyingStack) })
	bad.Rounds, bad.Duration, bad.ReportDir = 50, 0, t.TempDir()
	var f *linearize.Failure
	if tb := new(fatalTB); tb.run(func(tb linearize.TB) { f = bad.TestFails(tb, linearize.IsIllegal) }) || f == nil {
		t.Fatalf("TestFails failed a variant caught as Illegal: %q", tb.fatal)
	}
	hung := func(f *linearize.Failure) bool { return f.Hung }
	if tb := new(fatalTB); !tb.run(func(tb linearize.TB) { bad.TestFails(tb, hung) }) ||
		!strings.Contains(tb.fatal, "not as expected") {
		t.Fatalf("TestFails accepted a failure of the wrong kind: %q", tb.fatal)
	}
}
