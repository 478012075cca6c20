package rttest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/spec"
)

// Every known-bad runtime starts running, halts and ends (Done closed,
// Join returns), whatever its bug: a bug must show in a check, not in a
// runtime that cannot even be set up and torn down. The bug: a constructor
// that panics, or a runtime that never ends once halted unfrozen.
func TestBadRuntimesStartAndEnd(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for bug := rttest.Correct; ; bug++ {
		name := bug.String()
		if strings.HasPrefix(name, "Bug(") {
			break
		}
		t.Run(name, func(t *testing.T) {
			r := rttest.BadRuntime(bug)
			deadline := time.Now().Add(5 * time.Second)
			for r.Steps() == 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
			}
			if r.Steps() == 0 {
				t.Errorf("no step ran in 5s")
			}
			if !r.Halt() {
				t.Errorf("Halt of a running runtime reported false")
			}
			select {
			case <-r.Done():
			case <-time.After(5 * time.Second):
				rttest.Unblock(r)
				t.Fatalf("not Dead 5s after Halt")
			}
			if err := r.Join(); err != nil {
				t.Errorf("Join after Halt = %v", err)
			}
			if r.Flags()&spec.RtDead == 0 {
				t.Errorf("Flags after Join = %v, not Dead", r.Flags())
			}
		})
	}
}

// A bug out of range is refused. The bug: BadRuntime returning a correct
// runtime for a bug it does not know, so that a self-check passes
// vacuously.
func TestBadRuntimeUnknownBug(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer func() {
		if recover() == nil {
			t.Errorf("BadRuntime(200) did not panic")
		}
	}()
	rttest.BadRuntime(200)
}
