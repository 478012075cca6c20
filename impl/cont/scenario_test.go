package cont_test

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
	"github.com/insideout-go/insideout/spec"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The Nim original's scenarios, written as step continuations.

// Visit: home -> away -> home. It would catch a Goto that ran the next
// step where the continuation was, or that lost it.
func TestVisit(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	home, homeBox := testpool.New(t, 2)
	away, awayBox := testpool.New(t, 2)
	var where []bool
	done := make(chan struct{})
	var back, there cont.Step
	back = func(ctx context.Context, c *cont.C) cont.Step {
		where = append(where, testpool.On(ctx, home))
		close(done)
		return nil
	}
	there = func(ctx context.Context, c *cont.C) cont.Step {
		where = append(where, testpool.On(ctx, away))
		return c.Goto(homeBox, back)
	}
	homeBox.Send(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		where = append(where, testpool.On(ctx, home))
		return c.Goto(awayBox, there)
	}))
	testpool.Wait(t, done)
	if !slices.Equal(where, []bool{true, true, true}) {
		t.Fatalf("home, away, home: on the expected pool %v", where)
	}
}

// ComeFrom, the Nim original's test in step form: ten asks, each doubling
// the server's counter and adding it to the query; the caller stays home
// and gets 1025 from the last.
func TestComeFrom1025(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	home, homeBox := testpool.New(t, 1)
	server, serverBox := testpool.New(t, 1)
	counter := 1 // touched on the server only
	var got int
	var me *rt.Runtime
	stayed := true
	done := make(chan struct{})
	i := 10
	var ask cont.Step
	ask = func(ctx context.Context, c *cont.C) cont.Step {
		if me == nil {
			me = rt.FromContext(ctx)
		}
		stayed = stayed && rt.FromContext(ctx) == me && testpool.On(ctx, home)
		if i == 0 {
			close(done)
			return nil
		}
		q := i
		return cont.ComeFrom(serverBox, func(ctx context.Context) int {
			if !testpool.On(ctx, server) {
				t.Error("the remote part ran off the server")
			}
			counter *= 2
			return q + counter
		}, func(v int, err error) cont.Step {
			if err != nil {
				t.Errorf("ask %d: %v", q, err)
			}
			got = v
			i--
			return ask
		})
	}
	homeBox.Send(cont.New(ask))
	testpool.Wait(t, done)
	if got != 1025 || !stayed {
		t.Fatalf("got %d (want 1025); stayed home %v", got, stayed)
	}
}

// NovelThread in step form: the remote part runs on a runtime of its own,
// on another OS thread when the caller's runtime is on one, and the caller
// resumes where it was.
func TestNovelThread(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, osThread := range []bool{false, true} {
		var opts []rt.Option
		if osThread {
			opts = append(opts, rt.OSThread())
		}
		var homeR, novelR, backR *rt.Runtime
		var homeTid, novelTid, backTid int
		var novelErr error
		r, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
			homeR, homeTid = rt.FromContext(ctx), unix.Gettid()
			return cont.NovelThread(func(ctx context.Context) int {
				novelR, novelTid = rt.FromContext(ctx), unix.Gettid()
				return 1
			}, func(v int, err error) cont.Step {
				novelErr = err
				return func(ctx context.Context, c *cont.C) cont.Step {
					backR, backTid = rt.FromContext(ctx), unix.Gettid()
					return nil
				}
			})
		}), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Join(); err != nil {
			t.Fatal(err)
		}
		if novelErr != nil || novelR == nil || novelR == homeR || backR != homeR {
			t.Fatalf("osThread=%v: err %v; home %p, novel %p, back %p", osThread, novelErr, homeR, novelR, backR)
		}
		if osThread && (novelTid == homeTid || backTid != homeTid) {
			t.Fatalf("OS threads: home %d, novel %d, back %d", homeTid, novelTid, backTid)
		}
	}
}

// A Goto to a mailbox closed for writing leaves the continuation where it
// is: its next step runs there and sees the error. It would catch a Goto
// that dropped the continuation, or hid the failure.
func TestGotoClosed(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	closed := mailbox.New[cont.C](1)
	closed.CloseWrite()
	var seen error
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return c.Goto(closed, func(ctx context.Context, c *cont.C) cont.Step {
			seen = cont.MoveErr(ctx)
			return nil
		})
	})
	if !c.Run(context.Background()) || !c.Done() {
		t.Fatal("the continuation did not finish where it was")
	}
	if !errors.Is(seen, spec.ErrMove) || !errors.Is(seen, mailbox.ErrUnwritable) {
		t.Fatalf("the step after the failed Goto saw %v", seen)
	}
	if n := closed.Len(); n != 0 {
		t.Fatalf("%d continuations in a closed mailbox", n)
	}
}

// A Goto to a full mailbox whose step context ends stays pending, and the
// next Step retries it before running anything: the continuation arrives
// once, and its next step does not run where it was.
func TestGotoPendingRetried(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	full := mailbox.New[cont.C](1)
	full.Send(cont.New(nil))
	ranHere := false
	c := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return c.Goto(full, func(context.Context, *cont.C) cont.Step { ranHere = true; return nil })
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if c.Step(ctx) {
		t.Fatal("Step reported the continuation gone while the mailbox was full")
	}
	full.Recv() // room now
	if !c.Step(context.Background()) {
		t.Fatal("the retried move did not happen")
	}
	if ranHere {
		t.Fatal("the next step ran where the continuation was")
	}
	if got, _ := full.TryRecv(); got != c {
		t.Fatal("the continuation did not arrive")
	}
}

