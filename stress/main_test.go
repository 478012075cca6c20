package stress

import (
	"testing"

	"go.uber.org/goleak"
)

// A goroutine left behind by a test is a bug: a producer, consumer or
// queue operation that never returned.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
