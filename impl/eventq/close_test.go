package eventq_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Catches: Close losing registered continuations, handing out a lent one
// (it is with its holder), failing to wake a blocked Wait, or panicking
// the second time; and calls after Close that do not report it.
func TestClose(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q, err := eventq.New()
	if err != nil {
		t.Fatal(err)
	}
	r, w := pipe(t)
	cRead, cTimer, cSig, cLent := idle(), idle(), idle(), idle()
	if _, err := q.Register(r.fd, eventq.Read, cRead); err != nil {
		t.Fatal(err)
	}
	if _, err := q.After(time.Hour, cTimer); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Signal(cSig, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	idLent, err := q.Register(w.fd, eventq.Write, cLent)
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
		"Register": second(q.Register(r.fd, eventq.Read, c)),
		"After":    second(q.After(time.Second, c)),
		"Every":    second(q.Every(time.Second, c)),
		"Signal":   second(q.Signal(c, syscall.SIGUSR1)),
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
	testdeadline.Guard(t, testdeadline.Default)
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
			id, err = q.Register(p[0], eventq.Read, c)
		case 1:
			id, err = q.Register(p[1], eventq.Write|eventq.Edge, c)
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
		q.Register(-1, eventq.Read, c) // fails
	}
	// One-shots that fire.
	c := idle()
	if _, err := q.Register(p[1], eventq.Write|eventq.OneShot, c); err != nil {
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
	q.Register(p[0], eventq.Read, idle())
	q.Register(p[0], eventq.Read, idle())
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
