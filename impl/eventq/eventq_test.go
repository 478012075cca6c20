package eventq_test

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/spec"
)

// patience turns a hang into a failure; no test expects to come near it.
const patience = 5 * time.Second

var _ spec.EventQueue[cont.C] = (*eventq.Queue)(nil)

func newQueue(t *testing.T) *eventq.Queue {
	t.Helper()
	q, err := eventq.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// fdRef is an fd a test opened, closed once: by the test, or at cleanup.
type fdRef struct {
	fd     int
	closed bool
}

func (f *fdRef) close() {
	if !f.closed {
		f.closed = true
		unix.Close(f.fd)
	}
}

func track(t *testing.T, fds ...int) []*fdRef {
	refs := make([]*fdRef, len(fds))
	for i, fd := range fds {
		refs[i] = &fdRef{fd: fd}
		t.Cleanup(refs[i].close)
	}
	return refs
}

// pipe returns the read and write ends of a non-blocking pipe.
func pipe(t *testing.T) (r, w *fdRef) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	refs := track(t, p[0], p[1])
	return refs[0], refs[1]
}

// socketpair returns two connected AF_UNIX stream sockets.
func socketpair(t *testing.T) (a, b *fdRef) {
	t.Helper()
	p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	refs := track(t, p[0], p[1])
	return refs[0], refs[1]
}

func write(t *testing.T, f *fdRef, s string) {
	t.Helper()
	if _, err := unix.Write(f.fd, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, f *fdRef) string {
	t.Helper()
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(f.fd, buf)
		if err == unix.EAGAIN || n == 0 {
			return string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:n]...)
	}
}

// idle is a continuation that never finishes: each step does nothing.
func idle() *cont.C {
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step { return c.Next() })
}

