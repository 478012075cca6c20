package seq_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/internal/testpool"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/pool"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seq"
	"github.com/insideout-go/insideout/spec"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Visit: home -> away -> home, each part of the body observing the pool it
// runs on. It would catch a Goto that ran the rest where it was, or that
// never arrived.
func TestVisit(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	home, homeBox := testpool.New(t, 2)
	away, awayBox := testpool.New(t, 2)
	var where []bool
	done := make(chan struct{})
	c := seq.New(func(k *seq.K) {
		defer close(done)
		where = append(where, testpool.On(k.Context(), home))
		if err := k.Goto(awayBox); err != nil {
			t.Errorf("goto away: %v", err)
			return
		}
		where = append(where, testpool.On(k.Context(), away))
		if err := k.Goto(homeBox); err != nil {
			t.Errorf("goto home: %v", err)
			return
		}
		where = append(where, testpool.On(k.Context(), home))
	})
	if err := homeBox.Send(c); err != nil {
		t.Fatal(err)
	}
	testpool.Wait(t, done)
	if !slices.Equal(where, []bool{true, true, true}) {
		t.Fatalf("home, away, home: on the expected pool %v", where)
	}
}

// ComeFrom, the Nim original's test: ten asks to a server pool, each
// doubling a server-side counter and adding it to the query; the caller
// stays on its home runtime throughout and gets 1025 from the last. It
// would catch a body run on the caller's side (the counter is touched by
// the server only), a lost result, or a caller resumed elsewhere.
func TestComeFrom1025(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	home, homeBox := testpool.New(t, 1)
	server, serverBox := testpool.New(t, 1)
	counter := 1 // the server's state: touched only on the server
	var got int
	var errs []error
	stayed := true
	done := make(chan struct{})
	c := seq.New(func(k *seq.K) {
		defer close(done)
		me := rt.FromContext(k.Context())
		for i := 10; i > 0; i-- {
			v, err := seq.ComeFrom(k, serverBox, func(k *seq.K) int {
				if !testpool.On(k.Context(), server) {
					t.Error("the body ran off the server")
				}
				counter *= 2
				return i + counter
			})
			got, errs = v, append(errs, err)
			stayed = stayed && rt.FromContext(k.Context()) == me && testpool.On(k.Context(), home)
		}
	})
	homeBox.Send(c)
	testpool.Wait(t, done)
	if got != 1025 || !stayed || errors.Join(errs...) != nil {
		t.Fatalf("got %d (want 1025), stayed home %v, errors %v", got, stayed, errs)
	}
}

// NovelThread: the body runs on a runtime of its own (one on an OS thread
// of its own when the caller's runtime is on one), then the caller resumes
// where it was and the runtime has been joined (goleak would see it
// otherwise).
func TestNovelThread(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, osThread := range []bool{false, true} {
		var opts []rt.Option
		if osThread {
			opts = append(opts, rt.OSThread())
		}
		done := make(chan struct{})
		var homeR, novelR, backR *rt.Runtime
		var homeTid, novelTid, backTid int
		var err error
		r, serr := rt.Spawn(seq.New(func(k *seq.K) {
			defer close(done)
			homeR, homeTid = rt.FromContext(k.Context()), unix.Gettid()
			var v int
			v, err = seq.NovelThread(k, func(k *seq.K) int {
				novelR, novelTid = rt.FromContext(k.Context()), unix.Gettid()
				return 7
			})
			if v != 7 {
				t.Errorf("NovelThread returned %d, want 7", v)
			}
			backR, backTid = rt.FromContext(k.Context()), unix.Gettid()
		}), opts...)
		if serr != nil {
			t.Fatal(serr)
		}
		testpool.Wait(t, done)
		if err := r.Join(); err != nil {
			t.Fatal(err)
		}
		if err != nil || novelR == nil || novelR == homeR || backR != homeR {
			t.Fatalf("osThread=%v: err %v; home %p, novel %p, back %p", osThread, err, homeR, novelR, backR)
		}
		// On OS-thread runtimes a sequential body runs on a helper
		// goroutine (see the package doc), so it is the runtimes, not the
		// threads, that must differ; the novel one must be of the
		// caller's kind.
		if novelR.OnOSThread() != osThread {
			t.Fatalf("osThread=%v: the novel runtime's OnOSThread is %v", osThread, novelR.OnOSThread())
		}
		if !osThread && (novelTid == 0 || homeTid == 0 || backTid == 0) {
			t.Fatal("no thread ids recorded")
		}
	}
}

// Misuse gives errors, not hangs: a Goto to a closed mailbox leaves the
// continuation where it is with a MoveError; operations from outside the
// body report ErrNotRunning; NovelThread outside a runtime reports
// ErrNoRuntime; a ComeFrom whose body panics returns ErrRemotePanicked
// and the server's runtime fails with the panic.
func TestMisuse(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	closed := mailbox.New[cont.C](1)
	closed.CloseWrite()
	var kept *seq.K
	var gotoErr, novelErr error
	c := seq.New(func(k *seq.K) {
		kept = k
		gotoErr = k.Goto(closed)
		_, novelErr = seq.NovelThread(k, func(*seq.K) int { return 1 })
	})
	if !c.Run(context.Background()) {
		t.Fatal("the continuation did not finish")
	}
	if !errors.Is(gotoErr, spec.ErrMove) || !errors.Is(gotoErr, mailbox.ErrUnwritable) {
		t.Fatalf("Goto to a closed mailbox: %v", gotoErr)
	}
	if !errors.Is(novelErr, spec.ErrNoRuntime) {
		t.Fatalf("NovelThread outside a runtime: %v", novelErr)
	}
	if err := kept.Goto(closed); !errors.Is(err, spec.ErrNotRunning) {
		t.Fatalf("Goto from outside the body: %v", err)
	}
	if err := kept.Coop(); !errors.Is(err, spec.ErrNotRunning) {
		t.Fatalf("Coop from outside the body: %v", err)
	}

	serverBox := mailbox.New[cont.C](mailbox.Unbounded)
	server, _ := pool.New(pool.Waiter, serverBox, 1)
	var remoteErr error
	c = seq.New(func(k *seq.K) {
		_, remoteErr = seq.ComeFrom(k, serverBox, func(*seq.K) int { panic("boom") })
	})
	if !c.Run(context.Background()) {
		t.Fatal("the caller did not finish")
	}
	if !errors.Is(remoteErr, spec.ErrRemotePanicked) {
		t.Fatalf("ComeFrom of a panicking body: %v", remoteErr)
	}
	serverBox.CloseWrite()
	if err := server.Join(); !errors.Is(err, spec.ErrPanicked) {
		t.Fatalf("the server's error: %v", err)
	}
}

