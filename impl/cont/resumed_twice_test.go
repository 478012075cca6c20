package cont_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// twiceEnv makes the test binary, run again by TestSteppedTwiceIsARace,
// step one continuation from two goroutines at once instead of testing.
const twiceEnv = "CONT_STEP_TWICE"

// TestStepTwice is what TestSteppedTwiceIsARace runs in a child process:
// two goroutines step one continuation whose step writes what it counts,
// at the same time.
func TestStepTwice(t *testing.T) {
	if os.Getenv(twiceEnv) == "" {
		t.Skip("run by TestSteppedTwiceIsARace")
	}
	n := 0
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		n++
		return c.Next()
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range 1000 {
				c.Step(context.Background())
			}
		})
	}
	wg.Wait()
}

// spec/continuation.go's rule for step continuations: stepping one from two
// goroutines at once is a data race that the race detector reports (only a
// sequential continuation panics with ErrResumedTwice; impl/seq's
// TestResumedTwice holds that). The child process steps a continuation
// from two goroutines; under -race it must fail with the detector's
// report. The bug it catches: a cont.C whose step is read and written in
// a way the detector cannot see (through atomics, say), so that the
// misuse goes unreported and two runners run one continuation's steps at
// once.
func TestSteppedTwiceIsARace(t *testing.T) {
	if !raceEnabled {
		t.Skip("the rule is the race detector's: run with -race")
	}
	testdeadline.Guard(t, testdeadline.Default)
	cmd := exec.Command(os.Args[0], "-test.run=^TestStepTwice$", "-test.count=1", "-test.timeout=1m")
	cmd.Env = append(os.Environ(), twiceEnv+"=1", "GORACE=halt_on_error=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "WARNING: DATA RACE") || !strings.Contains(string(out), "cont.(*C).Step") {
		t.Fatalf("stepping one continuation from two goroutines: %v, want the race detector's report naming cont.(*C).Step:\n%s", err, out)
	}
}
