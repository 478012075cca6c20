package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/seq"
)

// memAfterGC returns the memory statistics after two full collections, so
// that HeapAlloc is the live heap.
func memAfterGC() runtime.MemStats {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m
}

// BenchmarkContinuationMemory queues b.N empty step continuations in an
// unbounded mailbox, leaves them there, and reports the live heap they
// cost as bytes/cont: the continuation object and its slot in the
// mailbox, everything included; ns/op is the time to make and send one.
// new makes each with cont.New (one allocation each), maker with one
// cont.Maker (one allocation per cont.BlockSize continuations). With
// -benchtime 10000000x that is ten million queued; -benchtime 100000000x
// measures a hundred million: 1.6 GB of live heap at 16 bytes each, and
// the whole test binary peaked at 1.7 GB resident.
func BenchmarkContinuationMemory(b *testing.B) {
	makers := []struct {
		name string
		make func() func() *cont.C
	}{
		{"new", func() func() *cont.C {
			return func() *cont.C { return cont.New(emptyStep) }
		}},
		{"maker", func() func() *cont.C {
			m := new(cont.Maker)
			return func() *cont.C { return m.New(emptyStep) }
		}},
	}
	for _, mk := range makers {
		b.Run(mk.name, func(b *testing.B) {
			next := mk.make()
			before := memAfterGC().HeapAlloc
			b.ResetTimer()
			box := mailbox.New[cont.C](mailbox.Unbounded)
			for range b.N {
				if err := box.Send(next()); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			after := memAfterGC().HeapAlloc
			if n := box.Len(); n != b.N {
				b.Fatalf("%d continuations queued, want %d", n, b.N)
			}
			b.ReportMetric((float64(after)-float64(before))/float64(b.N), "bytes/cont")
			runtime.KeepAlive(box)
		})
	}
}

// ran counts the tasks of BenchmarkFillDrain that have run, on a cache
// line of its own.
var ran struct {
	_ [64]byte
	atomic.Int64
	_ [64]byte
}

// countStep and countFunc are the tasks of BenchmarkFillDrain: each adds
// one to ran, so that the benchmark can check that every task ran
// exactly once. They are package-level functions: making a task allocates
// only the continuation, and the peers' tasks nothing at all.
func countStep(context.Context, *cont.C) cont.Step { ran.Add(1); return nil }
func countFunc()                                   { ran.Add(1) }

// fill runs fillers goroutines that share n tasks between them, each
// calling one(i) for its share (i is the filler's index), and returns once
// all have finished.
func fill(fillers, n int, one func(i, share int)) {
	var wg sync.WaitGroup
	for i := range fillers {
		share := n / fillers
		if i < n%fillers {
			share++
		}
		wg.Go(func() { one(i, share) })
	}
	wg.Wait()
}

// BenchmarkFillDrain fills a queue with b.N tasks from GOMAXPROCS filler
// goroutines while nothing consumes it, then has GOMAXPROCS workers run
// them all; ns/op is per task, the fill, the drain and the teardown
// included, and fill-ns/op and drain-ns/op split it into the two phases
// (conts/s is b.N over the whole). Every task adds one to a shared counter,
// checked at the end: each must have run exactly once.
//
// insideout fills an unbounded mailbox, each filler making its
// continuations with a cont.Maker of its own (one allocation per
// cont.BlockSize continuations: a filler makes many short-lived
// continuations, which is what a Maker is for) and sending each block of
// them with one TrySendMany; insideout-new makes each with cont.New and
// sends it with Send. The pool's workers take up to 64 at a time
// (TryRecvMany). The mailbox is then paused, a pool.Waiter pool of
// GOMAXPROCS runtimes started on it (its workers wait in the paused
// mailbox), and the drain begins with Resume and ends when pool.Close has
// joined the workers. The mailbox is filled before it is paused because a
// paused mailbox holds senders as well as receivers (spec.Mailbox).
// chanworkers fills a channel of b.N funcs, then starts GOMAXPROCS
// goroutines ranging over it, closes it and waits for them. go starts one
// goroutine per task from the fillers and waits on a WaitGroup: its tasks
// run while the fillers still fill, so its two phases overlap.
func BenchmarkFillDrain(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	insideout := func(maker bool) func(b *testing.B) (fillEnd time.Time) {
		return func(b *testing.B) time.Time {
			box := mailbox.New[cont.C](mailbox.Unbounded)
			fill(procs, b.N, func(_, share int) {
				var m cont.Maker
				if maker {
					var batch [cont.BlockSize]*cont.C
					for left := share; left > 0; {
						k := min(left, len(batch))
						for i := range k {
							batch[i] = m.New(countStep)
						}
						if n, r := box.TrySendMany(batch[:k]); n != k {
							panic(r)
						}
						left -= k
					}
					return
				}
				for range share {
					if err := box.Send(cont.New(countStep)); err != nil {
						panic(err)
					}
				}
			})
			fillEnd := time.Now()
			box.Pause()
			p, err := pool.New(pool.Waiter, box, procs)
			if err != nil {
				b.Fatal(err)
			}
			box.Resume()
			if err := p.Close(); err != nil {
				b.Fatal(err)
			}
			return fillEnd
		}
	}
	impls := []struct {
		name string
		run  func(b *testing.B) (fillEnd time.Time)
	}{
		{"insideout", insideout(true)},
		{"insideout-new", insideout(false)},
		{"chanworkers", func(b *testing.B) time.Time {
			ch := make(chan func(), b.N)
			fill(procs, b.N, func(_, share int) {
				for range share {
					ch <- countFunc
				}
			})
			fillEnd := time.Now()
			var wg sync.WaitGroup
			for range procs {
				wg.Go(func() {
					for f := range ch {
						f()
					}
				})
			}
			close(ch)
			wg.Wait()
			return fillEnd
		}},
		{"go", func(b *testing.B) time.Time {
			var wg sync.WaitGroup
			fill(procs, b.N, func(_, share int) {
				for range share {
					wg.Go(countFunc)
				}
			})
			fillEnd := time.Now()
			wg.Wait()
			return fillEnd
		}},
	}
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			before := runtime.NumGoroutine()
			ran.Store(0)
			// Each starts from the same heap: what the one before left,
			// collected and given back to the OS. Otherwise each fills
			// into memory the one before it faulted in and the first to
			// run pays for everyone's page faults.
			debug.FreeOSMemory()
			b.ResetTimer()
			start := time.Now()
			fillEnd := impl.run(b)
			end := time.Now()
			b.StopTimer()
			if n := ran.Load(); n != int64(b.N) {
				b.Fatalf("%d tasks ran, want %d", n, b.N)
			}
			n := float64(b.N)
			b.ReportMetric(float64(fillEnd.Sub(start).Nanoseconds())/n, "fill-ns/op")
			b.ReportMetric(float64(end.Sub(fillEnd).Nanoseconds())/n, "drain-ns/op")
			b.ReportMetric(n/end.Sub(start).Seconds(), "conts/s")
			noLeak(b, before)
		})
	}
}

