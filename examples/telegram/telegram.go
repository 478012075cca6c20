package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/mailbox"
	"github.com/insideout-go/insideout/impl/rt"
)

// port is a connection between two stages: a bounded mailbox of
// information packets, each a *string that is never nil.
type port = mailbox.Mailbox[string]

// wrap packs the words read from r into lines of at most width runes and
// writes them to w, each followed by a newline, through the pipeline
// reader -> decomposer -> recomposer -> writer, whose stages run on
// runtimes of their own and are joined by mailboxes of the given capacity
// (see the package documentation). It returns once every stage's runtime
// is Dead, with the stages' errors joined in pipeline order (a read error,
// then a write error, and the failure of a stage whose step panicked), or
// nil. Width and capacity must be at least 1.
func wrap(r io.Reader, w io.Writer, width, capacity int) error {
	if width < 1 {
		return fmt.Errorf("width must be at least 1, got %d", width)
	}
	if capacity < 1 {
		return fmt.Errorf("capacity must be at least 1, got %d", capacity)
	}
	p := newPipeline(r, w, width, capacity)
	if err := p.start(); err != nil {
		return err
	}
	return p.wait()
}

// A stage is one stage of the pipeline: a continuation (package
// impl/cont) whose every step handles one unit of work, run by a runtime
// of its own (package impl/rt).
//
// The contract of a step, which all four stages keep: a step waits only
// in context-aware waits (a mailbox's SendContext and RecvContext) with
// the ctx the runtime gave it. The runtime ends that ctx when it wants the
// step back, to halt, freeze or interrupt the stage; the wait then
// returns, and the step returns c.Next(), keeping in the stage's state
// whatever it has not sent yet, for the next step to pick up. Between two
// steps is the runtime's cooperative point, the only place where a halt
// or a freeze takes effect: a step that went on waiting would keep the
// runtime, and with it the whole pipeline, from ever getting there.
type stage struct {
	name string    // "reader", ...; its runtime is named telegram-<name>
	step cont.Step // the continuation's step: the same one, step after step

	r     *rt.Runtime   // the stage's runtime, once started
	links []*rt.Runtime // the runtimes of the stages beside it, linked to r

	// Set by the stage's last step; read once its runtime is Dead.
	finished bool  // the stage did all its work and called done
	err      error // its own error: a read or write error, or nil
}

// done finishes the stage with its own error err (nil if it has none),
// and returns the nil Step that ends its continuation: a stage's last
// step returns s.done(err), once it has closed its mailboxes.
//
// First it unlinks the stage's runtime from its neighbours. A link halts
// the other runtime when either tears down, whatever the reason, a
// continuation that finished included; a stage that has done its work
// must not halt the stages after it, which still have theirs to do. So
// the links hold only while both stages work, and serve one purpose: to
// stop the pipeline when a stage fails (see pipeline.start).
func (s *stage) done(err error) cont.Step {
	for _, peer := range s.links {
		s.r.Unlink(peer)
	}
	s.finished, s.err = true, err
	return nil
}

// closed reports whether err, from a mailbox's SendContext or
// RecvContext, means that the mailbox is closed for good: the stage on
// the other side of it has finished, or all its items have been received.
// The other errors mean that the step's ctx has ended: the step must
// yield, returning c.Next().
func closed(err error) bool {
	return errors.Is(err, mailbox.ErrUnwritable) || errors.Is(err, mailbox.ErrUnreadable)
}

// A pipeline is a row of stages, each feeding the next through a mailbox.
type pipeline []*stage

// newPipeline returns the stages of wrap, joined by their mailboxes, not
// yet started.
func newPipeline(r io.Reader, w io.Writer, width, capacity int) pipeline {
	lines := mailbox.New[string](capacity) // reader -> decomposer
	words := mailbox.New[string](capacity) // decomposer -> recomposer
	out := mailbox.New[string](capacity)   // recomposer -> writer

	rd := &stage{name: "reader"}
	dc := &stage{name: "decomposer"}
	rc := &stage{name: "recomposer"}
	wr := &stage{name: "writer"}
	rd.step = reader(r, lines, rd.done)
	dc.step = decomposer(lines, words, dc.done)
	rc.step = recomposer(words, out, width, rc.done)
	wr.step = writer(out, w, wr.done)
	return pipeline{rd, dc, rc, wr}
}

