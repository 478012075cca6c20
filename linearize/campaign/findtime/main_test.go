package findtime_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every run of a benchmark must end its goroutines: the runtimes, pool
// workers and blocked calls of a failed round included.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
