package testdeadline_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hangEnv makes the test binary, run again by the tests below, run the
// hang it names instead of the tests.
const hangEnv = "TESTDEADLINE_HANG"

// TestHang is the hang the tests below run in a child process: a Guard of
// 200ms, or a Within of 200ms, around a receive that never comes.
func TestHang(t *testing.T) {
	switch os.Getenv(hangEnv) {
	case "guard":
		testdeadline.Guard(t, 200*time.Millisecond)
		blockForever()
	case "within":
		testdeadline.Within(t, 200*time.Millisecond, "the receive", blockForever)
	default:
		t.Skip("run by TestGuardFailsAHang and TestWithinFailsAHang")
	}
}

// blockForever is the stuck call: its name shows in the dump.
func blockForever() { <-make(chan struct{}) }

// child runs TestHang in a child process with the given hang, and returns
// its output once it has ended (within 30s: the deadline under test is
// 200ms).
func child(t *testing.T, hang string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHang$", "-test.v", "-test.timeout=30s")
	cmd.Env = append(os.Environ(), hangEnv+"="+hang, "INSIDEOUT_DEADLINE_SCALE=", "INSIDEOUT_SOAK=", "INSIDEOUT_DURATION=", "INSIDEOUT_DEADLINE=")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the child took %v to fail a hang of 200ms", d)
	}
	return string(out), err
}

// A Guard whose test hangs fails the binary at its deadline with the
// test's name and every goroutine's stack, the stuck one among them. The
// bug it catches: a Guard that never fires (the hang then waits for go
// test's timeout, 30s here, and says "test timed out", not testdeadline),
// or one that fires without the stacks.
func TestGuardFailsAHang(t *testing.T) {
	out, err := child(t, "guard")
	if err == nil {
		t.Fatalf("a hung test passed:\n%s", out)
	}
	for _, want := range []string{"TestHang: testdeadline: still running after 200ms", "goroutine ", "blockForever"} {
		if !strings.Contains(out, want) {
			t.Errorf("the child's output lacks %q:\n%s", want, out)
		}
	}
}

// A Within whose call hangs fails the test, not the binary, with every
// goroutine's stack. The bug it catches: a Within that waits for the call
// for ever, or fails without saying where it is stuck.
func TestWithinFailsAHang(t *testing.T) {
	out, err := child(t, "within")
	if err == nil {
		t.Fatalf("a hung call passed:\n%s", out)
	}
	for _, want := range []string{"--- FAIL: TestHang", "the receive has not returned within 200ms", "blockForever"} {
		if !strings.Contains(out, want) {
			t.Errorf("the child's output lacks %q:\n%s", want, out)
		}
	}
}

// A Guard whose test ends in time leaves nothing behind: no failure, and
// (goleak checks it) no goroutine.
func TestGuardPassesATestThatEnds(t *testing.T) {
	testdeadline.Guard(t, time.Second)
	testdeadline.Within(t, time.Second, "a call that returns", func() {})
}
