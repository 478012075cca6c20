package bench

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/panjf2000/ants/v2"
)

// emptyStep is the whole of an empty task: one step that finishes. It is
// a package-level function, so that making a task allocates only the
// continuation itself.
func emptyStep(context.Context, *cont.C) cont.Step { return nil }

// emptyFunc is the peers' empty task.
func emptyFunc() {}

// noLeak fails b if, within a second, the number of goroutines has not
// come back to before: every benchmark here stops what it started.
func noLeak(b *testing.B, before int) {
	b.Helper()
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			b.Errorf("%d goroutines left running (%d before)", runtime.NumGoroutine(), before)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// A dispatcher runs tasks on a fixed set of workers: submit hands it one
// empty task; finish waits until every task submitted has run and stops
// the workers.
type dispatcher interface {
	submit()
	finish()
}

// insideoutPool makes each task with a cont.Maker (one allocation per
// block of continuations), or with cont.New when make is nil.
type insideoutPool struct {
	make *cont.Maker
	box  *pool.Box
	p    *pool.Pool
}

func newInsideoutPool(capacity int, maker bool) dispatcher {
	box := mailbox.New[cont.C](capacity)
	p, err := pool.New(pool.Waiter, box, runtime.GOMAXPROCS(0))
	if err != nil {
		panic(err)
	}
	d := insideoutPool{box: box, p: p}
	if maker {
		d.make = new(cont.Maker)
	}
	return d
}

func (d insideoutPool) submit() {
	var c *cont.C
	if d.make != nil {
		c = d.make.New(emptyStep)
	} else {
		c = cont.New(emptyStep)
	}
	if err := d.box.Send(c); err != nil {
		panic(err)
	}
}

// finish closes the pool: the mailbox is closed for writing, the workers
// drain it and end, and Close joins them.
func (d insideoutPool) finish() {
	if err := d.p.Close(); err != nil {
		panic(err)
	}
}

type chanWorkers struct {
	ch chan func()
	wg *sync.WaitGroup
}

func newChanWorkers() dispatcher {
	d := chanWorkers{make(chan func(), 1024), new(sync.WaitGroup)}
	for range runtime.GOMAXPROCS(0) {
		d.wg.Go(func() {
			for f := range d.ch {
				f()
			}
		})
	}
	return d
}

func (d chanWorkers) submit() { d.ch <- emptyFunc }
func (d chanWorkers) finish() { close(d.ch); d.wg.Wait() }

// chanWorkersClosure submits a closure made for each task, as a user who
// passes a task its data writes it: one allocation per task, as cont.New
// makes, where chanWorkers submits one package-level func and allocates
// nothing. It is the floor for insideout-new.
type chanWorkersClosure struct{ chanWorkers }

func newChanWorkersClosure() dispatcher { return chanWorkersClosure{newChanWorkers().(chanWorkers)} }

func (d chanWorkersClosure) submit() {
	wg := d.wg
	d.ch <- func() { use(wg) }
}

// use does nothing with v, out of the compiler's sight, so that a closure
// that passes it v keeps v and is made on the heap.
//
//go:noinline
func use(v any) {}

type antsPool struct {
	p    *ants.Pool
	wg   *sync.WaitGroup
	task func()
}

func newAntsPool() dispatcher {
	p, err := ants.NewPool(runtime.GOMAXPROCS(0))
	if err != nil {
		panic(err)
	}
	wg := new(sync.WaitGroup)
	return antsPool{p, wg, wg.Done} // one method value for all tasks: no allocation per task
}

func (d antsPool) submit() {
	d.wg.Add(1)
	if err := d.p.Submit(d.task); err != nil {
		panic(err)
	}
}

// finish waits for the tasks, then releases the pool and waits until its
// workers (and its purge and ticktock goroutines) have exited.
func (d antsPool) finish() {
	d.wg.Wait()
	if err := d.p.ReleaseTimeout(time.Minute); err != nil {
		panic(err)
	}
}

type goPerTask struct{ wg *sync.WaitGroup }

func (d goPerTask) submit() { d.wg.Go(emptyFunc) }
func (d goPerTask) finish() { d.wg.Wait() }

var dispatchers = []struct {
	name string
	new  func() dispatcher
}{
	{"insideout", func() dispatcher { return newInsideoutPool(mailbox.Unbounded, true) }},
	{"insideout-new", func() dispatcher { return newInsideoutPool(mailbox.Unbounded, false) }},
	{"insideout-cap1024", func() dispatcher { return newInsideoutPool(1024, true) }},
	{"chanworkers", newChanWorkers},
	{"chanworkers-closure", newChanWorkersClosure},
	{"ants", newAntsPool},
	{"go", func() dispatcher { return goPerTask{new(sync.WaitGroup)} }},
}

// BenchmarkDispatch runs b.N empty tasks on GOMAXPROCS workers, submitted
// from one goroutine, and waits until all have run and the workers have
// stopped; ns/op is per task, making it, submitting it, running it and the
// teardown included. insideout is a pool.Waiter pool over an unbounded
// mailbox, fed continuations made by a cont.Maker, as a producer of many
// tasks would make them; insideout-new makes each with cont.New (one
// allocation each); insideout-cap1024 bounds the mailbox as chanworkers
// bounds its channel. The peers submit one package-level func, so their
// tasks cost no allocation at all, except chanworkers-closure, which makes
// a closure per task: the peer of insideout-new.
func BenchmarkDispatch(b *testing.B) {
	for _, impl := range dispatchers {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			before := runtime.NumGoroutine()
			d := impl.new()
			b.ResetTimer()
			for range b.N {
				d.submit()
			}
			d.finish()
			b.StopTimer()
			noLeak(b, before)
		})
	}
}

