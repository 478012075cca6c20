package chaoscheck_test

import (
	"runtime"
	"testing"

	"go.uber.org/goleak"

	"github.com/insideout-go/insideout/internal/chaoscheck"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// On one processor an op that yields is interleaved in every round, and
// one that does not in none. The bugs it catches: a count that misses the
// other goroutine's turns (every chaos test would then fail), or one that
// counts turns outside op (they would pass without a single point).
func TestInterleaved(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if n := chaoscheck.Interleaved(200, runtime.Gosched); n != 200 {
		t.Errorf("an op that yields: interleaved in %d of 200 rounds, want 200", n)
	}
	x := 0
	if n := chaoscheck.Interleaved(200, func() { x++ }); n != 0 {
		t.Errorf("an op that does not yield: interleaved in %d of 200 rounds, want 0", n)
	}
}
