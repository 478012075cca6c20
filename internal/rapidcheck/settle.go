package rapidcheck

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// The helpers of state-machine tests that drive a real primitive (a
// runtime, a pool) and wait, after each operation, until it has settled
// where its model says. Nothing here asserts a timing: a deadline only
// bounds how long the primitive may take to get where it must.

// SettleWithin bounds how long a primitive may take to reach the state its
// model says, and how long a call that must return (a Join, a Close) may
// take: one that never gets there has settled somewhere it should not, or
// is stuck.
const SettleWithin = 5 * time.Second

// WaitFor polls cond until it holds, and reports false if SettleWithin
// passes first. It yields for the first millisecond and then sleeps
// briefly: a sleep takes a millisecond or more, which would make quick
// cases slow.
func WaitFor(cond func() bool) bool {
	start := time.Now()
	for !cond() {
		switch waited := time.Since(start); {
		case waited > SettleWithin:
			return false
		case waited < time.Millisecond:
			runtime.Gosched()
		default:
			time.Sleep(20 * time.Microsecond)
		}
	}
	return true
}

// Pause lets d pass, yielding the processor meanwhile: a sleep this short
// would take a millisecond or more.
func Pause(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
		runtime.Gosched()
	}
}

// Within runs f on a goroutine of its own and reports whether it returned
// within SettleWithin: a call stuck for good fails the case instead of
// hanging the test binary (the goroutine is left behind, and goleak names
// it).
func Within(f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(SettleWithin):
		return false
	}
}

// OpLog is the sequence of operations of one case and their results, for
// failure messages.
type OpLog []string

// Add appends one entry, formatted as fmt.Sprintf does.
func (l *OpLog) Add(format string, args ...any) { *l = append(*l, fmt.Sprintf(format, args...)) }

// String joins the entries with arrows.
func (l OpLog) String() string { return strings.Join(l, " → ") }