// BenchmarkGotoRoundTrip moves one continuation from home to away and
// back, b.N times, between two pools of one pool.Waiter runtime each over
// unbounded mailboxes; ns/op is per round trip. Each leg is a send to a
// mailbox whose only worker sleeps waiting for it, so a round trip is two
// wake-ups. step is a step continuation whose steps end with return
// c.GotoRoute(r), along two cont.Routes made once (no allocation per
// move); step-goto the same with c.Goto(box, next), which makes the move
// each time; sequential is a seq.New body calling k.Goto(away) and
// k.Goto(home) in a loop. chan is the peer: two goroutines passing one
// pointer back and forth over two unbuffered channels; chan-coroutine adds
// to each leg the resumption of one iter.Pull coroutine to its next yield
// (coroutinePingPong), which is what the least sequential continuation
// would add to a channel ping-pong.
func BenchmarkGotoRoundTrip(b *testing.B) {
	// onPools runs the continuation that mk returns on two fresh pools,
	// starting at home; mk's continuation closes done after its last
	// round trip. It then closes both pools and joins their workers.
	onPools := func(b *testing.B, mk func(home, away *cont.Box, done chan<- struct{}) *cont.C) {
		home := mailbox.New[cont.C](mailbox.Unbounded)
		away := mailbox.New[cont.C](mailbox.Unbounded)
		ph, err := pool.New(pool.Waiter, home, 1)
		if err != nil {
			b.Fatal(err)
		}
		pa, err := pool.New(pool.Waiter, away, 1)
		if err != nil {
			ph.Close()
			b.Fatal(err)
		}
		done := make(chan struct{})
		c := mk(home, away, done)
		b.ResetTimer()
		if err := home.Send(c); err != nil {
			b.Fatal(err)
		}
		<-done
		b.StopTimer()
		for _, p := range []*pool.Pool{ph, pa} {
			if err := p.Close(); err != nil {
				b.Error(err)
			}
		}
	}
	impls := []struct {
		name string
		run  func(b *testing.B)
	}{
		{"step", func(b *testing.B) {
			onPools(b, func(home, away *cont.Box, done chan<- struct{}) *cont.C {
				n := b.N
				var atHome, atAway cont.Step
				var toAway, toHome *cont.Route
				atHome = func(ctx context.Context, c *cont.C) cont.Step {
					if err := cont.MoveErr(ctx); err != nil {
						panic(err)
					}
					if n == 0 {
						close(done)
						return nil
					}
					n--
					return c.GotoRoute(toAway)
				}
				atAway = func(ctx context.Context, c *cont.C) cont.Step {
					if err := cont.MoveErr(ctx); err != nil {
						panic(err)
					}
					return c.GotoRoute(toHome)
				}
				toAway, toHome = cont.NewRoute(away, atAway), cont.NewRoute(home, atHome)
				return cont.New(atHome)
			})
		}},
		{"step-goto", func(b *testing.B) {
			onPools(b, func(home, away *cont.Box, done chan<- struct{}) *cont.C {
				n := b.N
				var atHome, atAway cont.Step
				atHome = func(ctx context.Context, c *cont.C) cont.Step {
					if err := cont.MoveErr(ctx); err != nil {
						panic(err)
					}
					if n == 0 {
						close(done)
						return nil
					}
					n--
					return c.Goto(away, atAway)
				}
				atAway = func(ctx context.Context, c *cont.C) cont.Step {
					if err := cont.MoveErr(ctx); err != nil {
						panic(err)
					}
					return c.Goto(home, atHome)
				}
				return cont.New(atHome)
			})
		}},
		{"sequential", func(b *testing.B) {
			onPools(b, func(home, away *cont.Box, done chan<- struct{}) *cont.C {
				n := b.N
				return seq.New(func(k *seq.K) {
					defer close(done)
					for range n {
						if err := k.Goto(away); err != nil {
							panic(err)
						}
						if err := k.Goto(home); err != nil {
							panic(err)
						}
					}
				})
			})
		}},
		{"chan-coroutine", func(b *testing.B) { coroutinePingPong(b.N) }},
		{"chan", func(b *testing.B) {
			ping, pong := make(chan *int), make(chan *int)
			var wg sync.WaitGroup
			wg.Go(func() {
				for v := range ping {
					pong <- v
				}
			})
			v := new(int)
			b.ResetTimer()
			for range b.N {
				ping <- v
				v = <-pong
			}
			b.StopTimer()
			close(ping)
			wg.Wait()
		}},
	}
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			before := runtime.NumGoroutine()
			impl.run(b)
			noLeak(b, before)
		})
	}
}

