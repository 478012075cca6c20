package fuzz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/backlog/backlogtest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
)

// The operations of a decoded backlog program.
type blStep uint8

const (
	blLog        blStep = iota // Handle on the backlog itself
	blLogAttrs                 // Handle with two attributes of its own
	blLogWith                  // Handle through WithAttrs
	blLogGroup                 // Handle through WithGroup, then WithAttrs
	blLogTimeout               // Handle with a context already done
	blClose
	blSteps
)

var blStepNames = [blSteps]string{"log", "logAttrs", "logWith", "logGroup", "logTimeout", "close"}

// A blInput is a decoded backlog fuzz input: a configuration, clients,
// and steps in byte order, each with its client.
type blInput struct {
	cfg     backlogtest.Config
	hold    bool // the writer's io.Writer waits until a Close has begun
	clients int
	steps   []blStep
	client  []int
}

// decodeBacklog turns data into a program, deterministically; every byte
// string is a valid input. Byte 0 picks the capacity (1 to 4, bits 0-1),
// the drop policy (bit 2), a failing io.Writer (bit 3: byte 1 is then its
// limit, 1 to 511 bytes), the clients (1 to 4, bits 4-5) and a held
// writer (bit 6, which implies the drop policy, so that a sequential
// caller never waits for the held writer). Each byte after it, up to
// maxSteps, is one step: its low 3 bits the operation (6 and 7 are a
// log), the rest the client.
func decodeBacklog(data []byte) blInput {
	in := blInput{cfg: backlogtest.Config{Capacity: 1}, clients: 1}
	if len(data) > 0 {
		b := data[0]
		data = data[1:]
		in.cfg.Capacity = 1 + int(b&3)
		in.cfg.Drop = b&4 != 0
		in.clients = 1 + int(b>>4&3)
		in.hold = b&64 != 0
		in.cfg.Drop = in.cfg.Drop || in.hold
		if b&8 != 0 {
			in.cfg.FailAfter = 1
			if len(data) > 0 {
				in.cfg.FailAfter = 1 + 2*int(data[0])
				data = data[1:]
			}
		}
	}
	if len(data) > maxSteps {
		data = data[:maxSteps]
	}
	for _, b := range data {
		st := blStep(b & 7)
		if st >= blSteps {
			st = blLog
		}
		in.steps = append(in.steps, st)
		in.client = append(in.client, int(b>>3)%in.clients)
	}
	return in
}

// held is an io.Writer that waits, while held, until opened.
type held struct {
	*backlogtest.Output
	once sync.Once
	open chan struct{}
}

func (h *held) Write(p []byte) (int, error) {
	<-h.open
	return h.Output.Write(p)
}

// release opens the writer a moment after a Close has begun, so that the
// Close finds the records queued behind the held writer.
func (h *held) release() {
	h.once.Do(func() { time.AfterFunc(5*time.Millisecond, func() { close(h.open) }) })
}

// blHandlers derives the handlers a program logs through from h: the
// backlog itself, WithAttrs, and WithGroup then WithAttrs.
func blHandlers(h slog.Handler) [3]slog.Handler {
	return [3]slog.Handler{h, h.WithAttrs([]slog.Attr{slog.String("svc", "x y")}), h.WithGroup("g").WithAttrs([]slog.Attr{slog.Int("n", 7)})}
}

// blRecord is the record of step i: the scenario's record of ID i, with
// two attributes for logAttrs.
func blRecord(st blStep, i int) slog.Record {
	r := backlogtest.Record(i)
	if st == blLogAttrs {
		r.AddAttrs(slog.Bool("ok", true), slog.Group("in", slog.Float64("f", 1.5)))
	}
	return r
}

