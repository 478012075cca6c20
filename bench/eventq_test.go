package bench

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
)

// timerSpread is the range of the timers' deadlines: each is armed to
// expire between 0 and timerSpread from when it is armed.
const timerSpread = 10 * time.Millisecond

// timerWave is how many timers a wave arms at once.
const timerWave = 100_000

// timerDeadlines returns n deadlines spread pseudo-randomly (the same
// ones on every call) over [0, timerSpread): timers are not armed in the
// order they expire.
func timerDeadlines(n int) []time.Duration {
	r := rand.New(rand.NewPCG(1, 2))
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = time.Duration(r.Int64N(int64(timerSpread)))
	}
	return ds
}

// cpuTime returns the CPU time the process has used, user and system,
// every thread included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A timerSet arms timers and waits for them: arm arms one timer per
// deadline, wait returns when the n timers armed last have fired, check
// (the benchmark timer stopped) verifies that each timer armed so far has
// fired exactly once, close releases the set.
type timerSet interface {
	arm(ds []time.Duration)
	wait(n int)
	check(b *testing.B)
	close(b *testing.B)
}

// eventqTimers arms each timer with q.After, with a continuation of its
// own, and waits in q.Wait, stepping each continuation handed out.
type eventqTimers struct {
	q     *eventq.Queue
	buf   []eventq.Ready
	armed []eventq.ID // this wave's, in arming order
	fired []eventq.ID // this wave's, in firing order
	bad   int         // firings that were not the end of a one-shot expired once
}

func newEventqTimers(b *testing.B, wave int) timerSet {
	q, err := eventq.New()
	if err != nil {
		b.Fatal(err)
	}
	return &eventqTimers{
		q:     q,
		buf:   make([]eventq.Ready, 0, 128),
		armed: make([]eventq.ID, 0, wave),
		fired: make([]eventq.ID, 0, wave),
	}
}

func (t *eventqTimers) arm(ds []time.Duration) {
	t.armed, t.fired = t.armed[:0], t.fired[:0]
	for _, d := range ds {
		id, err := t.q.After(d, cont.New(emptyStep))
		if err != nil {
			panic(err)
		}
		t.armed = append(t.armed, id)
	}
}

func (t *eventqTimers) wait(n int) {
	ctx := context.Background()
	for len(t.fired) < n {
		ready, err := t.q.Wait(t.buf[:0], -1)
		if err != nil {
			panic(err)
		}
		for _, rd := range ready {
			if !rd.Ended || rd.Count != 1 {
				t.bad++
			}
			if !rd.C.Step(ctx) {
				t.bad++ // an empty step finishes
			}
			t.fired = append(t.fired, rd.ID)
		}
	}
}

func (t *eventqTimers) check(b *testing.B) {
	b.Helper()
	if t.bad > 0 {
		b.Fatalf("%d firings not a one-shot's single expiry", t.bad)
	}
	slices.Sort(t.armed)
	slices.Sort(t.fired)
	if !slices.Equal(t.armed, t.fired) {
		b.Fatalf("%d timers armed, %d firings, not one each", len(t.armed), len(t.fired))
	}
	if n := t.q.Len(); n != 0 {
		b.Fatalf("%d registrations left after every timer fired", n)
	}
}

func (t *eventqTimers) close(b *testing.B) {
	b.Helper()
	left, err := t.q.Close()
	if err != nil || len(left) != 0 {
		b.Fatalf("close: %d continuations left, %v", len(left), err)
	}
}

// afterFuncTimers arms each timer with time.AfterFunc, all with one
// func (no allocation but the timer's): it counts the firings and, at the
// last one of a wave, signals done.
type afterFuncTimers struct {
	fired  atomic.Int64
	target atomic.Int64 // the timers armed so far
	done   chan struct{}
	f      func()
}

func newAfterFuncTimers(*testing.B, int) timerSet {
	t := &afterFuncTimers{done: make(chan struct{}, 1)}
	t.f = func() {
		if t.fired.Add(1) == t.target.Load() {
			t.done <- struct{}{}
		}
	}
	return t
}

func (t *afterFuncTimers) arm(ds []time.Duration) {
	t.target.Add(int64(len(ds)))
	for _, d := range ds {
		time.AfterFunc(d, t.f)
	}
}

func (t *afterFuncTimers) wait(int) { <-t.done }

func (t *afterFuncTimers) check(b *testing.B) {
	b.Helper()
	if fired, armed := t.fired.Load(), t.target.Load(); fired != armed {
		b.Fatalf("%d timers armed, %d firings", armed, fired)
	}
}

func (t *afterFuncTimers) close(b *testing.B) { t.check(b) }

