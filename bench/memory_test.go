package bench

import (
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/insideout-go/insideout/impl/queue"
	"github.com/puzpuzpuz/xsync/v4"
)

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// benchItems is how many items BenchmarkQueueBytesPerItem queues:
// $INSIDEOUT_BENCH_ITEMS, or ten million.
func benchItems(b *testing.B) int {
	if v := os.Getenv("INSIDEOUT_BENCH_ITEMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("INSIDEOUT_BENCH_ITEMS=%q: want a positive count", v)
		}
		return n
	}
	return 10_000_000
}

// BenchmarkQueueBytesPerItem reports the live heap each queued item costs,
// with the queue holding n items that all point to one object (so the
// figure is the queue's own overhead). The bounded peers are built with
// capacity n, which they need to hold n items at all.
func BenchmarkQueueBytesPerItem(b *testing.B) {
	n := benchItems(b)
	item := new(int)
	fills := []struct {
		name string
		fill func() any
	}{
		{"insideout", func() any {
			q := queue.New[int]()
			for range n {
				q.Push(item)
			}
			return q
		}},
		{"chan", func() any {
			c := make(chan *int, n)
			for range n {
				c <- item
			}
			return c
		}},
		{"xsync", func() any {
			q := xsync.NewMPMCQueue[*int](n)
			for range n {
				q.TryEnqueue(item)
			}
			return q
		}},
	}
	for _, f := range fills {
		b.Run(f.name, func(b *testing.B) {
			var total float64
			for range b.N {
				before := liveHeap()
				q := f.fill()
				after := liveHeap()
				total += (float64(after) - float64(before)) / float64(n)
				runtime.KeepAlive(q)
			}
			b.ReportMetric(total/float64(b.N), "bytes/item")
		})
	}
}
