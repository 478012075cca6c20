// Package backlog provides an asynchronous log/slog Handler that loses
// nothing: callers hand their records to a mailbox and return at once, and
// one runtime formats and writes them out, in batches, to an io.Writer.
// It is the Go form of the Nim original's backlog; the rules are in
// spec.Backlog.
//
//	h, err := backlog.New(os.Stderr, backlog.Level(slog.LevelDebug))
//	if err != nil { ... }
//	defer h.Close(context.Background()) // writes everything accepted, then returns
//	logger := slog.New(h)
//	logger.Info("started", "port", 8080)
//
// # Flushing at exit
//
// A record is written some time after Handle returns. Close writes every
// record accepted before it and returns once the io.Writer has them (the
// backlog does not close or sync the writer: its owner does, after
// Close). A program calls Close on its way out: defer h.Close(ctx) in
// main, and explicitly before os.Exit or log.Fatal, which run no deferred
// calls. Records that are still in the mailbox when the process exits
// without Close are lost, as a bufio.Writer's are without Flush. A Close
// with a deadline (context.WithTimeout) bounds the wait on a slow writer.
//
// # A full mailbox
//
// The mailbox holds Capacity records (DefaultCapacity unless told). When
// it is full, the policy decides: Block (the default) applies
// backpressure: Handle waits for room, and returns ErrFull if its context
// ends first; DropWhenFull makes Handle return ErrFull at once. Either
// way the record is counted in Stats().Dropped, never dropped silently:
// slog.Logger discards Handle's error, so Stats is where a program looks.
//
// # Write errors
//
// The first error the io.Writer returns (a full disk, a closed file) ends
// the writing for good: it is passed to the OnError callback, returned by
// Close and Err, wrapped so that it matches both ErrWrite and the
// writer's own error; Handle refuses every later record with it; and
// every accepted record not written in full, behind the error, is counted
// in Stats().Failed. A record the formatting handler fails on (its Handle
// returns an error or panics) is counted Failed and passed to OnError, and
// the writing goes on.
//
// # Costs
//
// Handle, on the caller's side, clones the record into an entry (recycled:
// the writer gives back each one it has written) and makes one send to
// the mailbox of impl/mailbox, which takes no lock unless it must wait.
// The writer takes records in batches, formats them with the formatting
// handler (slog.NewTextHandler by default; see Format) into a buffer of
// its own, and writes the buffer with one Write when it passes 64 KiB or
// the mailbox runs empty: one system call for many records under load.
// It yields after each batch, so that callers go first where there are
// fewer cores than goroutines.
package backlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/rt"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// The errors of a backlog, the same values as spec's: test them with
// errors.Is.
var (
	// ErrClosed: Handle after Close.
	ErrClosed = spec.ErrBacklogClosed
	// ErrFull: the record was dropped for lack of room (counted Dropped).
	ErrFull = spec.ErrBacklogFull
	// ErrWrite: the io.Writer failed; the error wraps the writer's own.
	ErrWrite = spec.ErrBacklogWrite
	// ErrNilWriter: New was given a nil io.Writer.
	ErrNilWriter = errors.New("backlog: nil io.Writer")
	// ErrBadOption: an option's value is out of range (the error says
	// which).
	ErrBadOption = errors.New("backlog: bad option")
)

// Stats counts what became of the records given to a backlog: see
// spec.BacklogStats.
type Stats = spec.BacklogStats

// An entry is one accepted record, with the handler that formats it (the
// formatting handler with the attributes and groups of the Handler that
// took it) and the caller's context.
type entry struct {
	fmt slog.Handler
	ctx context.Context
	rec slog.Record
}

// entries recycles entries: the writer puts back each one it has written,
// so that a caller's Handle does not allocate (an allocation and the
// write barriers of copying a record into fresh memory were most of its
// cost).
var entries = sync.Pool{New: func() any { return new(entry) }}

// newEntry returns an entry, recycled or new, holding fmt, ctx and rec.
func newEntry(fmt slog.Handler, ctx context.Context, rec slog.Record) *entry {
	e := entries.Get().(*entry)
	e.fmt, e.ctx, e.rec = fmt, ctx, rec
	return e
}

// free clears e, which nothing else refers to, and puts it back.
func free(e *entry) {
	*e = entry{}
	entries.Put(e)
}

// shared is the one backlog behind a Handler and the handlers WithAttrs
// and WithGroup derive from it.
type shared struct {
	mb    *mailbox.Mailbox[entry]
	r     *rt.Runtime
	level slog.Leveler
	drop  bool
	// dropped and refused are counted by callers (atomic adds, on the
	// paths that do not accept a record); written and failed by the
	// writer alone, which stores them as it goes.
	dropped, refused seam.Uint64
	written, failed  seam.Uint64
	// err is the write error, stored once by the writer before it closes
	// the mailbox for writing: a Handle that finds the mailbox closed
	// loads it after, and so sees it if that is why.
	err seam.Pointer[error]
}