// BenchmarkTimers arms b.N one-shot timers and waits until all have fired;
// ns/op is per timer, arming, expiry and firing included. The timers are
// armed in waves of 100,000: a wave arms all its timers, each to
// expire a pseudo-random 0..10 ms after it is armed, then waits until the
// last has fired. insideout arms each on one event queue with q.After, a
// continuation (cont.New of an empty step) of its own each, and one
// goroutine, after arming, loops on q.Wait stepping each continuation
// handed out; every timer must fire exactly once (checked after each wave,
// outside the timing). afterfunc arms each with time.AfterFunc, one shared
// func counting the firings, each run on a goroutine of its own as
// AfterFunc does, while the arming goes on. The event queue keeps its
// timers in a heap under one timerfd, so a wave needs no fd per timer.
// Each wave takes at least the 10 ms spread, so ns/op has a floor of
// 100 ns (10 ms / timers/wave, reported); arm-ns/op is the
// arming alone, and cpu-ns/op the process's CPU time (user and system,
// every thread) per timer, which the idle wait does not inflate.
func BenchmarkTimers(b *testing.B) {
	wave := timerWave
	deadlines := timerDeadlines(wave)
	impls := []struct {
		name string
		new  func(*testing.B, int) timerSet
	}{
		{"insideout", newEventqTimers},
		{"afterfunc", newAfterFuncTimers},
	}
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			before := runtime.NumGoroutine()
			t := impl.new(b, wave)
			var armed, cpu time.Duration
			cpu0 := cpuTime()
			b.ResetTimer()
			for left := b.N; left > 0; {
				n := min(left, wave)
				left -= n
				t0 := time.Now()
				t.arm(deadlines[:n])
				armed += time.Since(t0)
				t.wait(n)
				b.StopTimer()
				cpu += cpuTime() - cpu0
				t.check(b)
				cpu0 = cpuTime()
				b.StartTimer()
			}
			b.StopTimer()
			t.close(b)
			b.ReportMetric(float64(armed.Nanoseconds())/float64(b.N), "arm-ns/op")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(wave), "timers/wave")
			noLeak(b, before)
		})
	}
}

// A pipeWaiter is the side of a pipe ping-pong that waits for the byte:
// it reads it and sends on back. stop ends it (the benchmark timer
// stopped); exited is closed when its goroutine has ended.
type pipeWaiter struct {
	wfd    int // the pipe's write end, blocking, written with syscall.Write
	exited chan struct{}
	stop   func() error
}

// newEventqWaiter registers a continuation on a queue, edge-triggered for
// Read on a pipe's (non-blocking) read end, and runs RunReady in a loop on
// a goroutine: at each firing the step reads the byte and sends on back,
// and RunReady hands the lent continuation back with Rearm.
func newEventqWaiter(b *testing.B, back chan<- struct{}) pipeWaiter {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		b.Fatal(err)
	}
	rfd, wfd := p[0], p[1]
	if err := syscall.SetNonblock(rfd, true); err != nil {
		b.Fatal(err)
	}
	q, err := eventq.New()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64)
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		n, err := syscall.Read(rfd, buf)
		switch {
		case err == syscall.EAGAIN:
			return c.Next() // nothing after all: wait for the next arrival
		case err != nil || n != 1:
			b.Errorf("read: %d bytes, %v", n, err)
			return nil // finished: RunReady cancels the registration
		}
		back <- struct{}{}
		return c.Next()
	})
	if _, err := q.Register(rfd, eventq.Read|eventq.Edge, c); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		ctx := context.Background()
		for q.Len() > 0 {
			if _, err := q.RunReady(ctx, -1); err != nil {
				if !errors.Is(err, eventq.ErrClosed) {
					b.Error(err)
				}
				return
			}
		}
	}()
	return pipeWaiter{wfd: wfd, exited: exited, stop: func() error {
		_, err := q.Close() // breaks the Wait; closes the queue's duplicate of rfd
		<-exited
		return errors.Join(err, syscall.Close(rfd), syscall.Close(wfd))
	}}
}

// newNetpollWaiter makes a pipe with os.Pipe and blocks a goroutine in
// reading its read end, an os.File: Go's netpoller parks the goroutine
// and wakes it when the byte arrives.
func newNetpollWaiter(b *testing.B, back chan<- struct{}) pipeWaiter {
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		buf := make([]byte, 64)
		for {
			n, err := r.Read(buf)
			switch {
			case err == io.EOF:
				return
			case err != nil || n != 1:
				b.Errorf("read: %d bytes, %v", n, err)
				return
			}
			back <- struct{}{}
		}
	}()
	// w.Fd puts the write end in blocking mode, as the other variant's is;
	// the read end stays with the netpoller.
	return pipeWaiter{wfd: int(w.Fd()), exited: exited, stop: func() error {
		err := w.Close() // the reader gets EOF
		<-exited
		return errors.Join(err, r.Close())
	}}
}

// BenchmarkPipeWake measures waking a waiter with a write on a pipe: the
// benchmark goroutine writes one byte (syscall.Write on the pipe's write
// end), and the waiting side wakes, reads the byte and sends on an
// unbuffered channel, which the benchmark goroutine receives from before
// it writes the next; ns/op is per round trip. Only the waiting differs:
// insideout is a continuation registered edge-triggered for Read on the
// read end of an event queue, on which a goroutine loops on RunReady
// (epoll_wait in q.Wait, the step reading the byte, Rearm handing the lent
// continuation back); netpoller is a goroutine blocked reading the read
// end of an os.Pipe, parked by Go's netpoller until the byte arrives.
func BenchmarkPipeWake(b *testing.B) {
	impls := []struct {
		name string
		new  func(*testing.B, chan<- struct{}) pipeWaiter
	}{
		{"insideout", newEventqWaiter},
		{"netpoller", newNetpollWaiter},
	}
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			before := runtime.NumGoroutine()
			back := make(chan struct{})
			w := impl.new(b, back)
			one := []byte{1}
			b.ResetTimer()
			for range b.N {
				if _, err := syscall.Write(w.wfd, one); err != nil {
					b.Fatal(err)
				}
				select {
				case <-back:
				case <-w.exited:
					b.Fatal("the waiter stopped")
				}
			}
			b.StopTimer()
			if err := w.stop(); err != nil {
				b.Error(err)
			}
			noLeak(b, before)
		})
	}
}
