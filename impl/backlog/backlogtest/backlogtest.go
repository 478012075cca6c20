// Package backlogtest checks implementations of spec.Backlog, such as
// impl/backlog's: the linearizability scenario that `insideout verify`,
// the tests, the fuzz target and the stress suite run, the io.Writer they
// write to (one that can fail), and the known-bad backlogs that every
// check must be shown to catch.
package backlogtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/insideout-go/insideout/impl/backlog"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Config is what a backlog under test is built with.
type Config struct {
	Capacity int  // the mailbox's capacity
	Drop     bool // DropWhenFull rather than Block
	// FailAfter, if positive, makes the Output fail once it holds that
	// many bytes (a full disk): the write that crosses it writes what fits
	// and returns ErrDiskFull, and so does every write after it.
	FailAfter int
}

// New builds a backlog writing to w with c.
type New func(w io.Writer, c Config) spec.Backlog

// NewBacklog builds impl/backlog's backlog.
func NewBacklog(w io.Writer, c Config) spec.Backlog {
	opts := []backlog.Option{backlog.Capacity(c.Capacity)}
	if c.Drop {
		opts = append(opts, backlog.DropWhenFull())
	}
	h, err := backlog.New(w, opts...)
	if err != nil {
		panic(err)
	}
	return h
}

// ErrDiskFull is the error of an Output past its FailAfter.
var ErrDiskFull = errors.New("backlogtest: disk full")

// Output is the io.Writer of a backlog under test: it keeps what it is
// given, up to a limit if it has one. It locks through impl/seam, so
// that a controlled schedule can interleave a read of it with the writer.
type Output struct {
	mu    seam.Mutex
	limit int // 0: none
	buf   []byte
}

// NewOutput returns an Output that fails past failAfter bytes (if
// positive).
func NewOutput(failAfter int) *Output { return &Output{limit: failAfter} }

// Write keeps p, or, past the limit, what fits of it, and fails.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.limit > 0 && len(o.buf)+len(p) > o.limit {
		n := max(o.limit-len(o.buf), 0)
		o.buf = append(o.buf, p[:n]...)
		return n, ErrDiskFull
	}
	o.buf = append(o.buf, p...)
	return len(p), nil
}

// String returns what the Output holds.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.buf)
}