// waitN waits until at least n firings have come (or patience runs out,
// which fails the test) and returns them.
func waitN(t *testing.T, q *eventq.Queue, n int) []eventq.Ready {
	t.Helper()
	deadline := time.Now().Add(patience)
	var got []eventq.Ready
	for len(got) < n {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("%d firings after %v, want %d: %v", len(got), patience, n, got)
		}
		var err error
		if got, err = q.Wait(got, left); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// none requires that nothing fires within d, and that Wait waited that
// long (a Wait that returns early with nothing, as one that keeps finding
// a stale wake-up would, hides firings that come late).
func none(t *testing.T, q *eventq.Queue, d time.Duration, why string) {
	t.Helper()
	start := time.Now()
	got, err := q.Wait(nil, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("%s: fired %v", why, got)
	}
	if took := time.Since(start); took < d {
		t.Fatalf("Wait(%v) with nothing ready returned after %v", d, took)
	}
}

func one(t *testing.T, q *eventq.Queue, id eventq.ID, c *cont.C) eventq.Ready {
	t.Helper()
	got := waitN(t, q, 1)
	if len(got) != 1 || got[0].ID != id || got[0].C != c {
		t.Fatalf("fired %v, want registration %d alone", got, id)
	}
	return got[0]
}

// Catches: a registration that fires before its fd is ready, or never.
func TestReadReadiness(t *testing.T) {
	q := newQueue(t)
	r, w := pipe(t)
	c := idle()
	id, err := q.Register(c, r.fd, eventq.Read|eventq.OneShot)
	if err != nil {
		t.Fatal(err)
	}
	none(t, q, 0, "an empty pipe is not readable")
	write(t, w, "x")
	got := one(t, q, id, c)
	if got.Events&eventq.Read == 0 || !got.Ended {
		t.Fatalf("got %+v, want Read and Ended", got)
	}
}

// Catches: Write mapped to the wrong epoll flag; readiness of a socket
// missed.
func TestWriteReadiness(t *testing.T) {
	q := newQueue(t)
	_, w := pipe(t)
	a, _ := socketpair(t)
	cw, ca := idle(), idle()
	idw, err := q.Register(cw, w.fd, eventq.Write|eventq.OneShot)
	if err != nil {
		t.Fatal(err)
	}
	ida, err := q.Register(ca, a.fd, eventq.Write|eventq.OneShot)
	if err != nil {
		t.Fatal(err)
	}
	got := waitN(t, q, 2)
	slices.SortFunc(got, func(a, b eventq.Ready) int { return int(a.ID) - int(b.ID) })
	if len(got) != 2 || got[0].ID != idw || got[1].ID != ida {
		t.Fatalf("fired %v, want %d and %d", got, idw, ida)
	}
	for _, r := range got {
		if r.Events != eventq.Write {
			t.Fatalf("events %v, want Write", r.Events)
		}
	}
}

// Catches: hang-up not reported (HangUp is always reported, asked for or
// not).
func TestHangUpPipe(t *testing.T) {
	q := newQueue(t)
	r, w := pipe(t)
	c := idle()
	id, err := q.Register(c, r.fd, eventq.Read)
	if err != nil {
		t.Fatal(err)
	}
	w.close()
	if got := one(t, q, id, c); got.Events&eventq.HangUp == 0 {
		t.Fatalf("events %v, want HangUp", got.Events)
	}
}

// Catches: NoPeer not mapped to EPOLLRDHUP.
func TestNoPeerSocket(t *testing.T) {
	q := newQueue(t)
	a, b := socketpair(t)
	c := idle()
	id, err := q.Register(c, a.fd, eventq.NoPeer|eventq.OneShot)
	if err != nil {
		t.Fatal(err)
	}
	none(t, q, 0, "the peer is still there")
	b.close()
	if got := one(t, q, id, c); got.Events&eventq.NoPeer == 0 {
		t.Fatalf("events %v, want NoPeer", got.Events)
	}
}

// Catches: a one-shot that fires again, or that stays registered (Cancel
// true, Rearm accepted) after firing.
func TestOneShotFiresOnce(t *testing.T) {
	q := newQueue(t)
	r, w := pipe(t)
	c := idle()
	id, err := q.Register(c, r.fd, eventq.Read|eventq.OneShot|eventq.Level)
	if err != nil {
		t.Fatal(err)
	}
	write(t, w, "a")
	one(t, q, id, c)
	write(t, w, "b")
	none(t, q, 20*time.Millisecond, "a one-shot fired twice")
	if q.Cancel(id) {
		t.Fatal("Cancel after a one-shot fired reported true")
	}
	if err := q.Rearm(id); !errors.Is(err, eventq.ErrUnknownID) {
		t.Fatalf("Rearm after a one-shot fired: %v, want ErrUnknownID", err)
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d after the one-shot fired", q.Len())
	}
	// It has ended, so its continuation may register again.
	if _, err := q.Register(c, r.fd, eventq.Read|eventq.OneShot); err != nil {
		t.Fatalf("re-registering the fired continuation: %v", err)
	}
}

// Catches: level treated as edge (no second firing while data remains),
// a lent continuation handed out again before Rearm, and a level
// registration that keeps firing once the data is read.
func TestLevelFiresWhileDataRemains(t *testing.T) {
	for _, ev := range []eventq.Events{eventq.Read, eventq.Read | eventq.Level, eventq.Read | eventq.Exclusive} {
		t.Run(ev.String(), func(t *testing.T) {
			q := newQueue(t)
			r, w := pipe(t)
			c := idle()
			id, err := q.Register(c, r.fd, ev)
			if err != nil {
				t.Fatal(err)
			}
			write(t, w, "data")
			for i := range 3 {
				if got := one(t, q, id, c); got.Ended {
					t.Fatalf("firing %d: Ended on a repeating registration", i)
				}
				none(t, q, 0, "fired while its continuation was lent")
				if err := q.Rearm(id); err != nil {
					t.Fatal(err)
				}
			}
			if s := readAll(t, r); s != "data" {
				t.Fatalf("read %q", s)
			}
			// Handed back while readable, it may have fired once more;
			// take that, then the empty pipe must stay quiet.
			got, err := q.Poll(nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > 0 {
				if err := q.Rearm(id); err != nil {
					t.Fatal(err)
				}
			}
			none(t, q, 20*time.Millisecond, "level fired with nothing to read")
			write(t, w, "more")
			one(t, q, id, c)
		})
	}
}

// Catches: edge treated as level (a firing per Wait while data stays
// unread), and an arrival while lent lost.
func TestEdgeFiresOncePerArrival(t *testing.T) {
	q := newQueue(t)
	r, w := pipe(t)
	c := idle()
	id, err := q.Register(c, r.fd, eventq.Read|eventq.Edge)
	if err != nil {
		t.Fatal(err)
	}
	write(t, w, "1")
	one(t, q, id, c)
	if err := q.Rearm(id); err != nil {
		t.Fatal(err)
	}
	none(t, q, 20*time.Millisecond, "edge fired again with no new arrival")
	write(t, w, "2")
	one(t, q, id, c)
	write(t, w, "3") // arrives while lent
	none(t, q, 0, "fired while lent")
	if err := q.Rearm(id); err != nil {
		t.Fatal(err)
	}
	if got := one(t, q, id, c); got.Events&eventq.Read == 0 {
		t.Fatalf("events %v", got.Events)
	}
	if err := q.Rearm(id); err != nil {
		t.Fatal(err)
	}
	none(t, q, 20*time.Millisecond, "the pending arrival fired twice")
	if s := readAll(t, r); s != "123" {
		t.Fatalf("read %q", s)
	}
}

// Catches: two registrations of one fd colliding in epoll (EEXIST), and a
// Cancel that takes the other registration with it.
func TestTwoRegistrationsOneFD(t *testing.T) {
	for _, ev := range []eventq.Events{eventq.Read, eventq.Read | eventq.Edge} {
		t.Run(ev.String(), func(t *testing.T) {
			q := newQueue(t)
			r, w := pipe(t)
			c1, c2 := idle(), idle()
			id1, err := q.Register(c1, r.fd, ev)
			if err != nil {
				t.Fatal(err)
			}
			id2, err := q.Register(c2, r.fd, ev)
			if err != nil {
				t.Fatal(err)
			}
			write(t, w, "x")
			got := waitN(t, q, 2)
			ids := []eventq.ID{got[0].ID, got[1].ID}
			slices.Sort(ids)
			if len(got) != 2 || ids[0] != id1 || ids[1] != id2 {
				t.Fatalf("fired %v, want both", got)
			}
			if !q.Cancel(id1) {
				t.Fatal("Cancel of a lent registration reported false")
			}
			if err := q.Rearm(id2); err != nil {
				t.Fatalf("the other registration: %v", err)
			}
			write(t, w, "y")
			one(t, q, id2, c2)
			if q.Len() != 1 {
				t.Fatalf("Len = %d, want 1", q.Len())
			}
		})
	}
}

// Catches: a cancelled registration that still fires, and a Cancel that
// reports true twice.
func TestCancel(t *testing.T) {
	q := newQueue(t)
	r, w := pipe(t)
	c := idle()
	id, err := q.Register(c, r.fd, eventq.Read)
	if err != nil {
		t.Fatal(err)
	}
	if !q.Cancel(id) {
		t.Fatal("Cancel of a live registration reported false")
	}
	if q.Cancel(id) {
		t.Fatal("second Cancel reported true")
	}
	write(t, w, "x")
	none(t, q, 20*time.Millisecond, "a cancelled registration fired")
	if q.Cancel(12345) {
		t.Fatal("Cancel of an unknown id reported true")
	}
}

// Catches: timers that never fire, fire twice (After), or stop after one
// period (Every), and a cancelled timer that fires.
func TestTimers(t *testing.T) {
	t.Run("After", func(t *testing.T) {
		q := newQueue(t)
		c := idle()
		id, err := q.After(5*time.Millisecond, c)
		if err != nil {
			t.Fatal(err)
		}
		got := one(t, q, id, c)
		if !got.Ended || got.Count != 1 {
			t.Fatalf("got %+v, want Ended, Count 1", got)
		}
		none(t, q, 20*time.Millisecond, "a one-shot timer fired twice")
		if q.Cancel(id) {
			t.Fatal("Cancel of a fired timer reported true")
		}
	})
	t.Run("AfterZero", func(t *testing.T) {
		q := newQueue(t)
		c := idle()
		id, err := q.After(0, c) // a zero it_value would disarm the timerfd
		if err != nil {
			t.Fatal(err)
		}
		one(t, q, id, c)
	})
	t.Run("Every", func(t *testing.T) {
		q := newQueue(t)
		c := idle()
		id, err := q.Every(2*time.Millisecond, c)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if got := one(t, q, id, c); got.Ended || got.Count < 1 {
				t.Fatalf("got %+v", got)
			}
			if err := q.Rearm(id); err != nil {
				t.Fatal(err)
			}
		}
		if !q.Cancel(id) {
			t.Fatal("Cancel of a periodic timer reported false")
		}
		none(t, q, 20*time.Millisecond, "a cancelled periodic timer fired")
	})
	t.Run("Cancelled", func(t *testing.T) {
		q := newQueue(t)
		c := idle()
		id, err := q.After(10*time.Millisecond, c)
		if err != nil {
			t.Fatal(err)
		}
		if !q.Cancel(id) {
			t.Fatal("Cancel reported false")
		}
		none(t, q, 40*time.Millisecond, "a cancelled timer fired")
	})
	t.Run("Sleep", func(t *testing.T) {
		q := newQueue(t)
		c := idle()
		if err := q.Sleep(time.Millisecond, c); err != nil {
			t.Fatal(err)
		}
		if got := waitN(t, q, 1); got[0].C != c || !got[0].Ended {
			t.Fatalf("got %+v", got)
		}
	})
}

// Catches: a Wake that does not break a blocked Wait (or is lost when no
// Wait is blocked yet), and a woken Wait that hands something out.
func TestWake(t *testing.T) {
	q := newQueue(t)
	r, _ := pipe(t)
	if _, err := q.Register(idle(), r.fd, eventq.Read); err != nil {
		t.Fatal(err)
	}
	done := make(chan []eventq.Ready)
	errc := make(chan error, 1)
	go func() {
		got, err := q.Wait(nil, -1)
		errc <- err
		done <- got
	}()
	time.Sleep(10 * time.Millisecond) // most likely blocked by now; either way Wake must work
	if err := q.Wake(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if err := <-errc; err != nil || len(got) != 0 {
			t.Fatalf("woken Wait: %v %v, want nothing", got, err)
		}
	case <-time.After(patience):
		t.Fatal("Wake did not break a blocked Wait")
	}
	// A Wake with no Wait in progress is kept for the next one.
	if err := q.Wake(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if got, err := q.Wait(nil, patience); err != nil || len(got) != 0 {
		t.Fatalf("Wait after Wake: %v %v", got, err)
	}
	if time.Since(start) >= patience {
		t.Fatal("a Wake before Wait was lost")
	}
	// And taken: the next Wait blocks again.
	none(t, q, 10*time.Millisecond, "nothing")
}

// Catches: EINTR from epoll_wait returned as an error, or ending the wait
// early. Signals are sent to the very thread blocked in epoll_wait.
func TestWaitRetriesEINTR(t *testing.T) {
	q := newQueue(t)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR2) // caught, so each one interrupts
	defer signal.Stop(sigs)
	const timeout = 100 * time.Millisecond
	tid := make(chan int)
	type result struct {
		got  []eventq.Ready
		err  error
		took time.Duration
	}
	res := make(chan result)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid <- unix.Gettid()
		start := time.Now()
		got, err := q.Wait(nil, timeout)
		res <- result{got, err, time.Since(start)}
	}()
	thread := <-tid
	deadline := time.After(patience)
	for {
		unix.Tgkill(unix.Getpid(), thread, unix.SIGUSR2)
		select {
		case r := <-res:
			if r.err != nil || len(r.got) != 0 {
				t.Fatalf("interrupted Wait: %v %v", r.got, r.err)
			}
			if r.took < timeout {
				t.Fatalf("interrupted Wait returned after %v, before its timeout %v", r.took, timeout)
			}
			return
		case <-sigs:
		case <-time.After(time.Millisecond):
		case <-deadline:
			t.Fatal("Wait hung")
		}
	}
}

