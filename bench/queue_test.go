package bench

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/insideout-go/insideout/impl/queue"
	"github.com/puzpuzpuz/xsync/v4"
)

// fifo is what the harness drives. push may block (a channel) or spin
// (a bounded queue when full); pop returns nil when nothing is there yet.
type fifo interface {
	push(*int)
	pop() *int
}

type insideout struct{ q *queue.Queue[int] }

func (f insideout) push(v *int) { f.q.Push(v) }
func (f insideout) pop() *int   { return f.q.Pop() }

type channel struct{ c chan *int }

func (f channel) push(v *int) { f.c <- v }
func (f channel) pop() *int   { return <-f.c } // blocks: channels park instead of returning empty

type xsyncq struct{ q *xsync.MPMCQueue[*int] }

func (f xsyncq) push(v *int) {
	for !f.q.TryEnqueue(v) {
		runtime.Gosched()
	}
}
func (f xsyncq) pop() *int { v, _ := f.q.TryDequeue(); return v }

type mutexq struct {
	mu    sync.Mutex
	items []*int
	head  int
}

func (f *mutexq) push(v *int) {
	f.mu.Lock()
	f.items = append(f.items, v)
	f.mu.Unlock()
}
func (f *mutexq) pop() *int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.head == len(f.items) {
		return nil
	}
	v := f.items[f.head]
	f.items[f.head] = nil
	f.head++
	if f.head == len(f.items) {
		f.items, f.head = f.items[:0], 0
	}
	return v
}

var impls = []struct {
	name string
	new  func() fifo
}{
	{"insideout", func() fifo { return insideout{queue.New[int]()} }},
	{"chan", func() fifo { return channel{make(chan *int, 1024)} }},
	{"xsync", func() fifo { return xsyncq{xsync.NewMPMCQueue[*int](1024)} }},
	{"mutex", func() fifo { return &mutexq{} }},
}

// BenchmarkQueueMPMC moves b.N items from p producers to c consumers; ns/op
// is nanoseconds per item moved, all goroutines included.
func BenchmarkQueueMPMC(b *testing.B) {
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			for _, pc := range []int{1, 2, 4} {
				b.Run(fmt.Sprintf("%dp%dc", pc, pc), func(b *testing.B) {
					q := impl.new()
					mpmc(b, func() fifo { return q }, pc, pc)
				})
			}
		})
	}
}

// mpmc moves b.N items from producers to consumers through the fifos
// that view makes, one for each goroutine (views of one queue).
func mpmc(b *testing.B, view func() fifo, producers, consumers int) {
	item := new(int)
	var wg sync.WaitGroup
	share := func(k, parts int) int { // items for worker k of parts
		n := b.N / parts
		if k < b.N%parts {
			n++
		}
		return n
	}
	b.ResetTimer()
	for k := range producers {
		n := share(k, producers)
		q := view()
		wg.Go(func() {
			for range n {
				q.push(item)
			}
		})
	}
	for k := range consumers {
		n := share(k, consumers)
		q := view()
		wg.Go(func() {
			for got := 0; got < n; {
				if q.pop() != nil {
					got++
				} else {
					runtime.Gosched()
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkQueueBounded moves b.N items from p producers to c consumers
// through a queue that never holds much more than 1024 items: a producer
// that finds 1024 waiting yields until consumers catch up (insideout's
// queue is unbounded, so the harness bounds it; the channel and xsync's
// queue are bounded at 1024 themselves). This is the steady state where
// segments are recycled: B/op shows whether the queue allocates once warm.
func BenchmarkQueueBounded(b *testing.B) {
	for _, impl := range []struct {
		name string
		new  func() (fifo, func() int)
	}{
		{"insideout", func() (fifo, func() int) { q := queue.New[int](); return insideout{q}, q.Len }},
		{"chan", func() (fifo, func() int) { c := make(chan *int, 1024); return channel{c}, func() int { return 0 } }},
		{"xsync", func() (fifo, func() int) { return xsyncq{xsync.NewMPMCQueue[*int](1024)}, func() int { return 0 } }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			for _, pc := range []int{1, 2, 4} {
				b.Run(fmt.Sprintf("%dp%dc", pc, pc), func(b *testing.B) {
					q, length := impl.new()
					mpmc(b, func() fifo { return &bounded{fifo: q, length: length} }, pc, pc)
				})
			}
		})
	}
}

// bounded makes a producer wait (yielding) while length reports 1024 or
// more items queued. It asks every 64th push: a Len on every push would
// read both of the queue's counters, each on a line the other side
// writes, which the peers' own bounds do not pay. The queue then holds at
// most 1024 plus 64 for each producer.
type bounded struct {
	fifo
	length func() int
	pushes int       // this producer's; each producer has its own bounded
	_      [128]byte // so that no two goroutines' bounded share a line
}

func (f *bounded) push(v *int) {
	if f.pushes++; f.pushes%64 == 0 {
		for f.length() >= 1024 {
			runtime.Gosched()
		}
	}
	f.fifo.push(v)
}
