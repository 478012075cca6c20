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
	case "measured":
		testdeadline.Guard(t, time.Minute)
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
func child(t *testing.T, hang string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHang$", "-test.v", "-test.timeout=30s")
	cmd.Env = append(os.Environ(), hangEnv+"="+hang, "INSIDEOUT_DEADLINE_SCALE=", "INSIDEOUT_SOAK=", "INSIDEOUT_DURATION=", "INSIDEOUT_DEADLINE=", testdeadline.TimesEnv+"=")
	cmd.Env = append(cmd.Env, env...)
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

// A Guard of a minute, for a test that the times file says took 100ms,
// ends at TimesFactor times that plus TimesSlack (5.4s), with the same
// report: the mutation runner's hangs fail in seconds. The bug it
// catches: a times file that is not read, or a test not found in it (the
// child then waits for its 30s timeout and says "test timed out").
func TestGuardEndsAtTheMeasuredTime(t *testing.T) {
	path := t.TempDir() + "/times"
	if err := os.WriteFile(path, []byte("0.1 TestHang\n3 TestOther\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := child(t, "measured", testdeadline.TimesEnv+"="+path)
	if err == nil {
		t.Fatalf("a hung test passed:\n%s", out)
	}
	want := "TestHang: testdeadline: still running after " + (testdeadline.TimesFactor*100*time.Millisecond + testdeadline.TimesSlack).String()
	if !strings.Contains(out, want) || !strings.Contains(out, "blockForever") {
		t.Errorf("the child's output lacks %q and the stuck goroutine:\n%s", want, out)
	}
}

// ParseTimes keeps the lines it can read and leaves the others out.
func TestParseTimes(t *testing.T) {
	got := testdeadline.ParseTimes("1.5 TestA\nnot-a-number TestB\n2\n0.25 TestC/sub case\n-1 TestD\n")
	want := map[string]time.Duration{"TestA": 1500 * time.Millisecond, "TestC/sub case": 250 * time.Millisecond}
	if len(got) != len(want) {
		t.Fatalf("ParseTimes = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ParseTimes[%q] = %v, want %v", k, got[k], v)
		}
	}
}
