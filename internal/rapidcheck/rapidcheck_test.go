package rapidcheck_test

import (
	"testing"

	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/insideout-go/insideout/internal/rapidcheck"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A property that fails leaves its failure in the Recorder, and one that
// holds leaves none. The bugs it catches: a Recorder that fails the test
// it runs in, or that forgets a failure (every known-bad check that uses
// it would then pass a known-bad).
func TestRecorder(t *testing.T) {
	defer rapidcheck.SetFlag(t, "rapid.nofailfile", "true")()
	defer rapidcheck.SetFlag(t, "rapid.checks", "20")()
	bad := rapidcheck.NewRecorder(t.Name())
	rapid.Check(bad, func(rt *rapid.T) {
		if rapid.IntRange(0, 100).Draw(rt, "n") > 10 {
			rt.Fatalf("n too big")
		}
	})
	if !bad.Failed() || bad.Message() == "" {
		t.Fatalf("a failing property: failed %v, message %q", bad.Failed(), bad.Message())
	}
	good := rapidcheck.NewRecorder(t.Name())
	rapid.Check(good, func(rt *rapid.T) { rapid.IntRange(0, 100).Draw(rt, "n") })
	if good.Failed() {
		t.Fatalf("a property that holds failed: %q", good.Message())
	}
}