// A panic in a body reaches the error of the runtime that ran it.
func TestPanicFailsTheRuntime(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	r, err := rt.Spawn(seq.New(func(k *seq.K) {
		k.Coop()
		panic("out of paper")
	}))
	if err != nil {
		t.Fatal(err)
	}
	var pe *rt.PanicError
	if err := r.Join(); !errors.As(err, &pe) || pe.Value != "out of paper" {
		t.Fatalf("Join: %v", err)
	}
}

// Sequential and step continuations mix in one mailbox, under one pool.
func TestMixed(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	_, box := testpool.New(t, 2)
	var n atomic.Int64
	done := make(chan struct{}, 200)
	for i := range 200 {
		var c *cont.C
		if i%2 == 0 {
			c = seq.New(func(k *seq.K) { k.Coop(); n.Add(1); done <- struct{}{} })
		} else {
			c = cont.New(func(context.Context, *cont.C) cont.Step { n.Add(1); done <- struct{}{}; return nil })
		}
		box.Send(c)
	}
	for range 200 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of 200 ran", n.Load())
		}
	}
}

// A continuation stepped by a second goroutine while a first is in its
// step panics with ErrResumedTwice, in the second, and the first goes on.
func TestResumedTwice(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	entered, release := make(chan struct{}), make(chan struct{})
	c := seq.New(func(k *seq.K) {
		close(entered)
		<-release
	})
	first := make(chan bool)
	go func() { first <- c.Run(context.Background()) }()
	<-entered
	func() {
		defer func() {
			if v := recover(); v != spec.ErrResumedTwice {
				t.Errorf("the second Step: %v, want a panic with ErrResumedTwice", v)
			}
		}()
		c.Step(context.Background())
	}()
	close(release)
	if !<-first {
		t.Fatal("the first runner did not finish the continuation")
	}
}

// A ComeFrom whose body moves (a failed Goto, then a Goto to another pool)
// still returns its result to the caller: it would catch a move that lost
// the call's watch on its body (found by the continuation campaign).
func TestComeFromBodyThatMoves(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	_, homeBox := testpool.New(t, 1)
	server, serverBox := testpool.New(t, 1)
	away, awayBox := testpool.New(t, 1)
	closed := mailbox.New[cont.C](1)
	closed.CloseWrite()
	done := make(chan struct{})
	var got int
	var err, failed error
	var onServer, onAway bool
	homeBox.Send(seq.New(func(k *seq.K) {
		defer close(done)
		got, err = seq.ComeFrom(k, serverBox, func(k *seq.K) int {
			onServer = testpool.On(k.Context(), server)
			failed = k.Goto(closed)
			if e := k.Goto(awayBox); e != nil {
				t.Errorf("goto away: %v", e)
			}
			onAway = testpool.On(k.Context(), away)
			return 5
		})
	}))
	testpool.Wait(t, done)
	if got != 5 || err != nil || !onServer || !onAway || !errors.Is(failed, spec.ErrMove) {
		t.Fatalf("got %d, %v; on server %v, away %v; failed goto %v", got, err, onServer, onAway, failed)
	}
}

// A sequential continuation moves between a pool on OS threads and one on
// goroutines, both ways: Go forbids resuming a coroutine with other thread
// locking than it was made with (a fatal error, not a panic), which the
// body's helper goroutine avoids (found by the continuation campaign).
func TestAcrossOSThreads(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	plain, plainBox := testpool.New(t, 1)
	pinned, pinnedBox := testpool.New(t, 1, rt.OSThread())
	var where []bool
	done := make(chan struct{})
	pinnedBox.Send(seq.New(func(k *seq.K) {
		defer close(done)
		where = append(where, testpool.On(k.Context(), pinned))
		k.Goto(plainBox)
		where = append(where, testpool.On(k.Context(), plain))
		k.Goto(pinnedBox)
		where = append(where, testpool.On(k.Context(), pinned))
	}))
	testpool.Wait(t, done)
	if !slices.Equal(where, []bool{true, true, true}) {
		t.Fatalf("pinned, plain, pinned: %v", where)
	}
}

// A body parked in an operation whose continuation is dropped is stopped
// once the continuation is unreachable: its deferred calls run and its
// coroutine ends. It would catch a coroutine kept for good (a cleanup
// never registered, or one that k keeps from firing by pointing to c).
func TestDroppedBodyIsStopped(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	unwound := make(chan struct{})
	func() {
		c := seq.New(func(k *seq.K) {
			defer close(unwound)
			k.Coop()
			t.Error("the body went on after its continuation was dropped")
		})
		if c.Step(context.Background()) {
			t.Fatal("the body finished at its first Coop")
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		select {
		case <-unwound:
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the parked body of a dropped continuation was never stopped")
		}
	}
}