// Millions: a fan-out tree in which each continuation sends n children to
// its own pool's mailbox, to depth 4; with n = 20 that is 168,421
// continuations, each of which must run exactly once.
func TestMillions(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const n, depth = 20, 4
	_, box := testpool.New(t, runtime.GOMAXPROCS(0))
	var ran atomic.Int64
	want := int64(0)
	for d, w := 0, int64(1); d <= depth; d, w = d+1, w*n {
		want += w
	}
	done := make(chan struct{})
	var node func(level int) *cont.C
	node = func(level int) *cont.C {
		return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
			if level < depth {
				for range n {
					if err := box.Send(node(level + 1)); err != nil {
						t.Error(err)
					}
				}
			}
			if ran.Add(1) == want {
				close(done)
			}
			return nil
		})
	}
	start := time.Now()
	box.Send(node(0))
	testpool.Wait(t, done)
	t.Logf("%d continuations in %v (%.1f million per second)", want, time.Since(start), float64(want)/time.Since(start).Seconds()/1e6)
	if want != 168421 {
		t.Fatalf("the tree has %d nodes, want 168421", want)
	}
	time.Sleep(10 * time.Millisecond) // a continuation run twice would show now
	if got := ran.Load(); got != want {
		t.Fatalf("%d runs, want %d", got, want)
	}
}

// Fill and drain: filler runtimes fill a mailbox with k empty
// continuations while no pool serves it (a paused mailbox holds senders
// too, see spec.Mailbox); a pool then drains it. Every continuation runs
// exactly once.
func TestFillDrain(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	const fillers, k = 4, 200000
	box := mailbox.New[cont.C](mailbox.Unbounded)
	var ran atomic.Int64
	step := func(context.Context, *cont.C) cont.Step { ran.Add(1); return nil }
	var rs []*rt.Runtime
	start := time.Now()
	for range fillers {
		var m cont.Maker
		r, err := rt.Spawn(cont.New(func(ctx context.Context, c *cont.C) cont.Step {
			for range k / fillers {
				if r := box.TrySend(m.New(step)); r != spec.Delivered {
					t.Errorf("a send failed: %v", r)
					return nil
				}
			}
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		if err := r.Join(); err != nil {
			t.Fatal(err)
		}
	}
	filled := time.Since(start)
	if box.Len() != k {
		t.Fatalf("filled %d, want %d", box.Len(), k)
	}
	start = time.Now()
	p, err := pool.New(pool.Waiter, box, runtime.GOMAXPROCS(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	drained := time.Since(start)
	t.Logf("filled %d in %v, drained in %v (%.1f million per second)", k, filled, drained, k/drained.Seconds()/1e6)
	if ran.Load() != k || box.Len() != 0 || len(p.Leftovers()) != 0 {
		t.Fatalf("%d of %d ran; %d queued, %d left over", ran.Load(), k, box.Len(), len(p.Leftovers()))
	}
}

// A Route moves continuations without allocating, many along one route,
// and a route to nil fails like a Goto to nil: the continuation stays and
// its next step sees the error.
func TestRoute(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	box := mailbox.New[cont.C](mailbox.Unbounded)
	var arrived atomic.Int64
	there := cont.NewRoute(box, func(context.Context, *cont.C) cont.Step { arrived.Add(1); return nil })
	leave := func(ctx context.Context, c *cont.C) cont.Step { return c.GotoRoute(there) }
	cs := make([]*cont.C, 10)
	for i := range cs {
		cs[i] = cont.New(leave)
		if !cs[i].Step(context.Background()) {
			t.Fatalf("continuation %d did not move", i)
		}
	}
	for range cs {
		c, _ := box.TryRecv()
		if !c.Step(context.Background()) || !c.Done() {
			t.Fatal("a moved continuation did not finish where it arrived")
		}
	}
	if arrived.Load() != int64(len(cs)) {
		t.Fatalf("%d arrived, want %d", arrived.Load(), len(cs))
	}
	c := cont.New(leave)
	if allocs := testing.AllocsPerRun(100, func() {
		c = cont.New(leave) // one allocation: the continuation
		c.Step(context.Background())
		box.TryRecv()
	}); allocs > 1 {
		t.Fatalf("%v allocations per move along a route, want the continuation's 1", allocs)
	}

	var seen error
	nowhere := cont.NewRoute(nil, func(ctx context.Context, c *cont.C) cont.Step { seen = cont.MoveErr(ctx); return nil })
	c = cont.New(func(ctx context.Context, c *cont.C) cont.Step { return c.GotoRoute(nowhere) })
	if !c.Run(context.Background()) || !c.Done() || !errors.Is(seen, spec.ErrMove) {
		t.Fatalf("a route to nil: done %v, error %v", c.Done(), seen)
	}
	seen = nil
	c = cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return c.Goto(nil, func(ctx context.Context, c *cont.C) cont.Step { seen = cont.MoveErr(ctx); return nil })
	})
	if !c.Run(context.Background()) || !errors.Is(seen, mailbox.ErrNil) {
		t.Fatalf("a Goto to nil: error %v", seen)
	}
}
