package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// TestMain fails the run if any test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var update = flag.Bool("update", false, "rewrite the golden files from the reference")

// reference is the sequential word wrap the pipeline must agree with, as
// plain as it can be: the words are strings.Fields of the whole text, and
// each word goes on the current line if the line with it, joined by single
// spaces, is at most width runes long, or starts the next line otherwise.
// A line that is empty takes any word, so a word longer than width stands
// alone on its line.
func reference(text string, width int) string {
	var (
		out  strings.Builder
		line []string
	)
	for _, word := range strings.Fields(text) {
		candidate := strings.Join(append(line[:len(line):len(line)], word), " ")
		if len(line) > 0 && len([]rune(candidate)) > width {
			out.WriteString(strings.Join(line, " ") + "\n")
			line = nil
		}
		line = append(line, word)
	}
	if len(line) > 0 {
		out.WriteString(strings.Join(line, " ") + "\n")
	}
	return out.String()
}

// fataler is what the helpers need of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// deadline bounds every call of wrap in these tests: a pipeline that
// hangs fails the test instead of the whole run.
const deadline = 30 * time.Second

// wrapWithin runs wrap and returns its output and error, failing t if it
// does not return within deadline.
func wrapWithin(t fataler, r io.Reader, w io.Writer, width, capacity int) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- wrap(r, w, width, capacity) }()
	select {
	case err := <-done:
		return err
	case <-time.After(deadline):
		t.Fatalf("wrap(width %d, capacity %d) did not return within %v", width, capacity, deadline)
		return nil
	}
}

// The pieces of generated text: word characters (letters of several
// scripts, digits, punctuation, a combining accent, an emoji, and bytes
// that are not valid UTF-8) and white space of every kind that
// unicode.IsSpace knows about, in runs.
var (
	wordPieces = []string{
		"a", "b", "e", "x", "Z", "0", "9", ".", ",", "!", "'", "-", "é", "ü", "ß",
		"ж", "Ω", "日", "本", "語", "テ", "😀", "\u0301", "\xff", "\xc3",
	}
	spaces = []string{" ", "  ", "\t", "\n", "\r\n", "\v", "\f", "\u0085", "\u00a0", "\u2028", "\u3000"}
)

// genWord draws a word: a run of word pieces, sometimes longer than the
// widest width drawn.
func genWord() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		n := rapid.OneOf(rapid.IntRange(1, 8), rapid.IntRange(1, 130)).Draw(t, "runes")
		var b strings.Builder
		for range n {
			b.WriteString(rapid.SampledFrom(wordPieces).Draw(t, "piece"))
		}
		return b.String()
	})
}

// genText draws a text: words and runs of white space in any order, so
// that it may be empty, white space only, begin or end with either, and
// hold several spaces, tabs and newlines in a row.
func genText() *rapid.Generator[string] {
	space := rapid.Custom(func(t *rapid.T) string {
		return strings.Join(rapid.SliceOfN(rapid.SampledFrom(spaces), 1, 4).Draw(t, "spaces"), "")
	})
	return rapid.Custom(func(t *rapid.T) string {
		return strings.Join(rapid.SliceOf(rapid.OneOf(genWord(), space)).Draw(t, "tokens"), "")
	})
}

// genReader draws a way of handing text to the pipeline: whole, one byte
// per read, half of each read, or with io.EOF on the last data.
func genReader(t *rapid.T, text string) io.Reader {
	r := strings.NewReader(text)
	switch rapid.IntRange(0, 3).Draw(t, "reader") {
	case 1:
		return iotest.OneByteReader(r)
	case 2:
		return iotest.HalfReader(r)
	case 3:
		return iotest.DataErrReader(r)
	}
	return r
}

// The pipeline writes exactly what the sequential reference writes, for
// any text, width and capacity.
func TestWrapMatchesReference(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		text := genText().Draw(t, "text")
		width := rapid.IntRange(1, 100).Draw(t, "width")
		capacity := rapid.IntRange(1, 8).Draw(t, "capacity")
		var out strings.Builder
		if err := wrapWithin(t, genReader(t, text), &out, width, capacity); err != nil {
			t.Fatalf("wrap: %v", err)
		}
		if want := reference(text, width); out.String() != want {
			t.Fatalf("width %d, capacity %d:\ninput %q\ngot  %q\nwant %q", width, capacity, text, out.String(), want)
		}
	})
}

// The output keeps the words in order, each line is at most width runes
// unless it is one word longer than that, words are parted by single
// spaces, and the packing is greedy: the first word of each line would not
// have fitted on the line before. These are checked on the output alone,
// without the reference.
func TestWrapLineProperties(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	rapid.Check(t, func(t *rapid.T) {
		text := genText().Draw(t, "text")
		width := rapid.IntRange(1, 100).Draw(t, "width")
		capacity := rapid.IntRange(1, 8).Draw(t, "capacity")
		var out strings.Builder
		if err := wrapWithin(t, genReader(t, text), &out, width, capacity); err != nil {
			t.Fatalf("wrap: %v", err)
		}
		checkLines(t, text, out.String(), width)
	})
}