// BenchmarkSpawnJoin starts b.N runtimes, one after another, each running
// an empty continuation, and joins each; ns/op is per runtime. go is a
// goroutine that closes a channel, and go-osthread one that also locks
// itself to its thread and exits locked, so that its thread ends with it
// as an OS-thread runtime's does: the floors for the two kinds.
func BenchmarkSpawnJoin(b *testing.B) {
	spawnRT := func(opts ...rt.Option) func() {
		return func() {
			r, err := rt.Spawn(cont.New(emptyStep), opts...)
			if err != nil {
				panic(err)
			}
			if err := r.Join(); err != nil {
				panic(err)
			}
		}
	}
	spawnGo := func(lock bool) func() {
		return func() {
			done := make(chan struct{})
			go func() {
				if lock {
					runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
				}
				close(done)
			}()
			<-done
		}
	}
	impls := []struct {
		name string
		once func()
	}{
		{"insideout", spawnRT()},
		{"insideout-osthread", spawnRT(rt.OSThread())},
		{"go", spawnGo(false)},
		{"go-osthread", spawnGo(true)},
	}
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			before := runtime.NumGoroutine()
			b.ResetTimer()
			for range b.N {
				impl.once()
			}
			b.StopTimer()
			noLeak(b, before)
		})
	}
}

// pingPong returns the continuations of the two sides of a ping-pong: a
// receives from toA and sends to toB, b the reverse. a counts the items it receives and, at the n+1-th, closes toB
// for writing and finishes; b finishes when toB is unreadable. Both wait
// with their step's context and, when it ends, yield (return the same step),
// as a well-behaved step does.
func pingPong(toA, toB *mailbox.Mailbox[int], n int) (a, b *cont.C) {
	recv := func(ctx context.Context, c *cont.C, in *mailbox.Mailbox[int]) (*int, cont.Step, bool) {
		v, err := in.RecvContext(ctx)
		switch {
		case err == nil:
			return v, nil, true
		case errors.Is(err, mailbox.ErrUnreadable):
			return nil, nil, false
		default:
			return nil, c.Next(), false
		}
	}
	got := 0
	a = cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		v, next, ok := recv(ctx, c, toA)
		if !ok {
			return next
		}
		if got++; got > n {
			toB.CloseWrite()
			return nil
		}
		if err := toB.Send(v); err != nil {
			panic(err)
		}
		return c.Next()
	})
	b = cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		v, next, ok := recv(ctx, c, toB)
		if !ok {
			return next
		}
		if err := toA.Send(v); err != nil {
			panic(err)
		}
		return c.Next()
	})
	return a, b
}

// BenchmarkRuntimeWake measures the cost of waking a parked runtime: two
// runtimes of one kind pass one item back and forth through two mailboxes
// of capacity 1, each asleep in RecvContext with its step's context until
// the other sends. Every leg wakes a parked runtime, so ns/op, per round
// trip, is two wake-ups and two sleeps. insideout runtimes are goroutines,
// woken by the Go scheduler; insideout-osthread runtimes, locked to threads
// of their own, need the kernel to wake their thread. go and go-osthread
// run the same two continuations on plain goroutines (locked to their
// threads for go-osthread) with context.Background: no runtime, no step
// context; the floors for the two kinds.
func BenchmarkRuntimeWake(b *testing.B) {
	kinds := []struct {
		name     string
		runtime  bool
		osThread bool
	}{
		{"insideout", true, false},
		{"insideout-osthread", true, true},
		{"go", false, false},
		{"go-osthread", false, true},
	}
	for _, kind := range kinds {
		b.Run(kind.name, func(b *testing.B) {
			b.ReportAllocs()
			before := runtime.NumGoroutine()
			toA, toB := mailbox.New[int](1), mailbox.New[int](1)
			ca, cb := pingPong(toA, toB, b.N)
			var join func()
			if !kind.runtime {
				var wg sync.WaitGroup
				for _, c := range []*cont.C{ca, cb} {
					wg.Go(func() {
						if kind.osThread {
							runtime.LockOSThread()
							defer runtime.UnlockOSThread()
						}
						c.Run(context.Background())
					})
				}
				join = wg.Wait
			} else {
				var opts []rt.Option
				if kind.osThread {
					opts = append(opts, rt.OSThread())
				}
				ra, err := rt.Spawn(ca, opts...)
				if err != nil {
					b.Fatal(err)
				}
				rb, err := rt.Spawn(cb, opts...)
				if err != nil {
					ra.Halt()
					ra.Join()
					b.Fatal(err)
				}
				join = func() {
					for _, r := range []*rt.Runtime{ra, rb} {
						if err := r.Join(); err != nil {
							panic(err)
						}
					}
				}
			}
			b.ResetTimer()
			if err := toA.Send(new(int)); err != nil {
				panic(err)
			}
			join()
			b.StopTimer()
			noLeak(b, before)
		})
	}
}
