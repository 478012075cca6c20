package bench

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/insideout-go/insideout/impl/cubby"
)

// A cell is what the cubby benchmarks drive: one writer puts a value of
// type V in, one reader takes a copy out.
type cell[V any] interface {
	store(v V)
	load() V
}

type cubbyCell[V any] struct{ c *cubby.Cubby[V] }

func (c cubbyCell[V]) store(v V) { c.c.Store(v) }
func (c cubbyCell[V]) load() V   { v, _ := c.c.Load(); return v }

// pointerCell is atomic.Pointer[V]: what a Go user picks for a value
// published without a lock. A published value may be in a reader's
// hands, so every store must publish a new one: it allocates.
type pointerCell[V any] struct{ p *atomic.Pointer[V] }

func (c pointerCell[V]) store(v V) { c.p.Store(&v) }
func (c pointerCell[V]) load() V   { return *c.p.Load() }

// mutexCell is a value under a sync.Mutex: what a Go user picks to copy a
// value in and out whole.
type mutexCell[V any] struct {
	mu *sync.Mutex
	v  *V
}

func (c mutexCell[V]) store(v V) {
	c.mu.Lock()
	*c.v = v
	c.mu.Unlock()
}

func (c mutexCell[V]) load() V {
	c.mu.Lock()
	v := *c.v
	c.mu.Unlock()
	return v
}

// cellPeers returns the three cells of V, named.
func cellPeers[V any]() []struct {
	name string
	make func() cell[V]
} {
	return []struct {
		name string
		make func() cell[V]
	}{
		{"cubby", func() cell[V] { return cubbyCell[V]{cubby.New[V]()} }},
		{"atomic-pointer", func() cell[V] {
			p := new(atomic.Pointer[V])
			p.Store(new(V))
			return pointerCell[V]{p}
		}},
		{"mutex", func() cell[V] { return mutexCell[V]{new(sync.Mutex), new(V)} }},
	}
}

// word1, word8 and word64 are values of 1, 8 and 64 words (8, 64 and 512
// bytes): a counter, a snapshot of a few counters, a small table.
type (
	word1  struct{ a uint64 }
	word8  [8]uint64
	word64 [64]uint64
)

var (
	sink1  word1
	sink8  word8
	sink64 word64
)

// BenchmarkCubby copies values in and out of insideout's impl/cubby,
// against atomic.Pointer (a new value per store) and a value under a
// sync.Mutex, at 1, 8 and 64 words:
//
//   - store: the writer alone. ns/op and allocs/op per Store.
//   - load: the reader alone. ns/op per Load.
//   - pair: a writer goroutine and a reader goroutine at once, on
//     GOMAXPROCS 2, b.N stores and b.N loads: ns/op per store-and-load
//     pair, allocs/op the writer's.
func BenchmarkCubby(b *testing.B) {
	b.Run("1w", func(b *testing.B) { benchCells(b, cellPeers[word1](), word1{a: 1}, &sink1) })
	b.Run("8w", func(b *testing.B) { benchCells(b, cellPeers[word8](), word8{1, 2, 3, 4, 5, 6, 7, 8}, &sink8) })
	b.Run("64w", func(b *testing.B) { benchCells(b, cellPeers[word64](), word64{1: 1, 63: 63}, &sink64) })
}

func benchCells[V any](b *testing.B, peers []struct {
	name string
	make func() cell[V]
}, v V, sink *V) {
	b.Run("store", func(b *testing.B) {
		for _, p := range peers {
			b.Run(p.name, func(b *testing.B) {
				c := p.make()
				b.ReportAllocs()
				for b.Loop() {
					c.store(v)
				}
			})
		}
	})
	b.Run("load", func(b *testing.B) {
		for _, p := range peers {
			b.Run(p.name, func(b *testing.B) {
				c := p.make()
				c.store(v)
				b.ReportAllocs()
				for b.Loop() {
					*sink = c.load()
				}
			})
		}
	})
	b.Run("pair", func(b *testing.B) {
		for _, p := range peers {
			b.Run(p.name, func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
				c := p.make()
				b.ReportAllocs()
				b.ResetTimer()
				var wg sync.WaitGroup
				wg.Go(func() {
					for range b.N {
						c.store(v)
					}
				})
				var got V
				for range b.N {
					got = c.load()
				}
				wg.Wait()
				*sink = got
			})
		}
	})
}

