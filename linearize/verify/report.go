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

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// reportStopped explains on stderr why the campaign of r was stopped and
// what to change.
func reportStopped(stderr io.Writer, r result, share time.Duration, c *verifyConfig) {
	fmt.Fprintf(stderr, "verify: %s STOPPED: still in a round %v after its share of %v ended (a round is not interrupted: it ends when its calls have returned and its history is checked, the check taking up to -check-timeout %v)\n",
		r.name, roundDuration(overrunGrace), roundDuration(share), c.checkTimeout)
	fmt.Fprintf(stderr, "verify: make rounds smaller with -clients or -ops, lower -check-timeout, or raise -duration; a round that never ends is a hang: the goroutines' stacks are in %s\n", r.dump)
}

// reportFailure writes the failure err of the campaign name, run under
// s, to stderr: its message (without the replay line meant for a test,
// and with a long program cut short, the full one going to a file), the
// report's path, what to change for an Unknown, and how to replay the
// round. A failure under the controlled scheduler carries a token: its
// exact replay is insideout replay, and before it is printed verify
// replays it once with campaigns (replayCheck) and says whether it
// replays exactly.
func reportFailure(stderr io.Writer, name string, seed uint64, err error, c *verifyConfig, s sched, campaigns []campaign.Campaign) {
	var f *linearize.Failure
	var replays string
	if errors.As(err, &f) && f.Token != "" {
		f.ReplayExact = goRun("sched", []string{"replay", f.Token})
		replays = replayCheck(f, campaigns)
	}
	msg := err.Error()
	if f != nil && f.Program != "" {
		msg = strings.Replace(msg, f.Program, shortProgram(f, c.reportDir), 1)
	}
	fmt.Fprintf(stderr, "verify: %s FAILED\n%s\n", name, dropTestReplay(msg))
	if f == nil {
		return
	}
	if f.Report != "" {
		fmt.Fprintf(stderr, "violation: report at %s\n", f.Report)
	}
	if replays != "" {
		fmt.Fprintln(stderr, replays)
	}
	if f.Verdict == linearize.Unknown && !f.Hung && f.Panic == "" {
		fmt.Fprintf(stderr, "verify: Unknown means the checker gave up on the history after -check-timeout %v; it found no fault. Make histories smaller with -clients or -ops (now %s and %s), or raise -check-timeout\n",
			c.checkTimeout, sizeFlag(c.clients), sizeFlag(c.ops))
	}
	rc := *c
	rc.only = name
	fmt.Fprintf(stderr, "replay this round: INSIDEOUT_ROUND=%d %s\n", f.Round, replayCommand(f.Seed, &rc, s))
}

// nondeterminism explains a failure whose token does not replay.
const nondeterminism = "; the same schedule ran differently twice in one build: uncontrolled nondeterminism, a bug in the harness or in the code's seam coverage (shared memory or a wait outside impl/seam)"

// replayCheck replays the token of f once with the campaign of campaigns
// that owns its scenario, as shuttle checks its schedules, and returns the
// line that says whether it replays exactly: the same failure by the same
// steps, or, if not, why.
func replayCheck(f *linearize.Failure, campaigns []campaign.Campaign) string {
	tok, err := schedule.ParseToken(f.Token)
	if err != nil {
		return "DOES NOT REPLAY: the failure's own token does not parse: " + err.Error() + "; a bug in the harness"
	}
	err = campaign.Replay(campaigns, tok)
	var again *linearize.Failure
	switch {
	case errors.As(err, &again):
		if diff := failureDiff(f, again); diff != "" {
			return fmt.Sprintf("DOES NOT REPLAY: the same steps (trace hash %#x) ended differently: %s%s", tok.Hash, diff, nondeterminism)
		}
		return fmt.Sprintf("replays exactly: same steps (trace hash %#x)", tok.Hash)
	case err == nil:
		return "DOES NOT REPLAY: the schedule passed when replayed" + nondeterminism
	case errors.Is(err, seam.ErrDisabled):
		return "replay not checked: " + err.Error()
	case strings.HasPrefix(err.Error(), "no campaign has a scenario named"):
		return "replay not checked: " + err.Error() + " (its campaign has no Replay)"
	}
	return "DOES NOT REPLAY: " + err.Error() + nondeterminism
}

// failureDiff says how the failure b of a replay differs in kind from a,
// or returns "".
func failureDiff(a, b *linearize.Failure) string {
	kind := func(f *linearize.Failure) string {
		switch {
		case f.Model != nil:
			return "the model failed"
		case f.Stuck != "":
			return "a lost wake-up"
		case f.Hung:
			return "a hang"
		case f.Panic != "":
			return "a panic"
		}
		return f.Verdict.String()
	}
	if ka, kb := kind(a), kind(b); ka != kb {
		return fmt.Sprintf("%s, then %s", ka, kb)
	}
	return ""
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
// with seed under s and the flags of c that shape the programs and their
// checks; a -sched that needs a build tag is named with it.
func replayCommand(seed uint64, c *verifyConfig, s sched) string {
	args := []string{"verify", "-seed", fmt.Sprintf("%#x", seed)}
	if s.tag() != "" {
		args = append(args, "-sched", s.name)
	}
	if c.only != "" {
		args = append(args, "-only", c.only)
	}
	if c.clients > 0 {
		args = append(args, "-clients", strconv.Itoa(c.clients))
	}
	if c.ops > 0 {
		args = append(args, "-ops", strconv.Itoa(c.ops))
	}
	if c.checkTimeout != defaultCheckTimeout {
		args = append(args, "-check-timeout", c.checkTimeout.String())
	}
	return goRun(s.tag(), args)
}

// printTable writes one row per campaign result to w, aligned. The
// schedules column counts the schedules a campaign ran under the
// controlled scheduler, or says it ran free (chaos in a build with -tags
// chaos); with exhausted (under DFS) a column beside it counts the
// programs whose every schedule within the bound ran.
func printTable(w io.Writer, results []result, exhausted bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	ex := func(s string) string {
		if exhausted {
			return s
		}
		return ""
	}
	fmt.Fprintf(tw, "primitive\trounds\tschedules\t%soperations\thistories\tillegal\tunknown\thangs\tpanics\ttime\tlive-heap\n", ex("exhausted\t"))
	free := "free"
	if chaos.Enabled {
		free = "chaos"
	}
	for _, r := range results {
		s := r.sum
		schedules, exhaust := free, "-"
		if r.controlled {
			schedules, exhaust = strconv.Itoa(s.Schedules), strconv.Itoa(s.Exhausted)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s%d\t%d\t%d\t%d\t%d\t%d\t%v\t%s\n",
			r.name, s.Rounds, schedules, ex(exhaust+"\t"), s.Ops, s.Histories, s.Illegal, s.Unknown, s.Hangs, s.Panics,
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
	schedules := ""
	if s.Schedules > 0 {
		schedules = fmt.Sprintf(" %d schedules,", s.Schedules)
	}
	fmt.Fprintf(p.w, "[%3ds] %s: %d rounds,%s %d ops, %d illegal, %d unknown, live heap %s\n",
		int(now.Sub(p.start).Seconds()), p.name, s.Rounds, schedules, s.Ops, s.Illegal, s.Unknown, megabytes(liveHeap()))
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
