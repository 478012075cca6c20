package backlog

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/insideout-go/insideout/impl/mailbox"
)

// DefaultCapacity is the mailbox's capacity unless Capacity says
// otherwise: records accepted and not yet taken by the writer.
const DefaultCapacity = 1024

// MaxCapacity is the largest capacity Capacity accepts.
const MaxCapacity = mailbox.MaxCapacity

// An Option configures New.
type Option func(*options)

type options struct {
	level    slog.Leveler
	capacity int
	drop     bool
	format   func(io.Writer) slog.Handler
	onError  func(error)
	err      error // the first bad option
}

func defaults() options {
	return options{level: slog.LevelInfo, capacity: DefaultCapacity, format: TextFormat(nil)}
}

func badOption(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadOption, fmt.Sprintf(format, args...))
}

func (o *options) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// Level sets the minimum level of the records Enabled lets through
// (slog.LevelInfo unless told); a slog.LevelVar changes it while the
// backlog runs. A nil l is an error.
func Level(l slog.Leveler) Option {
	return func(o *options) {
		if l == nil {
			o.fail(badOption("nil Level"))
			return
		}
		o.level = l
	}
}

// Capacity sets how many records the mailbox holds, from 1 to
// MaxCapacity (DefaultCapacity unless told).
func Capacity(n int) Option {
	return func(o *options) {
		if n < 1 || n > MaxCapacity {
			o.fail(badOption("Capacity(%d): want 1 to %d", n, MaxCapacity))
			return
		}
		o.capacity = n
	}
}

// Block is the default policy for a full mailbox: Handle waits for room,
// and returns ErrFull, counting the record Dropped, if its context ends
// first.
func Block() Option { return func(o *options) { o.drop = false } }

// DropWhenFull is the other policy: Handle returns ErrFull at once when
// the mailbox is full, counting the record Dropped, so that a caller never
// waits for the writer.
func DropWhenFull() Option { return func(o *options) { o.drop = true } }

// Format sets how the writer renders records: f returns the formatting
// handler, which writes to the io.Writer f is given (the writer's buffer,
// not the backlog's io.Writer). The default is TextFormat(nil); JSONFormat
// gives slog's JSON. The formatting handler's Handle runs on the writer
// alone, one record at a time; its WithAttrs and WithGroup run on the
// callers of the backlog's. Its own level is ignored: Level decides.
func Format(f func(io.Writer) slog.Handler) Option {
	return func(o *options) {
		if f == nil {
			o.fail(badOption("nil Format"))
			return
		}
		o.format = f
	}
}

// TextFormat is the format of slog.NewTextHandler with opts (nil for the
// defaults).
func TextFormat(opts *slog.HandlerOptions) func(io.Writer) slog.Handler {
	return func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, allLevels(opts)) }
}

// JSONFormat is the format of slog.NewJSONHandler with opts (nil for the
// defaults).
func JSONFormat(opts *slog.HandlerOptions) func(io.Writer) slog.Handler {
	return func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, allLevels(opts)) }
}

// allLevels returns a copy of opts whose level lets everything through:
// the backlog's Enabled has decided already.
func allLevels(opts *slog.HandlerOptions) *slog.HandlerOptions {
	var c slog.HandlerOptions
	if opts != nil {
		c = *opts
	}
	c.Level = slog.Level(-1 << 31)
	return &c
}

// OnError sets a function the writer calls with each error: the write
// error (once: writing stops), and each record the formatting handler
// failed on. It runs on the writer: it must not log to the same backlog
// (with the Block policy and a full mailbox it would wait for itself).
func OnError(f func(error)) Option {
	return func(o *options) { o.onError = f }
}
