package eventq_test

import (
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/eventq"
	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Catches: a cancelled registration that still fires, and a Cancel that
// reports true twice.
func TestCancel(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	r, w := pipe(t)
	c := idle()
	id, err := q.Register(r.fd, eventq.Read, c)
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
	testdeadline.Guard(t, testdeadline.Default)
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
}

// Catches: a Wake that does not break a blocked Wait (or is lost when no
// Wait is blocked yet), and a woken Wait that hands something out.
func TestWake(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	r, _ := pipe(t)
	if _, err := q.Register(r.fd, eventq.Read, idle()); err != nil {
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
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
