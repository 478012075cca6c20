package verify

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/insideout-go/insideout/linearize"
)

// reportStopped explains on stderr why the campaign of r was stopped and
// what to change.
func reportStopped(stderr io.Writer, r result, share time.Duration, c *verifyConfig) {
	fmt.Fprintf(stderr, "verify: %s STOPPED: still in a round %v after its share of %v ended (a round is not interrupted: it ends when its calls have returned and its history is checked, the check taking up to -check-timeout %v)\n",
		r.name, roundDuration(overrunGrace), roundDuration(share), c.checkTimeout)
	fmt.Fprintf(stderr, "verify: make rounds smaller with -clients or -ops, lower -check-timeout, or raise -duration; a round that never ends is a hang: the goroutines' stacks are in %s\n", r.dump)
}

// reportFailure writes the failure err of the campaign name to stderr:
// its message (without the replay line meant for a test, and with a long
// program cut short, the full one going to a file), the report's path,
// what to change for an Unknown, and how to replay the round.
func reportFailure(stderr io.Writer, name string, seed uint64, err error, c *verifyConfig) {
	msg := err.Error()
	var f *linearize.Failure
	if errors.As(err, &f) && f.Program != "" {
		msg = strings.Replace(msg, f.Program, shortProgram(f, c.reportDir), 1)
	}
	fmt.Fprintf(stderr, "verify: %s FAILED\n%s\n", name, dropTestReplay(msg))
	if f == nil {
		return
	}
	if f.Report != "" {
		fmt.Fprintf(stderr, "violation: report at %s\n", f.Report)
	}
	if f.Verdict == linearize.Unknown && !f.Hung && f.Panic == "" {
		fmt.Fprintf(stderr, "verify: Unknown means the checker gave up on the history after -check-timeout %v; it found no fault. Make histories smaller with -clients or -ops (now %s and %s), or raise -check-timeout\n",
			c.checkTimeout, sizeFlag(c.clients), sizeFlag(c.ops))
	}
	rc := *c
	rc.only = name
	fmt.Fprintf(stderr, "replay this round: INSIDEOUT_ROUND=%d %s\n", f.Round, replayCommand(f.Seed, &rc))
}

// sizeFlag renders the value of -clients or -ops.
func sizeFlag(n int) string {
	if n == 0 {
		return "the campaign's default"
	}
	return strconv.Itoa(n)
}

// dropTestReplay returns msg without the line that says how to replay the
// round in a test ("  replay: INSIDEOUT_SEED=... (same test)"), which
// means nothing on the command line: verify prints its own.
func dropTestReplay(msg string) string {
	var b strings.Builder
	for line := range strings.Lines(msg) {
		t := strings.TrimRight(line, "\n")
		if strings.HasPrefix(t, "  replay:") && strings.HasSuffix(t, "(same test)") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// shortProgram returns the program of f, cut to maxProgramLines lines if
// longer; the whole program then goes to a file in dir, which the last
// line names.
func shortProgram(f *linearize.Failure, dir string) string {
	lines := strings.SplitAfter(strings.TrimSuffix(f.Program, "\n"), "\n")
	if len(lines) <= maxProgramLines {
		return f.Program
	}
	where := filepath.Join(dir, fmt.Sprintf("%s-seed-%#x-round-%d-program.txt", fileName(f.Scenario), f.Seed, f.Round))
	if err := writeFile(where, []byte(f.Program)); err != nil {
		where = "(could not be written: " + err.Error() + ")"
	}
	head := strings.Join(lines[:maxProgramLines], "")
	return fmt.Sprintf("%s    ... %d more lines; the full program is in %s", head, len(lines)-maxProgramLines, where)
}

// replayCommand returns the command line that replays a run of verify
// with seed and the flags of c that shape the programs and their checks.
func replayCommand(seed uint64, c *verifyConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "go run ./cmd/insideout verify -seed %#x", seed)
	if c.only != "" {
		fmt.Fprintf(&b, " -only %s", c.only)
	}
	if c.clients > 0 {
		fmt.Fprintf(&b, " -clients %d", c.clients)
	}
	if c.ops > 0 {
		fmt.Fprintf(&b, " -ops %d", c.ops)
	}
	if c.checkTimeout != defaultCheckTimeout {
		fmt.Fprintf(&b, " -check-timeout %v", c.checkTimeout)
	}
	return b.String()
}

// printTable writes one row per campaign result to w, aligned.
func printTable(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "primitive\trounds\toperations\thistories\tillegal\tunknown\thangs\tpanics\ttime\tlive-heap")
	for _, r := range results {
		s := r.sum
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%v\t%s\n",
			r.name, s.Rounds, s.Ops, s.Histories, s.Illegal, s.Unknown, s.Hangs, s.Panics,
			s.Elapsed.Round(time.Millisecond), megabytes(r.heap))
	}
	tw.Flush()
}

// liveHeapAfterGC returns the bytes of heap objects that survive a
// collection: what the campaigns run so far hold. Two collections, since
// the first only queues the cleanups of what it finds unreachable (a
// sequential continuation's coroutine, a mailbox's waiters), and what
// they let go of is freed by the second.
func liveHeapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	return liveHeap()
}

// liveHeap returns the live heap as the last collection measured it,
// without collecting.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// megabytes renders n bytes in MB with one decimal.
func megabytes(n uint64) string {
	return fmt.Sprintf("%.1fMB", float64(n)/1e6)
}

// A progress reports a campaign's progress, at most once per
// progressInterval. Its report method is the campaign's progress callback
// and may be called from any goroutine.
type progress struct {
	w     io.Writer
	name  string
	start time.Time // of the whole verify run, for the time stamp

	mu      sync.Mutex
	last    time.Time         // of the last report, or of the campaign's start
	latest  linearize.Summary // the last summary reported
	stopped bool              // verify stopped waiting: report no more
}

// stop makes report print nothing more, and returns the last summary
// reported.
func (p *progress) stop() linearize.Summary {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	return p.latest
}

// report prints s if progressInterval has passed since the last report.
func (p *progress) report(s linearize.Summary) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latest = s
	if p.stopped || now.Sub(p.last) < progressInterval {
		return
	}
	p.last = now
	fmt.Fprintf(p.w, "[%3ds] %s: %d rounds, %d ops, %d illegal, %d unknown, live heap %s\n",
		int(now.Sub(p.start).Seconds()), p.name, s.Rounds, s.Ops, s.Illegal, s.Unknown, megabytes(liveHeap()))
}

// A syncWriter serializes writes to w, so that progress reports from a
// campaign's goroutine and the command's own messages do not interleave.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes b to the underlying writer, holding the lock.
func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
