package eventq

import (
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// Catches, under the race detector: the signal watcher recording a signal
// outside its lock (w.got appended before w.mu.Lock or after Unlock),
// racing the Wait that takes the signals, which loses one or hands one
// out twice; and, with or without the detector, more signals handed out
// than were sent (one handed out twice). A burst of signals while the
// Wait takes them and hands the registration back, again and again.
func TestSignalBurst(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	id, err := q.Signal(cont.New(nil), syscall.SIGUSR2)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Cancel(id)
	const sent = 2000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range sent {
			unix.Kill(unix.Getpid(), unix.SIGUSR2)
			time.Sleep(10 * time.Microsecond) // else the kernel merges most of them
		}
	}()
	got, firings := 0, 0
	for quiet := 0; quiet < 3; {
		rds, err := q.Wait(nil, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, rd := range rds {
			got += len(rd.Signals)
			firings++
			if err := q.Rearm(rd.ID); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-done:
			if len(rds) == 0 {
				quiet++
			}
		default:
		}
	}
	if got == 0 || got > sent {
		t.Fatalf("%d signals handed out in %d firings, %d sent: want at least one, at most all", got, firings, sent)
	}
	t.Logf("%d signals sent, %d handed out in %d firings", sent, got, firings)
}

// Catches: the signal watcher recording a signal outside its lock (w.got
// appended before w.mu.Lock or after Unlock), racing take: a signal lost
// (take empties the list between the append's read and its write) or
// handed out twice (take reads it before the append's write puts it back
// in). The watcher alone, fed through its channel as os/signal feeds it
// (no signal merged by the kernel), while another goroutine takes, and
// every signal must be taken exactly once; under the race detector the
// unordered append is seen at once.
func TestSignalWatcherKeepsEach(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	w := &sigWatch{ch: make(chan os.Signal, 16), quit: make(chan struct{}), done: make(chan struct{})}
	go w.run(fd)
	const sent = 20000
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for range sent {
			w.ch <- syscall.SIGUSR2
		}
	}()
	taken, idle := 0, 0
	for taken < sent && idle < 1000 {
		got := w.take()
		taken += len(got)
		select {
		case <-fed:
			if len(got) == 0 {
				idle++
				time.Sleep(100 * time.Microsecond)
			}
		default:
		}
	}
	w.stop()
	if taken != sent {
		t.Fatalf("%d signals taken, %d fed to the watcher", taken, sent)
	}
}