// checkLines checks the properties of TestWrapLineProperties of the
// output got for input text at width.
func checkLines(t fataler, text, got string, width int) {
	t.Helper()
	want := strings.Fields(text)
	if len(want) == 0 {
		if got != "" {
			t.Fatalf("no words in %q, but output %q", text, got)
		}
		return
	}
	if !strings.HasSuffix(got, "\n") {
		t.Fatalf("output %q does not end with a newline", got)
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	var words []string
	for i, line := range lines {
		ws := strings.Split(line, " ")
		for _, w := range ws {
			if w == "" || strings.ContainsFunc(w, isSpace) {
				t.Fatalf("line %d %q: empty word, white space other than single spaces between words", i, line)
			}
		}
		words = append(words, ws...)
		n := len([]rune(line))
		if n > width && len(ws) > 1 {
			t.Fatalf("line %d %q: %d runes, more than width %d, and not a single word", i, line, n, width)
		}
		if i > 0 {
			prev := len([]rune(lines[i-1]))
			if first := len([]rune(ws[0])); prev+1+first <= width {
				t.Fatalf("line %d: its first word %q would have fitted on line %d %q (width %d)", i, ws[0], i-1, lines[i-1], width)
			}
		}
	}
	if strings.Join(words, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("words not preserved:\ngot  %q\nwant %q", words, want)
	}
}

// isSpace reports whether r is white space as strings.Fields sees it.
func isSpace(r rune) bool { return len(strings.Fields(string(r))) == 0 }

// Hand-checked cases, for the reference and the pipeline alike.
func TestWrapExamples(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	cases := []struct {
		text  string
		width int
		want  string
	}{
		{"", 10, ""},
		{" \t\n\r\n  ", 10, ""},
		{"one", 1, "one\n"},
		{"a b c", 1, "a\nb\nc\n"},
		{"a b c", 3, "a b\nc\n"},
		{"a b c", 5, "a b c\n"},
		{"  a\t\tb \n\n c  ", 80, "a b c\n"},
		{"the quick brown fox", 9, "the quick\nbrown fox\n"},
		{"the quick brown fox", 10, "the quick\nbrown fox\n"},
		{"a supercalifragilistic b c", 5, "a\nsupercalifragilistic\nb c\n"},
		{"supercalifragilistic", 5, "supercalifragilistic\n"},
		{"naïve café 日本語", 10, "naïve café\n日本語\n"},
		{"naïve café", 9, "naïve\ncafé\n"},
	}
	for _, c := range cases {
		if got := reference(c.text, c.width); got != c.want {
			t.Errorf("reference(%q, %d) = %q, want %q", c.text, c.width, got, c.want)
		}
		for _, capacity := range []int{1, 2, 4} {
			var out strings.Builder
			if err := wrapWithin(t, strings.NewReader(c.text), &out, c.width, capacity); err != nil {
				t.Errorf("wrap(%q, %d, %d): %v", c.text, c.width, capacity, err)
			} else if out.String() != c.want {
				t.Errorf("wrap(%q, %d, %d) = %q, want %q", c.text, c.width, capacity, out.String(), c.want)
			}
		}
	}
}

// testdata/naur.txt wrapped at width 30 is testdata/naur-30.golden, which
// -update writes from the reference.
func TestGolden(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	text, err := os.ReadFile("testdata/naur.txt")
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/naur-30.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(reference(string(text), 30)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := reference(string(text), 30); got != string(want) {
		t.Errorf("the reference disagrees with %s:\n%s", golden, got)
	}
	for _, capacity := range []int{1, 4} {
		var out bytes.Buffer
		if err := wrapWithin(t, bytes.NewReader(text), &out, 30, capacity); err != nil {
			t.Fatalf("wrap: %v", err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("capacity %d: output differs from %s:\n%s", capacity, golden, out.Bytes())
		}
	}
}

// bigText returns a text of about n bytes: lines of about 60 bytes of
// short words, so that the pipeline holds many items in flight.
func bigText(n int) string {
	words := strings.Fields("a telegram never splits a word and the lines going in have nothing to do with the lines coming out")
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(words[i%len(words)])
		if i%11 == 10 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

// Read reads from the underlying reader and counts what it got.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

var errBroken = errors.New("broken pipe (simulated)")

// failingWriter takes the first room bytes, then fails every write with
// errBroken.
type failingWriter struct {
	room    int
	written bytes.Buffer
}

// Write keeps what fits in the remaining room and fails if anything did
// not fit.
func (f *failingWriter) Write(p []byte) (int, error) {
	n := min(len(p), f.room)
	f.written.Write(p[:n])
	f.room -= n
	if n < len(p) {
		return n, errBroken
	}
	return n, nil
}

// A writer that fails makes wrap return its error, having written a prefix
// of the right output, without hanging or leaving goroutines behind; and
// backpressure stops the reader soon after, far short of the end of the
// input.
func TestFailingWriter(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer goleak.VerifyNone(t)
	const width = 72
	text := bigText(256 << 10)
	want := reference(text, width)
	for _, room := range []int{0, 1, 100, 4095, 4096, 4097, 50_000} {
		for _, capacity := range []int{1, 4, 8} {
			in := &countingReader{r: strings.NewReader(text)}
			out := &failingWriter{room: room}
			err := wrapWithin(t, in, out, width, capacity)
			if !errors.Is(err, errBroken) {
				t.Fatalf("room %d, capacity %d: wrap returned %v, want %v", room, capacity, err, errBroken)
			}
			if got := out.written.String(); !strings.HasPrefix(want, got) || len(got) != room {
				t.Errorf("room %d, capacity %d: wrote %d bytes, not the first %d of the output", room, capacity, len(got), room)
			}
			if read, limit := in.n.Load(), int64(room+64<<10); read > limit {
				t.Errorf("room %d, capacity %d: the reader read %d bytes of %d, more than %d: no backpressure", room, capacity, read, len(text), limit)
			}
		}
	}
}

// A read error ends the input: wrap writes the wrapped text read before
// it, and returns it.
func TestReadError(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer goleak.VerifyNone(t)
	errRead := errors.New("disk on fire (simulated)")
	text := bigText(50_000) + "unfinished"
	for _, capacity := range []int{1, 4} {
		var out strings.Builder
		r := io.MultiReader(strings.NewReader(text), iotest.ErrReader(errRead))
		err := wrapWithin(t, r, &out, 40, capacity)
		if !errors.Is(err, errRead) {
			t.Fatalf("capacity %d: wrap returned %v, want %v", capacity, err, errRead)
		}
		if want := reference(text, 40); out.String() != want {
			t.Errorf("capacity %d: the text read before the error was not wrapped in full", capacity)
		}
	}
}

// gatedWriter blocks its first Write until open is closed, and then
// collects everything.
type gatedWriter struct {
	entered chan struct{} // closed when the first Write begins
	open    chan struct{} // closed by the test to let writes through
	written bytes.Buffer
	first   bool
}

// Write waits for the gate the first time, then keeps p.
func (g *gatedWriter) Write(p []byte) (int, error) {
	if !g.first {
		g.first = true
		close(g.entered)
		<-g.open
	}
	return g.written.Write(p)
}

// While the writer is stuck, the pipeline fills its mailboxes and stops:
// the reader stays a bounded distance ahead, whatever the size of the
// input. Once the writer moves again, everything comes out right.
func TestBackpressure(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	defer goleak.VerifyNone(t)
	const width, capacity = 72, 4
	text := bigText(256 << 10)
	in := &countingReader{r: strings.NewReader(text)}
	out := &gatedWriter{entered: make(chan struct{}), open: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- wrap(in, out, width, capacity) }()

	<-out.entered
	// Let the stages run into the full mailboxes: wait until the reader
	// has stopped reading for a while (or for a second at most). The
	// bound below holds at every instant, so the wait only gives a
	// pipeline without backpressure the time to show it.
	last, still := in.n.Load(), 0
	for start := time.Now(); still < 20 && time.Since(start) < time.Second; {
		time.Sleep(2 * time.Millisecond)
		if n := in.n.Load(); n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
	if read, limit := in.n.Load(), int64(64<<10); read > limit {
		t.Errorf("with the writer stuck, the reader read %d bytes of %d, more than %d", read, len(text), limit)
	}
	close(out.open)
	if err := <-done; err != nil {
		t.Fatalf("wrap: %v", err)
	}
	if out.written.String() != reference(text, width) {
		t.Errorf("output differs from the reference")
	}
}

// wrap refuses a width or capacity below 1 instead of misbehaving.
func TestWrapRejectsBadArguments(t *testing.T) {
	for _, c := range []struct{ width, capacity int }{{0, 4}, {-1, 4}, {72, 0}, {72, -3}} {
		var out strings.Builder
		if err := wrap(strings.NewReader("a b"), &out, c.width, c.capacity); err == nil {
			t.Errorf("wrap(width %d, capacity %d) returned nil, want an error", c.width, c.capacity)
		}
		if out.Len() != 0 {
			t.Errorf("wrap(width %d, capacity %d) wrote %q", c.width, c.capacity, out.String())
		}
	}
}