// A pollCell is a latest-value cell whose reader asks for news: the value
// and its version if the version is not seen.
type pollCell[V any] interface {
	store(v V)
	poll(seen uint64) (V, uint64, bool)
}

func (c cubbyCell[V]) poll(seen uint64) (V, uint64, bool) { return c.c.TryLoad(seen) }

// versioned is what an atomic.Pointer publishes for a reader that polls:
// a value and its number, a new one per store.
type versioned[V any] struct {
	v V
	n uint64
}

type pointerPoll[V any] struct {
	p *atomic.Pointer[versioned[V]]
	n *uint64 // the writer's
}

func (c pointerPoll[V]) store(v V) {
	*c.n++
	c.p.Store(&versioned[V]{v, *c.n})
}

func (c pointerPoll[V]) poll(seen uint64) (V, uint64, bool) {
	x := c.p.Load()
	if x.n == seen {
		var zero V
		return zero, seen, false
	}
	return x.v, x.n, true
}

type mutexPoll[V any] struct {
	mu *sync.Mutex
	x  *versioned[V]
}

func (c mutexPoll[V]) store(v V) {
	c.mu.Lock()
	c.x.v, c.x.n = v, c.x.n+1
	c.mu.Unlock()
}

func (c mutexPoll[V]) poll(seen uint64) (V, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.x.n == seen {
		var zero V
		return zero, seen, false
	}
	return c.x.v, c.x.n, true
}

// BenchmarkCubbyLatest is a latest-value cell in use: a writer stores b.N
// values of 8 words while a reader polls for news with the version it saw
// last, on GOMAXPROCS 2, until it has seen the last. impl/cubby's TryLoad,
// against an atomic.Pointer to a value and its number (a new one per
// store) and a value and number under a sync.Mutex. ns/op per store, the
// reader's polls included; allocs/op the writer's.
func BenchmarkCubbyLatest(b *testing.B) {
	peers := []struct {
		name string
		make func() pollCell[word8]
	}{
		{"cubby", func() pollCell[word8] { return cubbyCell[word8]{cubby.New[word8]()} }},
		{"atomic-pointer", func() pollCell[word8] {
			p := new(atomic.Pointer[versioned[word8]])
			p.Store(new(versioned[word8]))
			return pointerPoll[word8]{p, new(uint64)}
		}},
		{"mutex", func() pollCell[word8] { return mutexPoll[word8]{new(sync.Mutex), new(versioned[word8])} }},
	}
	for _, p := range peers {
		b.Run(p.name, func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
			c := p.make()
			v := word8{1, 2, 3, 4, 5, 6, 7, 8}
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			wg.Go(func() {
				for range b.N {
					c.store(v)
				}
			})
			var seen uint64
			for seen < uint64(b.N) {
				if got, n, ok := c.poll(seen); ok {
					seen, sink8 = n, got
				}
			}
			wg.Wait()
		})
	}
}

// BenchmarkCubbyPoll is a reader that looks for news when there is none,
// the common case of a latest-value cell: impl/cubby's TryLoad with the
// version it saw, against atomic.Pointer's Load compared with the pointer
// it saw, and a version read under the mutex. ns/op per look.
func BenchmarkCubbyPoll(b *testing.B) {
	b.Run("cubby", func(b *testing.B) {
		c := cubby.New[word8]()
		c.Store(word8{1})
		_, seen := c.Load()
		for b.Loop() {
			if _, _, ok := c.TryLoad(seen); ok {
				b.Fatal("news from nowhere")
			}
		}
	})
	b.Run("atomic-pointer", func(b *testing.B) {
		var p atomic.Pointer[word8]
		p.Store(&word8{1})
		seen := p.Load()
		for b.Loop() {
			if p.Load() != seen {
				b.Fatal("news from nowhere")
			}
		}
	})
	b.Run("mutex", func(b *testing.B) {
		var mu sync.Mutex
		version, seen := uint64(1), uint64(1)
		for b.Loop() {
			mu.Lock()
			n := version
			mu.Unlock()
			if n != seen {
				b.Fatal("news from nowhere")
			}
		}
	})
}
