package eventq

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/seam"
)

// Signal registers c to be resumed when one of the process signals sigs
// arrives, and returns the registration's id. The signals come through
// os/signal: while registered they no longer have their default effect on
// the process (a SIGTERM no longer ends it); Cancel or Close restores
// that. Its continuation is lent at each firing (see the package comment):
// signals that arrive while it is lent are kept, and the next firing hands
// them all out, in order, in Ready.Signals (up to a burst of 16 waiting
// for the watcher, as os/signal drops what a full channel cannot take).
// It fails with ErrNoSignal (no signal, or a nil one), ErrNilCont,
// ErrRegistered, ErrClosed, or the kernel's error. Unlike Register, After
// and Every, it takes the continuation first, as signal.Notify takes its
// channel: the signals are variadic, so they come last.
func (q *Queue) Signal(c *cont.C, sigs ...os.Signal) (ID, error) {
	if len(sigs) == 0 {
		return 0, ErrNoSignal
	}
	for _, s := range sigs {
		if s == nil {
			return 0, ErrNoSignal
		}
	}
	perturb()
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.admit(c); err != nil {
		return 0, err
	}
	fd, err := q.sys.eventfd()
	if err != nil {
		return 0, fmt.Errorf("eventq: eventfd: %w", err)
	}
	r := &reg{c: c, kind: kindSignal, fd: fd, events: Read, kev: unix.EPOLLIN | unix.EPOLLONESHOT}
	if err := q.add(r); err != nil {
		q.sys.close(fd)
		return 0, fmt.Errorf("eventq: signal: %w", err)
	}
	w := &sigWatch{sys: q.sys, ch: make(chan os.Signal, 16), quit: make(chan struct{}), done: make(chan struct{})}
	signal.Notify(w.ch, sigs...)
	go w.run(fd)
	r.sig = w
	return r.id, nil
}

// sigWatch is the goroutine of a signal registration: it receives the
// signals and writes the registration's eventfd for each. It is started
// with a plain go statement, not seam.Go: os/signal feeds it whenever a
// signal comes, which no controlled schedule decides, so it stays outside
// a controlled run (kernel_sched.go); its lock is the seam's all the same,
// which lets the run's goroutine that takes the signals (Wait) take part.
type sigWatch struct {
	sys  sys // the queue's
	ch   chan os.Signal
	quit chan struct{} // closed by stop
	done chan struct{} // closed when run returns
	mu   seam.Mutex    // guards got; never held with Queue.mu by run
	got  []os.Signal   // arrived, not handed out yet
}

// run records each signal and writes fd, until stop. fd stays open while
// run runs: the queue closes it only after stop has returned.
func (w *sigWatch) run(fd int) {
	defer close(w.done)
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	for {
		select {
		case s := <-w.ch:
			w.mu.Lock()
			w.got = append(w.got, s)
			w.mu.Unlock()
			// A Wait may take the signal before the write that reports it.
			perturb()
			w.sys.write(fd, one[:]) // EAGAIN only when the counter is full: pending anyway
		case <-w.quit:
			return
		}
	}
}

// take returns the signals that arrived since the last take.
func (w *sigWatch) take() []os.Signal {
	w.mu.Lock()
	defer w.mu.Unlock()
	got := w.got
	w.got = nil
	return got
}

// stop stops delivery to w and waits until run has returned.
func (w *sigWatch) stop() {
	signal.Stop(w.ch)
	close(w.quit)
	<-w.done
}
