package eventq_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/spec"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/internal/testdeadline"
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
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	r, w := pipe(t)
	c := idle()
	id, err := q.Register(r.fd, eventq.Read|eventq.OneShot, c)
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
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	_, w := pipe(t)
	a, _ := socketpair(t)
	cw, ca := idle(), idle()
	idw, err := q.Register(w.fd, eventq.Write|eventq.OneShot, cw)
	if err != nil {
		t.Fatal(err)
	}
	ida, err := q.Register(a.fd, eventq.Write|eventq.OneShot, ca)
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
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	r, w := pipe(t)
	c := idle()
	id, err := q.Register(r.fd, eventq.Read, c)
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
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	a, b := socketpair(t)
	c := idle()
	id, err := q.Register(a.fd, eventq.NoPeer|eventq.OneShot, c)
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
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	r, w := pipe(t)
	c := idle()
	id, err := q.Register(r.fd, eventq.Read|eventq.OneShot|eventq.Level, c)
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
	if _, err := q.Register(r.fd, eventq.Read|eventq.OneShot, c); err != nil {
		t.Fatalf("re-registering the fired continuation: %v", err)
	}
}

// Catches: level treated as edge (no second firing while data remains),
// a lent continuation handed out again before Rearm, and a level
// registration that keeps firing once the data is read.
func TestLevelFiresWhileDataRemains(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, ev := range []eventq.Events{eventq.Read, eventq.Read | eventq.Level, eventq.Read | eventq.Exclusive} {
		t.Run(ev.String(), func(t *testing.T) {
			q := newQueue(t)
			r, w := pipe(t)
			c := idle()
			id, err := q.Register(r.fd, ev, c)
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
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	r, w := pipe(t)
	c := idle()
	id, err := q.Register(r.fd, eventq.Read|eventq.Edge, c)
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
	testdeadline.Guard(t, testdeadline.Default)
	for _, ev := range []eventq.Events{eventq.Read, eventq.Read | eventq.Edge} {
		t.Run(ev.String(), func(t *testing.T) {
			q := newQueue(t)
			r, w := pipe(t)
			c1, c2 := idle(), idle()
			id1, err := q.Register(r.fd, ev, c1)
			if err != nil {
				t.Fatal(err)
			}
			id2, err := q.Register(r.fd, ev, c2)
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

// Catches: bad input that panics, is accepted, or leaks an fd.
func TestBadInput(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
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
		if _, err := q.Register(r.fd, ev, c); !errors.Is(err, eventq.ErrBadEvents) {
			t.Errorf("Register(%v): %v, want ErrBadEvents", ev, err)
		}
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"nil continuation", second(q.Register(r.fd, eventq.Read, nil)), eventq.ErrNilCont},
		{"nil continuation, After", second(q.After(time.Second, nil)), eventq.ErrNilCont},
		{"nil continuation, Signal", second(q.Signal(nil, syscall.SIGUSR1)), eventq.ErrNilCont},
		{"closed fd", second(q.Register(closed.fd, eventq.Read, c)), unix.EBADF},
		{"negative fd", second(q.Register(-1, eventq.Read, c)), unix.EBADF},
		{"regular file", second(q.Register(int(file.Fd()), eventq.Read, c)), unix.EPERM},
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
	id, err := q.Register(r.fd, eventq.Read, c)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Register": second(q.Register(r.fd, eventq.Write, c)),
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
