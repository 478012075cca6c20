package rttest_test

import (
	"testing"

	"github.com/insideout-go/insideout/impl/rt/rttest"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Control operations from several clients against a counting runtime.
func TestRuntimeLinearizable(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := rttest.Scenario("runtime", rttest.NewCounted)
	sc.Rounds = 300
	sc.Test(t)
}