// IDs returns the id attribute (in a group or not) of every whole record
// (line) the Output holds, in order; a line without one is an error.
func (o *Output) IDs() ([]int, error) {
	var ids []int
	for line := range strings.Lines(o.String()) {
		if !strings.HasSuffix(line, "\n") {
			break // a record written in part: counted Failed
		}
		id := -1
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			if k == "id" || strings.HasSuffix(k, ".id") {
				if n, err := strconv.Atoi(v); err == nil {
					id = n
				}
			}
		}
		if id < 0 {
			return ids, fmt.Errorf("backlogtest: a line without an id: %q", line)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Logged is the system under test of the scenario: a backlog, its
// Output, and, for each ID logged, the cell where Result puts the index
// of its record among the Output's (the model's BacklogOutput.Pos).
type Logged struct {
	B   spec.Backlog
	Out *Output
	cfg Config
	mu  seam.Mutex
	pos map[int]*int
}

// NewLogged builds a backlog with newB and c over a fresh Output.
func NewLogged(newB New, c Config) *Logged {
	out := NewOutput(c.FailAfter)
	return &Logged{B: newB(out, c), Out: out, cfg: c, pos: map[int]*int{}}
}

// cell returns the position cell of id, -1 until Result finds its record.
func (l *Logged) cell(id int) *int {
	p := new(int)
	*p = -1
	l.mu.Lock()
	l.pos[id] = p
	l.mu.Unlock()
	return p
}

// at is the time of every record: the Output's bytes do not depend on
// when a record was made.
var at = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Record returns the record the scenario logs with id.
func Record(id int) slog.Record {
	r := slog.NewRecord(at, slog.LevelInfo, "rec", 0)
	r.AddAttrs(slog.Int("id", id))
	return r
}

// ctxTimeout is how long a Log with a time-out waits for room (virtual
// under the controlled scheduler).
const ctxTimeout = 2 * time.Millisecond

// Outcome maps what a Handle returned to the model's outcome; an error no
// rule allows panics, for the harness to report.
func Outcome(err error) model.BacklogOutcome {
	switch {
	case err == nil:
		return model.Accepted
	case errors.Is(err, spec.ErrBacklogFull):
		return model.Dropped
	case errors.Is(err, spec.ErrBacklogClosed):
		return model.Refused
	case errors.Is(err, spec.ErrBacklogWrite):
		return model.WriteFailed
	}
	panic(fmt.Sprintf("backlogtest: Handle: unexpected error %v", err))
}

// Log hands the record of in.ID to l's backlog, with a time-out if
// timeout.
func Log(l *Logged, in model.BacklogInput, timeout bool) model.BacklogOutput {
	ctx := context.Background()
	if timeout {
		c, cancel := seam.WithTimeout(ctx, ctxTimeout)
		defer cancel()
		ctx = c
	}
	p := l.cell(in.ID)
	return model.BacklogOutput{Outcome: Outcome(l.B.Handle(ctx, Record(in.ID))), Pos: p}
}

// Close closes l's backlog.
func Close(l *Logged) model.BacklogOutput {
	err := l.B.Close(context.Background())
	if err != nil && !errors.Is(err, spec.ErrBacklogWrite) {
		panic(fmt.Sprintf("backlogtest: Close: unexpected error %v", err))
	}
	return model.BacklogOutput{Err: err != nil}
}

// Result reads, after a Close, what l's Output holds and the Stats, and
// fills in the Pos of every Log whose record it finds: the index of the
// record among the Output's whole records. A record found twice, or with
// an ID no Log handed in, is Stray.
func Result(l *Logged) model.BacklogOutput {
	ids, err := l.Out.IDs()
	if err != nil {
		panic(err)
	}
	st := l.B.Stats()
	out := model.BacklogOutput{Written: len(ids), Failed: int(st.Failed), Dropped: int(st.Dropped), Refused: int(st.Refused)}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, id := range ids {
		if p := l.pos[id]; p != nil && *p < 0 {
			*p = i
		} else {
			out.Stray++
		}
	}
	return out
}

// Ops are the scenario's operations for a backlog built with c: log,
// log with a time-out, and close.
func Ops(c Config) []linearize.Op[*Logged, model.BacklogInput, model.BacklogOutput] {
	input := func(drop bool) func(g *linearize.Gen) model.BacklogInput {
		return func(g *linearize.Gen) model.BacklogInput {
			return model.BacklogInput{Op: model.BacklogLog, ID: g.Unique(), MayDrop: c.Drop || drop, MayFail: c.FailAfter > 0}
		}
	}
	return []linearize.Op[*Logged, model.BacklogInput, model.BacklogOutput]{
		{Name: "log", Weight: 8, Input: input(false),
			Run: func(l *Logged, in model.BacklogInput) model.BacklogOutput { return Log(l, in, false) }},
		{Name: "logTimeout", Weight: 2, Input: input(true),
			Run: func(l *Logged, in model.BacklogInput) model.BacklogOutput { return Log(l, in, true) }},
		{Name: "close", Weight: 1,
			Input: func(*linearize.Gen) model.BacklogInput {
				return model.BacklogInput{Op: model.BacklogClose, MayFail: c.FailAfter > 0}
			},
			Run: func(l *Logged, _ model.BacklogInput) model.BacklogOutput { return Close(l) }},
	}
}

// Finally closes the backlog, once every client has returned, and records
// what it wrote: every accepted record exactly once, in order.
func Finally(l *Logged, c linearize.Caller[model.BacklogInput, model.BacklogOutput]) {
	mayFail := l.cfg.FailAfter > 0
	c.Do(model.BacklogInput{Op: model.BacklogClose, MayFail: mayFail}, func() model.BacklogOutput { return Close(l) })
	c.Do(model.BacklogInput{Op: model.BacklogResult, MayFail: mayFail}, func() model.BacklogOutput { return Result(l) })
}

// Unblock stops, after a hang is reported, a known-bad backlog whose
// callers or writer wait for good.
func Unblock(l *Logged) {
	if u, ok := l.B.(interface{ Unblock() }); ok {
		u.Unblock()
	}
}

// Scenario returns the linearizability scenario for any spec.Backlog that
// newB builds with c: clients log (some with a time-out) and close at
// once; each round ends with a Close and the Result (Finally). Set
// Clients, OpsPerClient, Rounds and Seed to taste.
func Scenario(name string, c Config, newB New) linearize.Scenario[*Logged, model.BacklogInput, model.BacklogOutput] {
	return linearize.Scenario[*Logged, model.BacklogInput, model.BacklogOutput]{
		Name:         name,
		Model:        linearize.Porcupine[model.BacklogInput, model.BacklogOutput](model.Backlog()),
		New:          func() *Logged { return NewLogged(newB, c) },
		Ops:          Ops(c),
		Clients:      4,
		OpsPerClient: 6,
		Finally:      Finally,
		Unblock:      Unblock,
	}
}

// Configs are the scenario's configurations, by name: a mailbox of 2
// that blocks, one of 1 that drops, and a blocking one whose Output fails
// part way through a round.
func Configs() map[string]Config {
	return map[string]Config{
		"block": {Capacity: 2},
		"drop":  {Capacity: 1, Drop: true},
		"fail":  {Capacity: 2, FailAfter: failBytes},
	}
}

// failBytes is where the failing Output fails: inside the third record
// (each is some 55 bytes), so that a round of two clients of three calls
// reaches it too.
const failBytes = 140
