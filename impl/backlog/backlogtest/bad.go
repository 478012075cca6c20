package backlogtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/spec"
)

// A Bug is one deliberate fault of a known-bad backlog (Simple). Every
// check of a backlog must be shown to catch the bugs it claims to catch:
// the scenario (free and controlled), the fuzz target and the stress
// suite take their known-bad backlogs from here. Simple is a second,
// independent backlog: a mailbox of impl/mailbox (verified on its own)
// and a goroutine that formats and writes one record at a time, through
// impl/seam, so that the race detector has nothing to say and a
// controlled scheduler can interleave it: the bugs are in the logic.
type Bug uint8

const (
	// Correct is no bug: the control that shows a check passes what it
	// should, and that the model accepts a second implementation.
	Correct Bug = iota
	// CloseDropsQueued: Close closes the mailbox for reading, not for
	// writing, so that the records queued behind the writer are thrown
	// away uncounted. The scenario's Result must find them missing.
	CloseDropsQueued
	// AcceptsAfterClose: Handle on a closed backlog returns nil, and the
	// record goes nowhere. The model must refuse an accepted record after
	// a Close that returned before it began.
	AcceptsAfterClose
	// SwallowsWriteError: the writer ignores its io.Writer's error and
	// counts the record Written. The Result of the failing configuration
	// must find records neither written nor counted Failed.
	SwallowsWriteError
	// DropUncounted: a full mailbox under the drop policy drops the
	// record and returns nil, as if accepted. The Result of the drop
	// configuration must find an accepted record missing.
	DropUncounted
	// ReversesBatch: the writer takes what the mailbox holds, up to 4
	// records, and writes them last first. The Result must find a
	// producer's records out of order.
	ReversesBatch
	bugs
)

var bugNames = [bugs]string{"correct", "close-drops-queued", "accepts-after-close", "swallows-write-error", "drop-uncounted", "reverses-batch"}

func (b Bug) String() string {
	if b < bugs {
		return bugNames[b]
	}
	return fmt.Sprintf("Bug(%d)", b)
}

// Bugs returns every bug but Correct.
func Bugs() []Bug {
	var bs []Bug
	for b := Correct + 1; b < bugs; b++ {
		bs = append(bs, b)
	}
	return bs
}

// Config returns the scenario configuration whose checks catch b: the
// failing one for SwallowsWriteError, the dropping one for DropUncounted,
// the blocking one for the others.
func (b Bug) Config() string {
	switch b {
	case SwallowsWriteError:
		return "fail"
	case DropUncounted:
		return "drop"
	}
	return "block"
}

// core is the known-bad backlog, shared by a simple and the handlers its
// WithAttrs and WithGroup return.
type core struct {
	bug  Bug
	mb   *mailbox.Mailbox[job]
	drop bool
	out  io.Writer
	done chan struct{}
	// The counts: written and failed by the writer goroutine alone.
	written, failed, dropped, refused seam.Uint64
	err                               seam.Pointer[error]
}

// A job is a record and the formatting handler to write it with.
type job struct {
	fmt slog.Handler
	rec slog.Record
}

// simple is a handler of a core: its formatting handler carries the
// attributes and groups.
type simple struct {
	*core
	fmt slog.Handler
}

// Simple returns a backlog with bug b (Correct for none), writing to w
// with c, its writer running on a goroutine of its own.
func Simple(b Bug) New {
	return func(w io.Writer, c Config) spec.Backlog {
		s := &core{bug: b, mb: mailbox.New[job](c.Capacity), drop: c.Drop, out: w, done: make(chan struct{})}
		seam.Go(s.run)
		return &simple{core: s, fmt: slog.NewTextHandler(w, nil)}
	}
}

func (s *simple) Enabled(context.Context, slog.Level) bool { return true }

func (s *simple) WithAttrs(as []slog.Attr) slog.Handler {
	return &simple{core: s.core, fmt: s.fmt.WithAttrs(as)}
}

func (s *simple) WithGroup(name string) slog.Handler {
	if name == "" {
		return s
	}
	return &simple{core: s.core, fmt: s.fmt.WithGroup(name)}
}

func (s *simple) Handle(ctx context.Context, r slog.Record) error {
	if ctx == nil {
		ctx = context.Background()
	}
	j := &job{fmt: s.fmt, rec: r.Clone()}
	if s.drop {
		switch s.mb.TrySend(j) {
		case mailbox.Delivered:
			return nil
		case mailbox.Full:
			if s.bug == DropUncounted {
				return nil
			}
			s.dropped.Add(1)
			return spec.ErrBacklogFull
		}
		return s.refuse()
	}
	switch err := s.mb.SendContext(ctx, j); {
	case err == nil:
		return nil
	case errors.Is(err, mailbox.ErrUnwritable):
		return s.refuse()
	default:
		s.dropped.Add(1)
		return fmt.Errorf("%w: %w", spec.ErrBacklogFull, err)
	}
}

func (s *core) refuse() error {
	if s.bug == AcceptsAfterClose {
		return nil
	}
	s.refused.Add(1)
	if err := s.err.Load(); err != nil {
		return *err
	}
	return spec.ErrBacklogClosed
}

// run is the writer: one record at a time (ReversesBatch: up to four).
func (s *core) run() {
	defer seam.Close(s.done)
	batch := make([]*job, 4)
	for {
		if s.bug == ReversesBatch {
			if !s.mb.WaitPoppable() {
				return
			}
			n, _ := s.mb.TryRecvMany(batch)
			recs := slices.Clone(batch[:n])
			slices.Reverse(recs)
			for _, r := range recs {
				s.write(r)
			}
			continue
		}
		r, err := s.mb.Recv()
		if err != nil {
			return // unreadable: closed and drained
		}
		s.write(r)
	}
}

// write formats j straight to the io.Writer and counts it.
func (s *core) write(j *job) {
	if s.err.Load() != nil {
		s.failed.Add(1)
		return
	}
	err := j.fmt.Handle(context.Background(), j.rec)
	if err == nil || s.bug == SwallowsWriteError {
		s.written.Add(1)
		return
	}
	s.failed.Add(1)
	werr := fmt.Errorf("%w: %w", spec.ErrBacklogWrite, err)
	s.err.Store(&werr)
	s.mb.CloseWrite()
}

func (s *core) Close(ctx context.Context) error {
	if s.bug == CloseDropsQueued {
		s.mb.CloseRead()
	} else {
		s.mb.CloseWrite()
	}
	if ctx.Done() == nil {
		seam.Await(s.done)
	} else if seam.Await2(s.done, ctx.Done()) == 1 {
		return ctx.Err()
	}
	if err := s.err.Load(); err != nil {
		return *err
	}
	return nil
}

func (s *core) Stats() spec.BacklogStats {
	return spec.BacklogStats{Written: s.written.Load(), Failed: s.failed.Load(), Dropped: s.dropped.Load(), Refused: s.refused.Load()}
}
