package chaoscheck_test

import (
	"runtime"
	"testing"

	"go.uber.org/goleak"

	"github.com/insideout-go/insideout/internal/chaoscheck"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// On one processor an op that yields is interleaved in nearly every round,
// and one that does not in nearly none (the scheduler may still skip a
// turn, or preempt the op, now and then: 194 of 200 was seen under -race). The bugs it catches: a count that misses the
// other goroutine's turns (every chaos test would then fail), or one that
// counts turns outside op (they would pass without a single point).
func TestInterleaved(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if n := chaoscheck.Interleaved(200, runtime.Gosched); n < 150 {
		t.Errorf("an op that yields: interleaved in %d of 200 rounds, want at least 150", n)
	}
	x := 0
	if n := chaoscheck.Interleaved(200, func() { x++ }); n > 10 {
		t.Errorf("an op that does not yield: interleaved in %d of 200 rounds, want at most 10", n)
	}
}