// BenchmarkParkedSequential makes b.N sequential continuations and steps
// each once, so that each body is parked in k.Coop() (a coroutine, which is
// a parked goroutine), and reports what each costs as bytes/cont: the live
// heap and the goroutine stacks (MemStats.StackInuse) it added, and the
// two apart as heap-bytes/cont and stack-bytes/cont; ns/op is the time to
// make one and step it to its park. It then steps each again, so that
// every body finishes. Each parked body holds a goroutine stack of a few
// kilobytes: run it with -benchtime 100000x (a few hundred MB), not the
// millions of the other memory benchmarks.
func BenchmarkParkedSequential(b *testing.B) {
	ctx := context.Background()
	body := func(k *seq.K) {
		if err := k.Coop(); err != nil {
			panic(err)
		}
	}
	before := runtime.NumGoroutine()
	cs := make([]*cont.C, b.N)
	m0 := memAfterGC()
	b.ResetTimer()
	for i := range cs {
		c := seq.New(body)
		if c.Step(ctx) {
			b.Fatal("a sequential continuation finished before its Coop")
		}
		cs[i] = c
	}
	b.StopTimer()
	m1 := memAfterGC()
	heap := (float64(m1.HeapAlloc) - float64(m0.HeapAlloc)) / float64(b.N)
	stack := (float64(m1.StackInuse) - float64(m0.StackInuse)) / float64(b.N)
	b.ReportMetric(heap+stack, "bytes/cont")
	b.ReportMetric(heap, "heap-bytes/cont")
	b.ReportMetric(stack, "stack-bytes/cont")
	for _, c := range cs {
		if !c.Step(ctx) {
			b.Fatal("a sequential continuation did not finish after its Coop")
		}
	}
	noLeak(b, before)
}
