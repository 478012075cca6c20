package rapidcheck_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/rapidcheck"
)

// The bugs: a WaitFor that returns before its condition holds, or reports
// a condition that came true as never holding; a Within that does not
// wait for f; a Pause that does not let d pass; an OpLog that drops or
// reorders entries.
func TestSettleHelpers(t *testing.T) {
	var n atomic.Int32
	go func() {
		time.Sleep(2 * time.Millisecond)
		n.Store(1)
	}()
	if !rapidcheck.WaitFor(func() bool { return n.Load() == 1 }) || n.Load() != 1 {
		t.Fatal("WaitFor did not wait for its condition")
	}
	ran := false
	if !rapidcheck.Within(func() { time.Sleep(time.Millisecond); ran = true }) || !ran {
		t.Fatal("Within returned before f did, or reported it stuck")
	}
	start := time.Now()
	if rapidcheck.Pause(300 * time.Microsecond); time.Since(start) < 300*time.Microsecond {
		t.Fatal("Pause returned early")
	}
	var l rapidcheck.OpLog
	l.Add("send(%d)", 1)
	l.Add("recv → %v", true)
	if got, want := l.String(), "send(1) → recv → true"; got != want {
		t.Fatalf("OpLog %q, want %q", got, want)
	}
}