// Handler is an asynchronous slog.Handler: see the package doc. Handlers
// that WithAttrs and WithGroup return share their parent's backlog: its
// mailbox, writer, Close and Stats. All methods are safe for concurrent
// use.
type Handler struct {
	s   *shared
	fmt slog.Handler // the formatting handler, with this handler's attributes and groups
}

// Handler is a spec.Backlog.
var _ spec.Backlog = (*Handler)(nil)

// New returns a backlog writing to w, with its writer running. It fails
// with ErrNilWriter for a nil w, and with an error matching ErrBadOption
// for an option out of range. Close it when done (see the package doc).
func New(w io.Writer, opts ...Option) (*Handler, error) {
	if w == nil {
		return nil, ErrNilWriter
	}
	o := defaults()
	for _, opt := range opts {
		if opt == nil {
			return nil, badOption("nil Option")
		}
		opt(&o)
	}
	if o.err != nil {
		return nil, o.err
	}
	s := &shared{mb: mailbox.New[entry](o.capacity), level: o.level, drop: o.drop}
	wr := newWriter(s, w, o.onError)
	inner := o.format(&wr.sink)
	if inner == nil {
		return nil, badOption("Format returned a nil slog.Handler")
	}
	r, err := rt.Spawn(cont.New(wr.step), rt.SkipPolling(), rt.Name("backlog"))
	if err != nil {
		return nil, err
	}
	s.r = r
	return &Handler{s: s, fmt: inner}, nil
}

// Enabled reports whether level is at or above the backlog's level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.s.level.Level()
}

// Handle accepts a copy of r for the writer, and returns nil; or, not
// accepting it, ErrFull (no room: see the package doc on a full mailbox),
// ErrClosed (after Close) or the write error (after a write failure). A
// nil ctx is taken as context.Background(). r is written later, with ctx
// passed to the formatting handler's Handle.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if ctx == nil {
		ctx = context.Background()
	}
	e := newEntry(h.fmt, ctx, r.Clone())
	s := h.s
	if s.drop {
		switch s.mb.TrySend(e) {
		case mailbox.Delivered:
			return nil
		case mailbox.Full:
			free(e)
			s.dropped.Add(1)
			return ErrFull
		}
		free(e)
		return s.refuse()
	}
	err := s.mb.SendContext(ctx, e)
	if err == nil {
		return nil
	}
	free(e)
	if errors.Is(err, mailbox.ErrUnwritable) {
		return s.refuse()
	}
	// ctx ended while Handle waited for room.
	s.dropped.Add(1)
	return fmt.Errorf("%w: %w", ErrFull, err)
}

// refuse counts a record refused by a closed mailbox and returns why it
// was closed: the write error, or Close.
func (s *shared) refuse() error {
	s.refused.Add(1)
	if err := s.err.Load(); err != nil {
		return *err
	}
	return ErrClosed
}

// WithAttrs returns a handler of the same backlog whose records carry
// attrs, formatted as the formatting handler's WithAttrs does.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return &Handler{s: h.s, fmt: h.fmt.WithAttrs(attrs)}
}

// WithGroup returns a handler of the same backlog whose records' attributes
// go in the group name; an empty name returns h.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &Handler{s: h.s, fmt: h.fmt.WithGroup(name)}
}

// Close closes the backlog and waits until every record it accepted is
// written, or counted Failed behind a write error: see the package doc.
// It returns nil, the write error (matching ErrWrite), or ctx's error if
// ctx ends first, in which case the writing goes on and a later Close
// waits again. Close on any handler of a backlog closes the backlog. ctx
// must not be nil: Close panics if it is, as context.WithCancel does.
func (h *Handler) Close(ctx context.Context) error {
	if ctx == nil {
		panic("backlog: Close with a nil context.Context: use context.Background()")
	}
	s := h.s
	s.mb.CloseWrite()
	if err := s.r.JoinContext(ctx); err != nil {
		return err
	}
	return s.writeErr()
}

// writeErr returns the write error, or nil.
func (s *shared) writeErr() error {
	if err := s.err.Load(); err != nil {
		return *err
	}
	return nil
}

// Err returns the write error, or nil while writing goes well.
func (h *Handler) Err() error { return h.s.writeErr() }

// Stats returns the counts so far: see Stats. They are final once Close
// has returned nil or the write error.
func (h *Handler) Stats() Stats {
	s := h.s
	return Stats{Written: s.written.Load(), Failed: s.failed.Load(), Dropped: s.dropped.Load(), Refused: s.refused.Load()}
}