// blReplay runs in's steps one at a time, in byte order, on a fresh
// backlog of newB, beside model.BacklogRef and beside a synchronous
// slog.TextHandler given every accepted record: each Handle's outcome
// must be one the reference allows (a drop only where the input may
// drop), and, after the last step's Close, the backlog's output must be
// the TextHandler's bytes (a prefix of them, cut at the limit, with a
// failing writer), its Stats the reference's counts, and its Close's
// error there exactly when the accepted records' bytes pass the limit.
func blReplay(newB backlogtest.New, in blInput) error {
	out := &held{Output: backlogtest.NewOutput(in.cfg.FailAfter), open: make(chan struct{})}
	if !in.hold {
		close(out.open)
	}
	b := newB(out, in.cfg)
	var want bytes.Buffer
	hs, twins := blHandlers(b), blHandlers(slog.NewTextHandler(&want, nil))
	var ref model.BacklogRef
	done, cancel := context.WithCancel(context.Background())
	cancel()
	var closeErr error
	closeAll := func() {
		if in.hold {
			out.release()
		}
		closeErr = b.Close(context.Background())
	}
	for i, st := range append(in.steps, blClose) {
		if st == blClose {
			closeAll()
			ref.Closed = true
			continue
		}
		ctx, hi := context.Background(), 0
		switch st {
		case blLogWith:
			hi = 1
		case blLogGroup:
			hi = 2
		case blLogTimeout:
			ctx = done
		}
		r := blRecord(st, i)
		got := backlogtest.Outcome(hs[hi].Handle(ctx, r))
		// The bug: a record accepted after Close, refused while open, or
		// dropped where nothing may drop.
		mayDrop := in.cfg.Drop || st == blLogTimeout
		if (got == model.Dropped && !mayDrop) || (got == model.WriteFailed && in.cfg.FailAfter == 0) || !ref.Log(i, got) {
			return fmt.Errorf("step %d (%s): outcome %d, closed %v", i, blStepNames[st], got, ref.Closed)
		}
		if got == model.Accepted {
			if err := twins[hi].Handle(context.Background(), r); err != nil {
				return err
			}
		}
	}
	st := b.Stats()
	ids, err := out.IDs()
	if err != nil {
		return err
	}
	// The bug: records lost, doubled, reordered, miscounted, or a write
	// error swallowed.
	if err := ref.Check(ids, int(st.Failed), int(st.Dropped), int(st.Refused), in.cfg.FailAfter > 0); err != nil {
		return fmt.Errorf("after Close: %w", err)
	}
	if int(st.Written) != len(ids) {
		return fmt.Errorf("Stats.Written %d, but %d whole records written", st.Written, len(ids))
	}
	got, wantB := out.String(), want.String()
	over := in.cfg.FailAfter > 0 && len(wantB) > in.cfg.FailAfter
	if over {
		wantB = wantB[:in.cfg.FailAfter]
	}
	// The bug: bytes other than a synchronous TextHandler's for the same
	// records (attributes or groups lost), or a write error not reported.
	if got != wantB {
		return fmt.Errorf("output\n%q\nwant (slog.TextHandler's)\n%q", got, wantB)
	}
	if over != (closeErr != nil) || (closeErr != nil && !errors.Is(closeErr, backlogtest.ErrDiskFull)) {
		return fmt.Errorf("Close = %v with %d bytes for a limit of %d", closeErr, len(want.String()), in.cfg.FailAfter)
	}
	return nil
}

// blProgram builds the linearize program of in: client c runs its steps
// in order, as backlogtest.Ops steps (every log is a log: the scenario's
// records carry no attributes of their own).
func blProgram(in blInput) linearize.Program {
	ops := backlogtest.Ops(in.cfg)
	logOp, timeoutOp, closeOp := opIndex(ops, "log"), opIndex(ops, "logTimeout"), opIndex(ops, "close")
	p := make(linearize.Program, in.clients)
	for c := range p {
		p[c] = []linearize.Step{}
	}
	for i, st := range in.steps {
		op := logOp
		switch st {
		case blLogTimeout:
			op = timeoutOp
		case blClose:
			op = closeOp
		}
		input := model.BacklogInput{Op: model.BacklogClose, MayFail: in.cfg.FailAfter > 0}
		if op != closeOp {
			input = model.BacklogInput{Op: model.BacklogLog, ID: i, MayDrop: in.cfg.Drop || op == timeoutOp, MayFail: in.cfg.FailAfter > 0}
		}
		p[in.client[i]] = append(p[in.client[i]], linearize.Step{Op: op, Input: input})
	}
	return p
}

