package seq_test

import (
	"context"
	"testing"

	"github.com/insideout-go/insideout/impl/seq"
)

// A sequential continuation's step on the path its points sit on: each
// step resumes the body to its next Coop. In an ordinary build the points
// compile to nothing (see inline_test.go).
func BenchmarkCoopStep(b *testing.B) {
	ctx := context.Background()
	stop := false
	c := seq.New(func(k *seq.K) {
		for !stop {
			k.Coop()
		}
	})
	for b.Loop() {
		c.Step(ctx)
	}
	stop = true
	c.Run(ctx)
}
