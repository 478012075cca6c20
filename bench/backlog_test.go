package bench

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/backlog"
)

// A logPeer is one way to log to a file: the handler, and what finishes
// it (closes the backlog; nothing for a synchronous handler, which has
// written every record when Handle returns).
type logPeer struct {
	name string
	make func(w io.Writer, capacity int) (slog.Handler, func() error)
}

var logPeers = []logPeer{
	{"backlog-text", func(w io.Writer, capacity int) (slog.Handler, func() error) {
		h, err := backlog.New(w, backlog.Capacity(capacity))
		if err != nil {
			panic(err)
		}
		return h, func() error { return h.Close(context.Background()) }
	}},
	{"backlog-json", func(w io.Writer, capacity int) (slog.Handler, func() error) {
		h, err := backlog.New(w, backlog.Capacity(capacity), backlog.Format(backlog.JSONFormat(nil)))
		if err != nil {
			panic(err)
		}
		return h, func() error { return h.Close(context.Background()) }
	}},
	{"slog-text", func(w io.Writer, _ int) (slog.Handler, func() error) {
		return slog.NewTextHandler(w, nil), func() error { return nil }
	}},
	{"slog-json", func(w io.Writer, _ int) (slog.Handler, func() error) {
		return slog.NewJSONHandler(w, nil), func() error { return nil }
	}},
}

// logFile creates a file in b's temporary directory, removed with it.
func logFile(b *testing.B) *os.File {
	f, err := os.Create(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Close() })
	return f
}

// logRecords has goroutines log n records in all through logger, as a
// program does: a message and three attributes.
func logRecords(logger *slog.Logger, goroutines, n int) {
	var wg sync.WaitGroup
	for g := range goroutines {
		count := n / goroutines
		if g < n%goroutines {
			count++
		}
		wg.Go(func() {
			for i := range count {
				logger.Info("request", "g", g, "i", i, "path", "/api/items")
			}
		})
	}
	wg.Wait()
}

// handleRecords has goroutines hand n records in all to h directly, each
// goroutine one record it made once (a message and three attributes):
// the handler's own cost, without slog.Logger's (the record, the caller's
// PC, the time), as slog's own handler benchmarks measure it.
func handleRecords(h slog.Handler, goroutines, n int) {
	var wg sync.WaitGroup
	for g := range goroutines {
		count := n / goroutines
		if g < n%goroutines {
			count++
		}
		wg.Go(func() {
			r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
			r.AddAttrs(slog.Int("g", g), slog.Int("i", 0), slog.String("path", "/api/items"))
			ctx := context.Background()
			for range count {
				if err := h.Handle(ctx, r); err != nil {
					panic(err)
				}
			}
		})
	}
	wg.Wait()
}

// logBurst is how many records each goroutine logs at once in
// BenchmarkLogCaller; the backlog's mailbox holds every burst of 4.
const logBurst = 512

// nopHandler is enabled and does nothing. (slog.DiscardHandler is not
// enabled: the Logger would not even make the record.)
type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }

// nopPeer is the floor of BenchmarkLogCaller: slog.Logger's own cost (the
// record, the caller's PC, the time), with a handler that does nothing.
var nopPeer = logPeer{"slog-nop", func(io.Writer, int) (slog.Handler, func() error) {
	return nopHandler{}, func() error { return nil }
}}

// BenchmarkLogCaller measures what logging costs the caller: ns per
// record on the calling goroutines (caller-ns/rec), 1 and 4 goroutines on
// GOMAXPROCS 2, through slog.Logger to a file in a temporary directory.
// slog-nop, a handler that does nothing, is the front end's floor, and
// floor-async-drop and floor-async-text (asyncFloor) an asynchronous
// handler's: the least a handoff costs, without and with a goroutine
// formatting every record beside the callers. Under
// logger/ the records go through slog.Logger, as a program logs; under
// handle/ each goroutine hands one prepared record to the handler's
// Handle, which measures the handler alone.
// The backlog's callers log bursts that its mailbox holds, so that they
// measure Handle's own cost (a clone and a send) while the writer runs
// beside them, not the writer's pace; between bursts, untimed, the
// writer catches up. A synchronous handler formats and writes on the
// caller: its cost per record is the caller's.
func BenchmarkLogCaller(b *testing.B) {
	fronts := []struct {
		name string
		log  func(h slog.Handler, goroutines, n int)
	}{
		{"logger", func(h slog.Handler, goroutines, n int) { logRecords(slog.New(h), goroutines, n) }},
		{"handle", handleRecords},
	}
	for _, front := range fronts {
		for _, goroutines := range []int{1, 4} {
			for _, p := range append(append(logPeers, nopPeer), asyncFloors...) {
				b.Run(front.name+"/"+strconv.Itoa(goroutines)+"g/"+p.name, func(b *testing.B) {
					logCaller(b, p, goroutines, front.log)
				})
			}
		}
	}
}

// logCaller is one of BenchmarkLogCaller's runs: p's handler, goroutines
// logging through front.
func logCaller(b *testing.B, p logPeer, goroutines int, front func(h slog.Handler, goroutines, n int)) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	h, finish := p.make(logFile(b), goroutines*logBurst)
	stats, _ := h.(interface{ Stats() backlog.Stats })
	b.ReportAllocs()
	var caller time.Duration
	logged := 0
	for b.Loop() {
		start := time.Now()
		front(h, goroutines, goroutines*logBurst)
		caller += time.Since(start)
		logged += goroutines * logBurst
		for stats != nil && int(stats.Stats().Written) < logged {
			time.Sleep(50 * time.Microsecond) // the writer catches up, untimed
		}
	}
	b.ReportMetric(float64(caller.Nanoseconds())/float64(logged), "caller-ns/rec")
	if err := finish(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLogThroughput measures records written per second end to end
// (rec/s): b.N records from 1 or 4 goroutines on GOMAXPROCS 2, through
// slog.Logger to a file, up to the backlog's Close, which returns once the
// file has them all. The backlog's mailbox holds 1024 (its default): the
// callers wait for the writer once it is full.
func BenchmarkLogThroughput(b *testing.B) {
	for _, goroutines := range []int{1, 4} {
		for _, p := range logPeers {
			b.Run(strconv.Itoa(goroutines)+"g/"+p.name, func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
				h, finish := p.make(logFile(b), backlog.DefaultCapacity)
				logger := slog.New(h)
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				logRecords(logger, goroutines, b.N)
				if err := finish(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rec/s")
			})
		}
	}
}