// Catches: a signal that never reaches its continuation, the wrong signal
// reported, and a watcher goroutine left running after Cancel (goleak).
func TestSignal(t *testing.T) {
	q := newQueue(t)
	c := idle()
	id, err := q.Signal(c, syscall.SIGUSR1)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(unix.Getpid(), unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	got := one(t, q, id, c)
	if len(got.Signals) < 1 || got.Signals[0] != syscall.SIGUSR1 || got.Count != uint64(len(got.Signals)) || got.Ended {
		t.Fatalf("got %+v, want SIGUSR1", got)
	}
	// A second one, while lent, waits for the hand-back.
	if err := unix.Kill(unix.Getpid(), unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	none(t, q, 20*time.Millisecond, "fired while lent")
	if err := q.Rearm(id); err != nil {
		t.Fatal(err)
	}
	if got := one(t, q, id, c); len(got.Signals) != 1 || got.Signals[0] != syscall.SIGUSR1 {
		t.Fatalf("got %+v, want SIGUSR1 once", got)
	}
	if !q.Cancel(id) {
		t.Fatal("Cancel reported false")
	}
}

// Catches: Close losing registered continuations, handing out a lent one
// (it is with its holder), failing to wake a blocked Wait, or panicking
// the second time; and calls after Close that do not report it.
func TestClose(t *testing.T) {
	q, err := eventq.New()
	if err != nil {
		t.Fatal(err)
	}
	r, w := pipe(t)
	cRead, cTimer, cSig, cLent := idle(), idle(), idle(), idle()
	if _, err := q.Register(cRead, r.fd, eventq.Read); err != nil {
		t.Fatal(err)
	}
	if _, err := q.After(time.Hour, cTimer); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Signal(cSig, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	idLent, err := q.Register(cLent, w.fd, eventq.Write)
	if err != nil {
		t.Fatal(err)
	}
	one(t, q, idLent, cLent) // now lent
	waitErr := make(chan error, 1)
	go func() {
		_, err := q.Wait(nil, -1)
		waitErr <- err
	}()
	time.Sleep(5 * time.Millisecond)
	held, err := q.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want := []*cont.C{cRead, cTimer, cSig}; !slices.Equal(held, want) {
		t.Fatalf("Close handed back %v, want %v", held, want)
	}
	select {
	case err := <-waitErr:
		if !errors.Is(err, eventq.ErrClosed) {
			t.Fatalf("Wait broken by Close: %v, want ErrClosed", err)
		}
	case <-time.After(patience):
		t.Fatal("Close did not break a blocked Wait")
	}
	if held, err := q.Close(); held != nil || !errors.Is(err, eventq.ErrClosed) {
		t.Fatalf("second Close: %v %v", held, err)
	}
	c := idle()
	for name, err := range map[string]error{
		"Register": second(q.Register(c, r.fd, eventq.Read)),
		"After":    second(q.After(time.Second, c)),
		"Every":    second(q.Every(time.Second, c)),
		"Signal":   second(q.Signal(c, syscall.SIGUSR1)),
		"Sleep":    q.Sleep(time.Second, c),
		"Wait":     second(q.Wait(nil, -1)),
		"Poll":     second(q.Poll(nil)),
		"Rearm":    q.Rearm(idLent),
		"Wake":     q.Wake(),
		"RunReady": second(q.RunReady(context.Background(), -1)),
	} {
		if !errors.Is(err, eventq.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if q.Cancel(idLent) || q.Len() != 0 {
		t.Error("registrations survived Close")
	}
}

func second[T any](_ T, err error) error { return err }

// Catches: bad input that panics, is accepted, or leaks an fd.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	fdCount(t) // the first read may open the runtime's poller fds
	before := fdCount(t)
	q := newQueue(t)
	file, err := os.Create(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	r, w := pipe(t)
	closed, closedW := pipe(t)
	closed.close() // nothing opens an fd from here to the check that uses it
	c := idle()
	for _, ev := range []eventq.Events{0, eventq.Edge | eventq.Level | eventq.Read, eventq.OneShot,
		eventq.Exclusive | eventq.OneShot | eventq.Read, eventq.Exclusive | eventq.NoPeer, 1 << 14} {
		if _, err := q.Register(c, r.fd, ev); !errors.Is(err, eventq.ErrBadEvents) {
			t.Errorf("Register(%v): %v, want ErrBadEvents", ev, err)
		}
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"nil continuation", second(q.Register(nil, r.fd, eventq.Read)), eventq.ErrNilCont},
		{"nil continuation, After", second(q.After(time.Second, nil)), eventq.ErrNilCont},
		{"nil continuation, Signal", second(q.Signal(nil, syscall.SIGUSR1)), eventq.ErrNilCont},
		{"closed fd", second(q.Register(c, closed.fd, eventq.Read)), unix.EBADF},
		{"negative fd", second(q.Register(c, -1, eventq.Read)), unix.EBADF},
		{"regular file", second(q.Register(c, int(file.Fd()), eventq.Read)), unix.EPERM},
		{"zero period", second(q.Every(0, c)), eventq.ErrBadDuration},
		{"no signal", second(q.Signal(c)), eventq.ErrNoSignal},
		{"nil signal", second(q.Signal(c, nil)), eventq.ErrNoSignal},
		{"unknown id", q.Rearm(999), eventq.ErrUnknownID},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if q.Cancel(999) {
		t.Error("Cancel of an unknown id reported true")
	}
	if q.Len() != 0 {
		t.Fatalf("failed registrations left %d behind", q.Len())
	}
	// One continuation, one live registration.
	id, err := q.Register(c, r.fd, eventq.Read)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Register": second(q.Register(c, r.fd, eventq.Write)),
		"After":    second(q.After(time.Second, c)),
		"Signal":   second(q.Signal(c, syscall.SIGUSR1)),
	} {
		if !errors.Is(err, eventq.ErrRegistered) {
			t.Errorf("%s of a registered continuation: %v, want ErrRegistered", name, err)
		}
	}
	q.Cancel(id)
	// One Wait at a time.
	errc := make(chan error, 1)
	go func() { errc <- second(q.Wait(nil, -1)) }()
	deadline := time.Now().Add(patience)
	for {
		if _, err := q.Wait(nil, 0); errors.Is(err, eventq.ErrBusy) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("a second concurrent Wait never reported ErrBusy")
		}
		time.Sleep(time.Millisecond)
	}
	q.Wake()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	q.Close()
	file.Close()
	for _, f := range []*fdRef{r, w, closedW} {
		f.close()
	}
	if after := fdCount(t); after != before {
		t.Fatalf("%d fds open before, %d after", before, after)
	}
}

// fdCount counts this process's open fds.
func fdCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// Catches: an fd left open by New/Close, by a Register/Cancel cycle (the
// dup), by a fired one-shot, a timer or a signal registration, or by a
// failed registration; a timer that opens an fd of its own (the queue has
// one timerfd, made at its first timer and closed by Close); and a queue
// whose timerfd Close leaves open.
func TestFDCount(t *testing.T) {
	fdCount(t) // the first read may open the runtime's poller fds
	before := fdCount(t)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	q, err := eventq.New()
	if err != nil {
		t.Fatal(err)
	}
	base := fdCount(t)
	for i := range 200 {
		c := idle()
		var id eventq.ID
		var err error
		switch i % 5 {
		case 0:
			id, err = q.Register(c, p[0], eventq.Read)
		case 1:
			id, err = q.Register(c, p[1], eventq.Write|eventq.Edge)
		case 2:
			id, err = q.After(time.Hour, c)
		case 3:
			id, err = q.Every(time.Hour, c)
		case 4:
			id, err = q.Signal(c, syscall.SIGUSR1)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !q.Cancel(id) {
			t.Fatal("Cancel reported false")
		}
		q.Register(c, -1, eventq.Read) // fails
	}
	// One-shots that fire.
	c := idle()
	if _, err := q.Register(c, p[1], eventq.Write|eventq.OneShot); err != nil {
		t.Fatal(err)
	}
	waitN(t, q, 1)
	if _, err := q.After(0, c); err != nil {
		t.Fatal(err)
	}
	waitN(t, q, 1)
	if got := fdCount(t); got != base+1 {
		t.Fatalf("%d fds open after New, %d after registrations that all ended, want %d (and the timerfd)",
			base, got, base+1)
	}
	// And ones left for Close.
	q.Register(idle(), p[0], eventq.Read)
	q.Register(idle(), p[0], eventq.Read)
	q.Every(time.Hour, idle())
	q.Signal(idle(), syscall.SIGUSR1)
	if held, err := q.Close(); err != nil || len(held) != 4 {
		t.Fatalf("Close: %d continuations, %v", len(held), err)
	}
	unix.Close(p[0])
	unix.Close(p[1])
	if after := fdCount(t); after != before {
		t.Fatalf("%d fds open before New, %d after Close", before, after)
	}
}

// Catches: RunReady stepping nothing, handing a repeating registration's
// continuation back without re-arming it, losing a one-shot's unfinished
// continuation, or keeping the registration of a finished one.
func TestRunReady(t *testing.T) {
	q := newQueue(t)
	r, w := pipe(t)
	ctx := context.Background()

	// A reader on a repeating registration: one step per firing.
	var reads []string
	var firedEvents eventq.Events
	reader := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		rd, ok := eventq.Fired(ctx)
		if !ok {
			panic("no firing in the step's context")
		}
		firedEvents = rd.Events
		reads = append(reads, readAll(t, r))
		return c.Next()
	})
	id, err := q.Register(reader, r.fd, eventq.Read)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b", "c"} {
		write(t, w, s)
		if rest := runUntil(t, q, func([]*cont.C) bool { return len(reads) > 0 && reads[len(reads)-1] == s }); len(rest) != 0 {
			t.Fatalf("rest %v", rest)
		}
	}
	if firedEvents != eventq.Read {
		t.Fatalf("Fired events %v", firedEvents)
	}
	// A finished continuation's registration is cancelled.
	if !q.Cancel(id) {
		t.Fatal("the reader's registration ended")
	}
	finishing := cont.New(func(ctx context.Context, c *cont.C) cont.Step { return nil })
	id, err = q.Register(finishing, w.fd, eventq.Write)
	if err != nil {
		t.Fatal(err)
	}
	if rest, err := q.RunReady(ctx, patience); err != nil || len(rest) != 0 {
		t.Fatalf("RunReady: %v %v", rest, err)
	}
	if !finishing.Done() || q.Cancel(id) {
		t.Fatal("a finished continuation's registration was kept")
	}
	// A one-shot whose step leaves it unfinished and unregistered comes
	// back in rest; one whose step registers it again stays with q.
	loose := idle()
	again := cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		if _, err := q.After(time.Hour, c); err != nil {
			panic(err)
		}
		return c.Next()
	})
	if _, err := q.After(0, loose); err != nil {
		t.Fatal(err)
	}
	if _, err := q.After(0, again); err != nil {
		t.Fatal(err)
	}
	rest := runUntil(t, q, func(rest []*cont.C) bool { return q.Len() == 1 && len(rest) > 0 })
	if len(rest) != 1 || rest[0] != loose {
		t.Fatalf("rest %v, want the loose continuation", rest)
	}
}

