package bench

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"

	xsem "golang.org/x/sync/semaphore"

	"github.com/insideout-go/insideout/impl/semaphore"
)

// A sem is what the semaphore benchmarks drive: take a permit, give it back.
type sem interface {
	acquire()
	release()
}

type insideoutSem struct{ s *semaphore.Semaphore }

func (s insideoutSem) acquire() {
	if err := s.s.Acquire(context.Background()); err != nil {
		panic(err)
	}
}
func (s insideoutSem) release() { s.s.Release() }

// xsyncSem is golang.org/x/sync/semaphore's Weighted, taken one at a time:
// what a Go user picks for a semaphore with a context.
type xsyncSem struct{ w *xsem.Weighted }

func (s xsyncSem) acquire() {
	if err := s.w.Acquire(context.Background(), 1); err != nil {
		panic(err)
	}
}
func (s xsyncSem) release() { s.w.Release(1) }

// chanSem is the idiom: a buffered channel of empty structs, a send to
// take a permit and a receive to give it back.
type chanSem chan struct{}

func (s chanSem) acquire() { s <- struct{}{} }
func (s chanSem) release() { <-s }

var semPeers = []struct {
	name string
	make func(n int) sem
}{
	{"insideout", func(n int) sem {
		s, err := semaphore.New(n)
		if err != nil {
			panic(err)
		}
		return insideoutSem{s}
	}},
	{"insideout-barging", func(n int) sem {
		s, err := semaphore.New(n, semaphore.Barging())
		if err != nil {
			panic(err)
		}
		return insideoutSem{s}
	}},
	{"x-sync", func(n int) sem { return xsyncSem{xsem.NewWeighted(int64(n))} }},
	{"chan", func(n int) sem { return make(chanSem, n) }},
}

// semWork is a little work, about 40ns: what a holder does with its
// permit, and what it does between two.
//
//go:noinline
func semWork(x uint64) uint64 {
	for i := range uint64(32) {
		x = x*6364136223846793005 + i
	}
	return x
}

var semSink uint64

// BenchmarkSemaphore takes and gives back a permit, insideout's
// impl/semaphore (in order, and with the Barging option) against
// golang.org/x/sync/semaphore and a buffered channel:
//
//   - uncontended: one goroutine, capacity 1, nothing between the two
//     calls: the cost of the calls alone.
//   - contended: 4 goroutines on GOMAXPROCS 2, each looping acquire, a
//     little work (semWork), release, a little work, on 1 or 2 permits:
//     waiters park and are handed permits. ns/op is per acquire-release
//     pair, all goroutines together.
func BenchmarkSemaphore(b *testing.B) {
	b.Run("uncontended", func(b *testing.B) {
		for _, p := range semPeers {
			b.Run(p.name, func(b *testing.B) {
				s := p.make(1)
				b.ReportAllocs()
				for b.Loop() {
					s.acquire()
					s.release()
				}
			})
		}
	})
	for _, n := range []int{1, 2} {
		b.Run("contended-4g-2p-cap"+strconv.Itoa(n), func(b *testing.B) {
			for _, p := range semPeers {
				b.Run(p.name, func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
					const goroutines = 4
					s := p.make(n)
					b.ReportAllocs()
					b.ResetTimer()
					var wg sync.WaitGroup
					for g := range goroutines {
						count := b.N / goroutines
						if g < b.N%goroutines {
							count++
						}
						wg.Go(func() {
							x := uint64(g)
							for range count {
								s.acquire()
								x = semWork(x)
								s.release()
								x = semWork(x)
							}
							if x == 1 {
								semSink = x
							}
						})
					}
					wg.Wait()
				})
			}
		})
	}
}
