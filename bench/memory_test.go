package bench

import (
	"runtime"
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

// BenchmarkQueueBytesPerItem queues b.N items, all pointing to one object
// (so that the figure is the queue's own overhead), and reports the live
// heap they cost as bytes/item; ns/op is the time to push one. Run it with
// -benchtime 10000000x for the figure at ten million queued. The bounded
// peers are built with capacity b.N, which they need to hold b.N items.
func BenchmarkQueueBytesPerItem(b *testing.B) {
	item := new(int)
	fills := []struct {
		name string
		fill func(n int) any
	}{
		{"insideout", func(n int) any {
			q := queue.New[int]()
			for range n {
				q.Push(item)
			}
			return q
		}},
		{"chan", func(n int) any {
			c := make(chan *int, n)
			for range n {
				c <- item
			}
			return c
		}},
		{"xsync", func(n int) any {
			q := xsync.NewMPMCQueue[*int](n)
			for range n {
				q.TryEnqueue(item)
			}
			return q
		}},
	}
	for _, f := range fills {
		b.Run(f.name, func(b *testing.B) {
			before := liveHeap()
			b.ResetTimer()
			q := f.fill(b.N)
			b.StopTimer()
			after := liveHeap()
			b.ReportMetric((float64(after)-float64(before))/float64(b.N), "bytes/item")
			runtime.KeepAlive(q)
		})
	}
}