// blConcurrent runs in's program once, one goroutine per client, on a
// fresh backlog of newB, and checks the history against model.Backlog.
func blConcurrent(newB backlogtest.New, in blInput, chaosSeed uint64) error {
	sc := backlogtest.Scenario("backlog", in.cfg, newB)
	p := blProgram(in)
	res := sc.RunProgram(p, chaosSeed)
	// The bug: any concurrent history no sequential backlog could
	// produce: a record lost, doubled or out of its producer's order,
	// accepted after Close, miscounted; a call that never returns.
	if !res.Failed() {
		return nil
	}
	return fmt.Errorf("concurrent run failed: %w", sc.Failure(p, res, chaosSeed, 0))
}

// checkBacklog is the whole test of one input: sequential, then
// concurrent.
func checkBacklog(newB backlogtest.New, data []byte) error {
	in := decodeBacklog(data)
	if err := blReplay(newB, in); err != nil {
		return fmt.Errorf("sequential replay: %w", err)
	}
	return blConcurrent(newB, in, chaosSeed(data))
}

func FuzzBacklog(f *testing.F) {
	testdeadline.Guard(f, testdeadline.Default)
	f.Add([]byte{})
	f.Add([]byte{0x00, 0, 1, 2, 3, 4, 0, 5, 0})           // capacity 1, blocking: every kind of log, close, a log after it
	f.Add([]byte{0x34, 0, 8, 16, 24, 1, 9, 17, 25, 4})    // capacity 1, dropping, 4 clients
	f.Add([]byte{0x0b, 60, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1}) // capacity 4, failing at 121 bytes
	f.Add([]byte{0x41, 0, 0, 0, 0, 0, 5, 0})              // a held writer, capacity 2: drops, then Close drains
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkBacklog(backlogtest.NewBacklog, data); err != nil {
			t.Fatalf("input %q: %v", data, err)
		}
	})
}

// The checks of FuzzBacklog must be able to fail: each known-bad backlog
// (backlogtest.Simple) is handed an input that exposes it, and the
// failure is required.
func TestChecksCatchBrokenBacklogs(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, c := range []struct {
		bug  backlogtest.Bug
		data string
		want string
	}{
		// A held writer with 2 queued behind it when Close comes.
		{backlogtest.CloseDropsQueued, "\x41\x00\x00\x00\x05", "accepted"},
		{backlogtest.AcceptsAfterClose, "\x00\x00\x05\x00", "outcome 0, closed true"},
		{backlogtest.SwallowsWriteError, "\x08\x40\x00\x00\x00\x00", "accepted"},
		// A held writer, capacity 1: the third log finds it full.
		{backlogtest.DropUncounted, "\x40\x00\x00\x00\x00", "accepted"},
		// A held writer with 3 queued behind it, taken as one batch.
		{backlogtest.ReversesBatch, "\x42\x00\x00\x00\x00", "written is id"},
	} {
		t.Run(c.bug.String(), func(t *testing.T) {
			err := blReplay(backlogtest.Simple(c.bug), decodeBacklog([]byte(c.data)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("the sequential replay on input %q: %v; want a failure that says %q", c.data, err, c.want)
			}
			line, _, _ := strings.Cut(err.Error(), "\n")
			t.Logf("caught: %s", line)
			// The control: the same input passes on Simple with no bug
			// and on impl/backlog.
			for name, newB := range map[string]backlogtest.New{"simple": backlogtest.Simple(backlogtest.Correct), "impl/backlog": backlogtest.NewBacklog} {
				if err := checkBacklog(newB, []byte(c.data)); err != nil {
					t.Errorf("%s failed input %q: %v", name, c.data, err)
				}
			}
		})
	}
}
