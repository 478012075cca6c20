package backlog

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/seam"
)

// batchSize is how many records the writer takes from the mailbox at once.
const batchSize = 128

// idleYields is how many times the writer, finding the mailbox empty,
// yields the processor and looks again before it writes what it has and
// sleeps: under a steady flow of records the next one is usually on its
// way, and a writer asleep must be woken by a caller's send (a system
// call on the caller's side), the cost the backlog exists to spare the
// caller. The bound keeps an idle writer from spinning.
const idleYields = 8

// flushBytes is the size at which the writer writes its buffer without
// waiting for the mailbox to run empty.
const flushBytes = 64 << 10

// sink is the writer's buffer, the io.Writer the formatting handler is
// given; only the writer's runtime touches it.
type sink struct{ buf []byte }

// Write appends p to the buffer; it never fails.
func (s *sink) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	return len(p), nil
}

// writer is the continuation that the backlog's runtime runs: it takes
// records from the mailbox, formats them into sink and writes sink to out.
// Everything in it belongs to that runtime alone.
type writer struct {
	s       *shared
	out     io.Writer
	onError func(error)
	sink    sink
	// ends holds the end offset in sink.buf of each record formatted
	// since the last write: a short write tells which were written in full.
	ends   []int
	batch  []*entry
	idle   int  // the yields since the mailbox was last found with a record
	failed bool // the write error is stored: count records Failed from now on
}

func newWriter(s *shared, out io.Writer, onError func(error)) *writer {
	return &writer{s: s, out: out, onError: onError, batch: make([]*entry, batchSize)}
}

// step takes what the mailbox holds, up to a batch, and formats it,
// writing once the buffer is large; when the mailbox is empty it yields
// and looks again, idleYields times, then writes what it has and sleeps
// until a record comes. It finishes once the mailbox is closed and
// drained, having written everything.
func (w *writer) step(ctx context.Context, c *cont.C) cont.Step {
	n, res := w.s.mb.TryRecvMany(w.batch)
	if res == mailbox.Received {
		w.idle = 0
		for i, e := range w.batch[:n] {
			w.format(e)
			free(e)
			w.batch[i] = nil
		}
		if len(w.sink.buf) >= flushBytes {
			w.flush()
		}
		// The writer is the background: it lets runnable callers go
		// first, so that on a machine with fewer cores than goroutines
		// it takes the time they leave (or the time a full mailbox
		// leaves them waiting) rather than an equal share.
		seam.Yield()
		return c.Next()
	}
	if res == mailbox.Empty && w.idle < idleYields {
		w.idle++
		seam.Yield()
		return c.Next()
	}
	w.idle = 0
	w.flush()
	if res == mailbox.Unreadable {
		return nil
	}
	e, err := w.s.mb.RecvContext(ctx)
	switch {
	case err == nil:
		w.format(e)
		free(e)
	case errors.Is(err, mailbox.ErrUnreadable):
		return nil
	}
	// Otherwise the runtime ended the step's context: a cooperative point.
	return c.Next()
}

// format renders e into the buffer and notes where it ends; a record the
// formatting handler fails on leaves nothing there and is counted Failed.
func (w *writer) format(e *entry) {
	if w.failed {
		w.s.failed.Add(1)
		return
	}
	mark := len(w.sink.buf)
	if err := w.handle(e); err != nil {
		w.sink.buf = w.sink.buf[:mark]
		w.s.failed.Add(1)
		w.report(fmt.Errorf("backlog: formatting a record (%q): %w", e.rec.Message, err))
		return
	}
	w.ends = append(w.ends, len(w.sink.buf))
}

// handle runs the formatting handler on e, turning a panic into an error.
func (w *writer) handle(e *entry) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the formatting handler panicked: %v", v)
		}
	}()
	return e.fmt.Handle(e.ctx, e.rec)
}

// flush writes the buffer with one Write. The records whose bytes the
// writer took in full are Written; on an error the others are Failed,
// the error is stored (before the mailbox is closed, so that a Handle
// refused for it finds it) and reported, and writing stops.
func (w *writer) flush() {
	if len(w.ends) == 0 {
		return
	}
	n, err := w.write(w.sink.buf)
	if err == nil && n < len(w.sink.buf) {
		err = io.ErrShortWrite
	}
	done := len(w.ends)
	if err != nil {
		done = 0
		for done < len(w.ends) && w.ends[done] <= n {
			done++
		}
		w.s.failed.Add(uint64(len(w.ends) - done))
		werr := fmt.Errorf("%w: %w", ErrWrite, err)
		w.s.err.Store(&werr)
		w.failed = true
		w.s.mb.CloseWrite()
		w.report(werr)
	}
	w.s.written.Add(uint64(done))
	w.sink.buf = w.sink.buf[:0]
	if cap(w.sink.buf) > 4*flushBytes {
		w.sink.buf = nil // a huge record's buffer is not kept
	}
	w.ends = w.ends[:0]
}

// write calls the io.Writer, turning a panic into an error.
func (w *writer) write(p []byte) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("the io.Writer panicked: %v", v)
		}
	}()
	n, err = w.out.Write(p)
	if n < 0 || n > len(p) {
		n, err = 0, fmt.Errorf("the io.Writer returned %d for %d bytes", n, len(p))
	}
	return n, err
}

// report passes err to the OnError callback, if there is one. A panic in
// the callback is dropped: it must not stop the writer, which would leave
// accepted records unwritten and blocked callers waiting.
func (w *writer) report(err error) {
	if w.onError == nil {
		return
	}
	defer func() { _ = recover() }()
	w.onError(err)
}
