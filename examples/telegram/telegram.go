package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/insideout-go/insideout/impl/mailbox"
)

// port is a connection between two stages: a bounded mailbox of
// information packets, each a *string that is never nil.
type port = mailbox.Mailbox[string]

// wrap packs the words read from r into lines of at most width runes and
// writes them to w, each followed by a newline, through the pipeline
// reader -> decomposer -> recomposer -> writer, whose stages are joined by
// mailboxes of the given capacity (see the package documentation). It
// returns once every stage has ended, with the stages' errors joined in
// pipeline order (a read error, then a write error), or nil. Width and
// capacity must be at least 1.
func wrap(r io.Reader, w io.Writer, width, capacity int) error {
	if width < 1 {
		return fmt.Errorf("width must be at least 1, got %d", width)
	}
	if capacity < 1 {
		return fmt.Errorf("capacity must be at least 1, got %d", capacity)
	}
	lines := mailbox.New[string](capacity) // reader -> decomposer
	words := mailbox.New[string](capacity) // decomposer -> recomposer
	out := mailbox.New[string](capacity)   // recomposer -> writer

	var (
		wg                sync.WaitGroup
		readErr, writeErr error
	)
	wg.Go(func() { readErr = reader(r, lines) })
	wg.Go(func() { decomposer(lines, words) })
	wg.Go(func() { recomposer(words, out, width) })
	wg.Go(func() { writeErr = writer(out, w) })
	wg.Wait()
	return errors.Join(readErr, writeErr)
}

// reader reads r line by line and sends each line to out. It ends at the
// end of r, at a read error, which it returns, or when out becomes
// unwritable because the stages after it have stopped; it then closes out
// for writing, so that the next stage drains it and ends.
func reader(r io.Reader, out *port) error {
	defer out.CloseWrite()
	br := bufio.NewReader(r)
	for {
		// A line keeps its newline; the decomposer treats it as the white
		// space it is. Lines do not split words: a newline byte is never
		// part of a multi-byte character, valid or not.
		line, err := br.ReadString('\n')
		if line != "" {
			if out.Send(&line) != nil {
				return nil // downstream has stopped; its error is its own
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading input: %w", err)
		}
	}
}

// decomposer receives lines from in and sends each of their words to out.
// It ends when in is exhausted or out becomes unwritable, and closes in
// for reading (telling the reader to stop, if it has not) and out for
// writing (telling the recomposer that no more words will come).
func decomposer(in, out *port) {
	defer out.CloseWrite()
	defer in.CloseRead()
	for line := range in.All() {
		for word := range strings.FieldsSeq(*line) {
			if out.Send(&word) != nil {
				return
			}
		}
	}
}

// recomposer receives words from in and packs them greedily into lines of
// at most width runes, words separated by one space, sending each line to
// out when the next word does not fit on it, and the last line when in is
// exhausted. A word longer than width is sent as a line of its own. It
// closes in for reading and out for writing when it ends.
func recomposer(in, out *port, width int) {
	defer out.CloseWrite()
	defer in.CloseRead()
	var (
		line strings.Builder
		n    int // runes in line
	)
	// flush sends the line and starts an empty one; it reports whether
	// out took it.
	flush := func() bool {
		s := line.String()
		line.Reset()
		n = 0
		return out.Send(&s) == nil
	}
	for word := range in.All() {
		wn := utf8.RuneCountInString(*word)
		if n > 0 && n+1+wn > width {
			if !flush() {
				return
			}
		}
		if n > 0 {
			line.WriteByte(' ')
			n++
		}
		// An empty line takes any word, even one longer than width: it
		// then stands alone, since nothing more fits after it.
		line.WriteString(*word)
		n += wn
	}
	if n > 0 {
		flush()
	}
}

// writer receives lines from in and writes each to w, followed by a
// newline, through a buffer that it flushes when in is exhausted. At a
// write error it closes in for reading, which stops the stages before it
// one after another, and returns the error.
func writer(in *port, w io.Writer) error {
	defer in.CloseRead()
	bw := bufio.NewWriter(w)
	for line := range in.All() {
		bw.WriteString(*line)
		if err := bw.WriteByte('\n'); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}
