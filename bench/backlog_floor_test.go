package bench

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/insideout-go/insideout/impl/backlog"
)

// asyncFloor is the least an asynchronous handler can do: Handle copies
// the record into a buffered channel and returns, and one goroutine takes
// the records off it and either drops them (format nil) or formats each
// into io.Discard with format (a TextHandler: the writer's work without a
// system call). Its caller's cost beside slog-nop's bounds what any
// asynchronous handler's caller pays on the same cores: the floors of
// BenchmarkLogCaller for backlog-text. Not a peer anyone would use: it
// clones nothing and keeps no attributes or groups.
type asyncFloor struct {
	ch      chan slog.Record
	written *atomic.Uint64
}

func (h asyncFloor) Enabled(context.Context, slog.Level) bool { return true }
func (h asyncFloor) Handle(_ context.Context, r slog.Record) error {
	h.ch <- r
	return nil
}
func (h asyncFloor) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h asyncFloor) WithGroup(string) slog.Handler      { return h }

// Stats reports the records the goroutine has taken, as the backlog's
// does, so that BenchmarkLogCaller waits for it between bursts.
func (h asyncFloor) Stats() backlog.Stats { return backlog.Stats{Written: h.written.Load()} }

// asyncFloorPeer returns the floor peer named name, formatting with
// format (nil: dropping).
func asyncFloorPeer(name string, format func() slog.Handler) logPeer {
	return logPeer{name, func(_ io.Writer, capacity int) (slog.Handler, func() error) {
		h := asyncFloor{ch: make(chan slog.Record, capacity), written: new(atomic.Uint64)}
		var wg sync.WaitGroup
		wg.Go(func() {
			var f slog.Handler
			if format != nil {
				f = format()
			}
			for r := range h.ch {
				if f != nil {
					_ = f.Handle(context.Background(), r)
				}
				h.written.Add(1)
			}
		})
		return h, func() error { close(h.ch); wg.Wait(); return nil }
	}}
}

// asyncFloors are BenchmarkLogCaller's floors for an asynchronous
// handler: async-drop, whose goroutine only takes the records, and
// async-text, whose goroutine formats them as slog's TextHandler does.
var asyncFloors = []logPeer{
	asyncFloorPeer("floor-async-drop", nil),
	asyncFloorPeer("floor-async-text", func() slog.Handler { return slog.NewTextHandler(io.Discard, nil) }),
}
