// Package rapidcheck helps a test require rapid to fail: a rapid.TB that
// records a failure instead of failing the test, so that a known-bad
// variant's property can be run and its failure checked, and a setter for
// rapid's flags (its seed, its number of checks) for the span of a test;
// and the waits of state-machine tests that drive a real primitive and
// let it settle after each operation (settle.go).
//
// Only tests import it.
package rapidcheck

import (
	"flag"
	"fmt"
	"testing"
)

// Recorder is a rapid.TB that records whether it failed, the failures'
// messages and what was logged, and otherwise does nothing: rapid.Check(r, prop)
// runs prop, shrinks a failure, and leaves the verdict in r.
type Recorder struct {
	name    string
	failed  bool
	message string
	logs    []string
}

// NewRecorder returns a Recorder that names itself name (the test's, so
// that rapid's messages read as the test's).
func NewRecorder(name string) *Recorder { return &Recorder{name: name} }

// Message returns the messages of the failures recorded, one a line, ""
// if none.
func (r *Recorder) Message() string { return r.message }

func (r *Recorder) fail(msg string) {
	if r.failed && r.message != "" {
		msg = r.message + "\n" + msg
	}
	r.failed, r.message = true, msg
}

// Helper does nothing.
func (r *Recorder) Helper() {}

// Name returns the name it was made with.
func (r *Recorder) Name() string { return r.name }

// Logf records a line of log.
func (r *Recorder) Logf(f string, a ...any) { r.logs = append(r.logs, fmt.Sprintf(f, a...)) }

// Log records a line of log.
func (r *Recorder) Log(a ...any) { r.logs = append(r.logs, fmt.Sprint(a...)) }

// Logs returns what Logf and Log recorded (rapid logs its replay line
// there).
func (r *Recorder) Logs() []string { return r.logs }

// Skipf does nothing.
func (r *Recorder) Skipf(string, ...any) {}

// Skip does nothing.
func (r *Recorder) Skip(...any) {}

// SkipNow does nothing.
func (r *Recorder) SkipNow() {}

// Errorf records a failure.
func (r *Recorder) Errorf(f string, a ...any) { r.fail(fmt.Sprintf(f, a...)) }

// Error records a failure.
func (r *Recorder) Error(a ...any) { r.fail(fmt.Sprint(a...)) }

// Fatalf records a failure.
func (r *Recorder) Fatalf(f string, a ...any) { r.fail(fmt.Sprintf(f, a...)) }

// Fatal records a failure.
func (r *Recorder) Fatal(a ...any) { r.fail(fmt.Sprint(a...)) }

// FailNow records a failure without a message.
func (r *Recorder) FailNow() { r.failed = true }

// Fail records a failure without a message.
func (r *Recorder) Fail() { r.failed = true }

// Failed reports whether a failure was recorded.
func (r *Recorder) Failed() bool { return r.failed }

// SetFlag sets the flag name (rapid's "rapid.checks", say) to value until
// the returned function runs; a flag that does not exist fails t.
func SetFlag(t testing.TB, name, value string) (restore func()) {
	t.Helper()
	f := flag.Lookup(name)
	if f == nil {
		t.Fatalf("no flag %s", name)
	}
	old := f.Value.String()
	if err := flag.Set(name, value); err != nil {
		t.Fatal(err)
	}
	return func() { _ = flag.Set(name, old) }
}
