package bench

import (
	"fmt"
	"testing"

	"github.com/insideout-go/insideout/impl/mailbox"
)

// BenchmarkMailboxDrain fills an unbounded mailbox with n items and
// drains it with one Drain; ns/item is per item, filling included. A drain
// that walked the segments from its first one for every position (as
// Drain did before issue 16's mailbox half) costs time quadratic in n:
// the n=1000000 figure then is hundreds of times the n=1000 one, where a
// walk that carries its segment forward keeps the two close.
func BenchmarkMailboxDrain(b *testing.B) {
	for _, n := range []int{1000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			m := mailbox.New[int](mailbox.Unbounded)
			x := 1
			b.ReportAllocs()
			for b.Loop() {
				for range n {
					if m.TrySend(&x) != mailbox.Delivered {
						b.Fatal("a send was refused")
					}
				}
				if got := m.Drain(); len(got) != n {
					b.Fatalf("Drain returned %d items, want %d", len(got), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
		})
	}
}
