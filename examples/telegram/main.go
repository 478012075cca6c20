// Command telegram solves Peter Naur's telegram problem as a flow-based
// pipeline of runtimes joined by bounded mailboxes.
//
// # The problem
//
// Read lines of text and write them again as lines that hold as many words
// as possible, each line at most a given width: words are never split, and
// the words of a line are separated by single spaces. Naur posed it in 1969
// as an exercise in program structure; in flow-based programming it is the
// classic example of two complementary pairs of components, because the
// input is organised in lines and the output in lines, but the two line
// structures have nothing to do with each other, and the one thing they
// share is the stream of words between them.
//
// # The pipeline
//
//	reader -> decomposer -> recomposer -> writer
//
// Each stage runs on a runtime of its own (package impl/rt), named
// telegram-reader, telegram-decomposer and so on. The reader reads the
// input and sends each line; the decomposer cuts each line into words;
// the recomposer packs the words into output lines; the writer writes
// each line, followed by a newline. Stages are joined by mailboxes
// (package impl/mailbox) that carry *string, the information packets of
// flow-based programming, moved by pointer and never copied.
//
// # Steps
//
// A stage is a continuation (package impl/cont): a step that handles one
// unit of work (the reader reads and sends one line, the decomposer
// receives one line and sends its words, the recomposer receives one word
// and sends the line it ends, if it ends one, the writer receives and
// writes one line), and that its runtime runs again and again until it
// returns nil. What a stage must remember from one step to the next (the
// line it is packing, a line it has not sent yet) lives in the closure of
// its step.
//
// Between two steps is the runtime's cooperative point, the only place
// where it can be halted, frozen or interrupted. So a step never waits
// blind: it sends and receives with SendContext and RecvContext and the
// context its runtime gave it, which the runtime ends when it wants the
// step back. The wait then returns early, and the step returns c.Next(),
// yielding: the runtime reaches its cooperative point and does what it was
// told, and if it goes on, the next step sends what the last one could
// not. A step that waited without its context could keep its runtime from
// ever halting, and so hang the whole pipeline.
//
// # Backpressure
//
// The mailboxes are bounded (-cap items each, 4 by default). A stage that
// runs ahead of its consumer finds its output mailbox full and sleeps in
// SendContext until the consumer has taken an item; so the slowest stage sets the
// pace of the whole pipeline, and the text held in flight is bounded by
// the capacities, not by the size of the input: a reader never reads more
// than a few lines ahead of the writer.
//
// # Ending
//
// When the input is exhausted the reader closes its output mailbox for
// writing and finishes; the decomposer drains it, sees it unreadable, and
// closes its own output; and so on down the pipeline, until the writer has
// written the last line. A stage that stops early goes the other way: it
// closes its input mailbox for reading, so that the stage before it finds
// its output unwritable, stops, and closes its own input in turn. A write
// error therefore stops the reader within a few lines. A read error ends
// the input early: what was read before it is still wrapped and written,
// and the error is reported. Every stage closes both of its mailboxes when
// it finishes, whatever the reason, so no stage is ever left waiting.
//
// # Failure
//
// Each stage's runtime is linked to the runtimes of the stages beside it,
// reader to decomposer to recomposer to writer. A step that panics does
// not crash the process: its runtime catches the panic, halts with it as
// its error, and halts the runtimes linked to it, which halt theirs in
// turn, so that the whole pipeline stops, in both directions, with nothing
// left waiting on a mailbox that no one will ever serve again (the step
// that failed closed none). Each stage halted so reports the failure of
// its neighbour, and the command reports the panic, under the name of the
// stage whose step it came from, and exits with status 1. What the
// writer had buffered then is not written. Reading the input is the one
// wait that takes no context: a reader asleep in a Read of a terminal
// stops only once the Read returns.
//
// A link halts the other runtime whenever either runtime ends, a
// continuation that finished included; so a stage unlinks itself from its
// neighbours in its last step, and its finishing stops no one.
//
// # Words and width
//
// A word is a maximal run of characters that are not white space in the
// sense of unicode.IsSpace (spaces, tabs, newlines, carriage returns, the
// no-break space and the other Unicode spaces). The width counts runes
// (Unicode code points), not bytes and not display columns: "naïve" is 5
// long, a wide CJK character counts 1, and a combining accent counts 1 of
// its own; a byte that is not valid UTF-8 counts 1. Lines are packed
// greedily: a word goes on the current line if it fits there with one
// space before it, and starts a new line otherwise. The output has no
// empty lines and no leading or trailing spaces, and empty input, or input
// of white space only, gives empty output.
//
// # Words longer than the width
//
// A telegram never splits a word. A word longer than the width is written
// alone on a line of its own, whole, and that line is then longer than the
// width; the words before it end the line before, and the words after it
// start a new line. This is the only case in which a line exceeds the
// width.
//
// # Usage
//
//	telegram [-width N] [-cap N] [file]
//
// It reads the file, or standard input when no file or "-" is named, and
// writes to standard output. -width (default 72) and -cap (default 4)
// must be at least 1. A bad flag or argument exits with status 2; an
// unreadable file, a read or write error, or the failure of a stage is
// reported on standard error and exits with status 1.
//
// Memory is bounded by the capacities times the longest input line (a
// line is read whole before it is sent) and the longest word.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// main runs the command with the process's arguments and streams, and
// exits with run's status.
func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole command apart from the process: it parses args (the
// arguments without the program name), wraps the named file or stdin onto
// stdout, reports problems on stderr, and returns the exit status: 0 on
// success (and for -h), 2 for a usage error, 1 for an input or output
// error.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("telegram", flag.ContinueOnError)
	fs.SetOutput(stderr)
	width := fs.Int("width", 72, "the widest line, `N` runes; a longer word gets a line of its own")
	capacity := fs.Int("cap", 4, "the capacity of each mailbox between stages, `N` items")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: telegram [-width N] [-cap N] [file]\n\n"+
			"Packs the words of file (or standard input) into lines of at most N runes.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // the flag package has printed the error and the usage
	}
	switch {
	case *width < 1:
		return usageError(fs, "-width must be at least 1, got %d", *width)
	case *capacity < 1:
		return usageError(fs, "-cap must be at least 1, got %d", *capacity)
	case fs.NArg() > 1:
		return usageError(fs, "at most one file, got %d arguments", fs.NArg())
	}

	in := stdin
	if name := fs.Arg(0); name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "telegram: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	if err := wrap(in, stdout, *width, *capacity); err != nil {
		fmt.Fprintf(stderr, "telegram: %v\n", err)
		return 1
	}
	return 0
}

// usageError reports a bad flag or argument on fs's output, followed by
// the usage, and returns the exit status of a usage error, 2.
func usageError(fs *flag.FlagSet, format string, a ...any) int {
	fmt.Fprintf(fs.Output(), "telegram: "+format+"\n", a...)
	fs.Usage()
	return 2
}