// start spawns a runtime for each stage, named telegram-<stage>, linked
// to the runtime of the stage before it, so that the runtimes form a
// chain. When a step panics, its runtime halts with the panic as its
// error (rt.ErrPanicked), and its teardown halts the runtimes linked to
// it, each of which reports rt.ErrLinkedFailure and halts the next in
// turn: one failure stops the whole pipeline, in both directions, and no
// stage is left waiting for a neighbour that will never send or receive
// again.
//
// The runtimes start frozen, so that no step runs before the chain is
// complete and every stage knows its links; start then thaws them all.
func (p pipeline) start() error {
	for i, s := range p {
		opts := []rt.Option{rt.Name("telegram-" + s.name), rt.StartFrozen()}
		if i > 0 {
			opts = append(opts, rt.LinkTo(p[i-1].r))
		}
		r, err := rt.Spawn(cont.New(s.step), opts...)
		if err != nil {
			// No step has run: halt the runtimes spawned so far.
			for _, s := range p[:i] {
				s.r.Halt()
				s.r.Join()
			}
			return fmt.Errorf("starting the %s: %w", s.name, err)
		}
		s.r = r
		if i > 0 {
			prev := p[i-1]
			prev.links = append(prev.links, r)
			s.links = append(s.links, prev.r)
		}
	}
	for _, s := range p {
		s.r.Thaw()
	}
	return nil
}

// wait waits until every stage's runtime is Dead and returns the
// pipeline's errors, joined in pipeline order: each stage's own error (a
// read error, a write error), and the failure of a stage whose step
// panicked, under its runtime's name. The stages that a failure halted
// through the links report rt.ErrLinkedFailure wrapping it; wait leaves
// those out, since the stage that failed reports the cause itself.
func (p pipeline) wait() error {
	var errs []error
	for _, s := range p {
		failure := s.r.Join()
		errs = append(errs, s.err)
		switch {
		case errors.Is(failure, rt.ErrLinkedFailure):
			// Halted by another stage's failure, which that stage reports.
		case errors.Is(failure, rt.ErrPanicked):
			errs = append(errs, failure) // it names the runtime
		case failure != nil:
			errs = append(errs, fmt.Errorf("%v: %w", s.r, failure))
		case !s.finished:
			// Halted, but not by a failure: its work is not done.
			errs = append(errs, fmt.Errorf("%v: halted before it finished", s.r))
		}
	}
	return errors.Join(errs...)
}

// reader returns the step of the stage that reads r line by line and
// sends each line to out: each step reads one line and sends it. The
// stage finishes at the end of r, at a read error, which is its own
// error, or when out becomes unwritable because the stages after it have
// stopped; it then closes out for writing, so that the next stage drains
// it and finishes too.
//
// Reading is not a context-aware wait: a halt reaches a reader asleep in
// r's Read only once the Read returns.
func reader(r io.Reader, out *port, done func(error) cont.Step) cont.Step {
	br := bufio.NewReader(r)
	var (
		line *string // read, and not sent yet
		end  error   // what came with the last line: io.EOF at the end of r, or a read error
	)
	finish := func(err error) cont.Step {
		out.CloseWrite()
		return done(err)
	}
	return func(ctx context.Context, c *cont.C) cont.Step {
		if line == nil && end == nil {
			// A line keeps its newline; the decomposer treats it as the
			// white space it is. Lines do not split words: a newline byte
			// is never part of a multi-byte character, valid or not.
			s, err := br.ReadString('\n')
			if s != "" {
				line = &s
			}
			end = err
		}
		if line != nil {
			switch err := out.SendContext(ctx, line); {
			case err == nil:
				line = nil
			case closed(err):
				return finish(nil) // downstream has stopped; its error is its own
			default:
				return c.Next() // ctx ended: yield; the next step sends line
			}
		}
		switch {
		case end == nil:
			return c.Next()
		case errors.Is(end, io.EOF):
			return finish(nil)
		default:
			return finish(fmt.Errorf("reading input: %w", end))
		}
	}
}