// runUntil runs RunReady until cond holds of the continuations it has
// returned in rest (or patience runs out, which fails the test), and
// returns them.
func runUntil(t *testing.T, q *eventq.Queue, cond func(rest []*cont.C) bool) []*cont.C {
	t.Helper()
	deadline := time.Now().Add(patience)
	var rest []*cont.C
	for !cond(rest) {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("RunReady never got there: %d registrations, rest %v", q.Len(), rest)
		}
		more, err := q.RunReady(context.Background(), left)
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, more...)
	}
	return rest
}

// Catches: a RunReady that ignores its context's end while blocked.
func TestRunReadyContext(t *testing.T) {
	q := newQueue(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(5 * time.Millisecond)
		cancel()
	}()
	done := make(chan error, 1)
	go func() { done <- second(q.RunReady(ctx, -1)) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("RunReady: %v, want context.Canceled", err)
		}
	case <-time.After(patience):
		t.Fatal("RunReady did not return when its context ended")
	}
	if _, err := q.RunReady(ctx, -1); !errors.Is(err, context.Canceled) {
		t.Fatalf("RunReady with an ended context: %v", err)
	}
}

// Catches, under the race detector: the registration table touched
// without the mutex, and fds leaked by registrations that race a Wait.
func TestConcurrentUse(t *testing.T) {
	fdCount(t)
	before := fdCount(t)
	q, err := eventq.New()
	if err != nil {
		t.Fatal(err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	unix.Write(p[1], []byte("x")) // always readable, always writable
	var stop atomic.Bool
	var fired atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		var buf []eventq.Ready
		for !stop.Load() {
			var err error
			buf, err = q.Wait(buf[:0], time.Millisecond)
			if err != nil {
				t.Error(err)
				return
			}
			for _, rd := range buf {
				fired.Add(1)
				if !rd.Ended {
					q.Rearm(rd.ID) // may race a Cancel: ErrUnknownID then
				}
			}
		}
	})
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				var id eventq.ID
				var err error
				c := idle()
				switch (g + i) % 4 {
				case 0:
					id, err = q.Register(c, p[0], eventq.Read)
				case 1:
					id, err = q.Register(c, p[1], eventq.Write|eventq.OneShot)
				case 2:
					id, err = q.Register(c, p[0], eventq.Read|eventq.Edge)
				case 3:
					id, err = q.After(0, c)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if i%3 != 0 {
					q.Cancel(id)
				}
				q.Wake()
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if fired.Load() == 0 {
		t.Error("nothing fired")
	}
	if _, err := q.Close(); err != nil {
		t.Fatal(err)
	}
	unix.Close(p[0])
	unix.Close(p[1])
	if after := fdCount(t); after != before {
		t.Fatalf("%d fds before, %d after", before, after)
	}
}
