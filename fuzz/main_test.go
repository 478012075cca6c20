package fuzz

import (
	"testing"

	"go.uber.org/goleak"
)

// A goroutine left behind by a test is a bug: a client or a queue operation
// that never returned.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