// decomposer returns the step of the stage that receives lines from in
// and sends each of their words to out: each step receives one line and
// sends its words. The stage finishes when in is exhausted or out becomes
// unwritable, and closes in for reading (telling the reader to stop, if
// it has not) and out for writing (telling the recomposer that no more
// words will come).
func decomposer(in, out *port, done func(error) cont.Step) cont.Step {
	var words []string // of the last line received, not sent yet
	finish := func() cont.Step {
		in.CloseRead()
		out.CloseWrite()
		return done(nil)
	}
	return func(ctx context.Context, c *cont.C) cont.Step {
		if len(words) == 0 {
			line, err := in.RecvContext(ctx)
			switch {
			case closed(err):
				return finish()
			case err != nil:
				return c.Next() // ctx ended: yield
			}
			words = strings.Fields(*line)
		}
		for len(words) > 0 {
			switch err := out.SendContext(ctx, &words[0]); {
			case err == nil:
				words = words[1:]
			case closed(err):
				return finish()
			default:
				return c.Next() // ctx ended: yield; the next step sends the rest
			}
		}
		return c.Next()
	}
}

// recomposer returns the step of the stage that receives words from in
// and packs them greedily into lines of at most width runes, words
// separated by one space, sending each line to out when the next word
// does not fit on it, and the last line when in is exhausted: each step
// receives one word and, if that ends a line, sends the line. A word
// longer than width is sent as a line of its own. The stage closes in for
// reading and out for writing when it finishes.
func recomposer(in, out *port, width int, done func(error) cont.Step) cont.Step {
	var (
		line strings.Builder
		n    int     // runes in line
		full *string // a line ended, and not sent yet
	)
	// end ends the line: it becomes full, and an empty one starts.
	end := func() {
		s := line.String()
		full = &s
		line.Reset()
		n = 0
	}
	finish := func() cont.Step {
		in.CloseRead()
		out.CloseWrite()
		return done(nil)
	}
	return func(ctx context.Context, c *cont.C) cont.Step {
		if full == nil {
			word, err := in.RecvContext(ctx)
			switch {
			case closed(err) && n == 0:
				return finish()
			case closed(err):
				end() // the last line: sent now, and the next step finishes
			case err != nil:
				return c.Next() // ctx ended: yield
			default:
				wn := utf8.RuneCountInString(*word)
				if n > 0 && n+1+wn > width {
					end()
				}
				if n > 0 {
					line.WriteByte(' ')
					n++
				}
				// An empty line takes any word, even one longer than
				// width: it then stands alone, since nothing more fits
				// after it.
				line.WriteString(*word)
				n += wn
			}
		}
		if full != nil {
			switch err := out.SendContext(ctx, full); {
			case err == nil:
				full = nil
			case closed(err):
				return finish()
			default:
				return c.Next() // ctx ended: yield; the next step sends full
			}
		}
		return c.Next()
	}
}

// writer returns the step of the stage that receives lines from in and
// writes each to w, followed by a newline, through a buffer that it
// flushes when in is exhausted: each step receives and writes one line.
// At a write error, its own error, the stage closes in for reading, which
// stops the stages before it one after another, and finishes.
func writer(in *port, w io.Writer, done func(error) cont.Step) cont.Step {
	bw := bufio.NewWriter(w)
	finish := func(err error) cont.Step {
		in.CloseRead()
		if err != nil {
			err = fmt.Errorf("writing output: %w", err)
		}
		return done(err)
	}
	return func(ctx context.Context, c *cont.C) cont.Step {
		line, err := in.RecvContext(ctx)
		switch {
		case closed(err):
			return finish(bw.Flush())
		case err != nil:
			return c.Next() // ctx ended: yield
		}
		bw.WriteString(*line)
		if err := bw.WriteByte('\n'); err != nil {
			return finish(err)
		}
		return c.Next()
	}
}
