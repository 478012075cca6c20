package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/spec"
)

// Exit statuses.
const (
	exitPass       = 0 // every selected campaign ran its share and passed
	exitFail       = 1 // a campaign failed
	exitUsage      = 2 // the command line was wrong
	exitIncomplete = 3 // interrupted, a campaign ran no round, or one was stopped
)

// progressInterval is how often, at most, verify reports a campaign's
// progress on standard error. Tests shorten it.
var progressInterval = time.Second

// overrunGrace is how long verify waits for a campaign after its share
// has ended (or after an interrupt) before it stops waiting: a round is
// not interrupted, so a campaign ends only when its round in progress,
// and the check of that round's history, end. Tests shorten it.
var overrunGrace = 2 * time.Second

// maxProgramLines is how many lines of a failed round's program verify
// prints; a longer program goes to a file in the report directory.
const maxProgramLines = 20

// defaultCheckTimeout is the default of -check-timeout: the scenarios'
// own default limit per history.
const defaultCheckTimeout = 10 * time.Second

// main runs the command with the registered campaigns, stopping early on
// an interrupt or SIGTERM, and exits with run's status.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling, so that a
	// second one kills the process even if a round takes long to end.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, campaign.All())
	stop()
	// A campaign that verify stopped waiting for may still be running:
	// exiting ends it.
	os.Exit(code)
}

// run executes the command line args (without the program name) against
// campaigns, writing results to stdout and progress, failures and usage to
// stderr, and returns the exit status. Cancelling ctx stops verify early.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, campaigns []campaign.Campaign) int {
	stderr = &syncWriter{w: stderr}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "insideout: no command given")
		usage(stderr)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "verify":
		return verify(ctx, rest, stdout, stderr, campaigns)
	case "list":
		return list(rest, stdout, stderr, campaigns)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitPass
	default:
		return usageError(stderr, "insideout", fmt.Sprintf("unknown command %q (commands: verify, list, help)", cmd))
	}
}

// usage writes the command's usage, with the flags of verify, to w.
func usage(w io.Writer) {
	fmt.Fprint(w, `usage: insideout <command> [flags]

Commands:
  verify   run the verification campaigns (the project's main job)
  list     list the campaigns and what each exercises
  help     show this help

Flags of verify:
`)
	fs, _ := verifyFlags()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, `
verify ends with a verdict line: PASS, FAIL or INCOMPLETE.

Exit status:
  0  PASS: every selected campaign ran its full share and passed
  1  FAIL: a campaign failed (Illegal, Unknown, hang or panic)
  2  a usage error
  3  INCOMPLETE: interrupted before every selected campaign had its full
     share, a campaign ran no round (its share was too short for one),
     or a campaign was stopped for running past its share
`)
}

// verifyConfig holds the flags of verify.
type verifyConfig struct {
	duration     time.Duration
	seed         uint64
	only         string
	clients      int
	ops          int
	checkTimeout time.Duration
	reportDir    string
}

// verifyFlags returns the flag set of verify, which parses into the
// returned configuration. The flag set is silent: the caller reports
// errors.
func verifyFlags() (*flag.FlagSet, *verifyConfig) {
	c := &verifyConfig{duration: 20 * time.Second, checkTimeout: defaultCheckTimeout}
	fs := flag.NewFlagSet("insideout verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(durationValue{&c.duration}, "duration", "total wall `time`, a Go duration such as 30s or 10m, split evenly between the selected campaigns, which run one after another")
	fs.Var(seedValue{&c.seed}, "seed", "`seed` of every campaign: a non-zero number, decimal or 0x hex (default: $INSIDEOUT_SEED if set, else random)")
	fs.StringVar(&c.only, "only", "", "run only these campaigns (comma-separated `names`; see insideout list)")
	fs.IntVar(&c.clients, "clients", 0, "concurrent clients per round (0: each campaign's default)")
	fs.IntVar(&c.ops, "ops", 0, "operations per client per round (0: each campaign's default)")
	fs.Var(durationValue{&c.checkTimeout}, "check-timeout", "the checker's limit per history, a Go `duration`: a history not decided in time is Unknown, a failure (the eventq campaign keeps its own 10s)")
	fs.StringVar(&c.reportDir, "report-dir", linearize.DefaultReportDir(), "`directory` for the HTML visualizations of violations and the programs too long to print")
	return fs, c
}

// A durationValue is a flag holding a Go duration, whose parse error says
// what is expected.
type durationValue struct{ d *time.Duration }

// String returns the duration, for the usage's default.
func (v durationValue) String() string {
	if v.d == nil {
		return "0s"
	}
	return v.d.String()
}

// Set parses s as a Go duration.
func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a Go duration such as 30s, 10m or 1h30m")
	}
	*v.d = d
	return nil
}

// A seedValue is the -seed flag: a non-zero number, decimal or 0x hex.
type seedValue struct{ n *uint64 }

// String returns the seed in hex, or "" when unset.
func (v seedValue) String() string {
	if v.n == nil || *v.n == 0 {
		return ""
	}
	return fmt.Sprintf("%#x", *v.n)
}

// Set parses s as a non-zero seed.
func (v seedValue) Set(s string) error {
	n, err := strconv.ParseUint(s, 0, 64)
	switch {
	case err != nil:
		return errors.New("want a non-zero number, decimal or 0x hex, such as 42 or 0x2a")
	case n == 0:
		return errors.New("want a non-zero seed (leave -seed out for a random one)")
	}
	*v.n = n
	return nil
}

// list writes the name and description of every campaign to stdout.
func list(args []string, stdout, stderr io.Writer, campaigns []campaign.Campaign) int {
	if len(args) > 0 {
		return usageError(stderr, "insideout list", "unexpected arguments: "+strings.Join(args, " "))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, c := range campaigns {
		fmt.Fprintf(tw, "%s\t%s\n", c.Name, c.Doc)
	}
	tw.Flush()
	return exitPass
}

// An ending is how a campaign's run ended.
type ending int

const (
	endedShare       ending = iota // its share ran out
	endedItself                    // it returned before its share ran out
	endedInterrupted               // the run was interrupted
	endedStopped                   // still in a round overrunGrace after its share ran out
)

// A result is what one campaign did.
type result struct {
	name  string
	sum   linearize.Summary
	err   error  // the campaign's failure, if any
	heap  uint64 // the live heap after a collection, at the campaign's end
	ended ending
	// abandoned: verify stopped waiting for the campaign's round, which
	// may be running still; sum is then what its progress last reported.
	abandoned bool
	dump      string // for an abandoned campaign: the file of the goroutines' stacks, or why there is none
}

// failed reports whether the campaign failed.
func (r result) failed() bool { return r.err != nil || r.sum.Failures() > 0 }

// verify parses its flags, runs the selected campaigns one after another,
// each for its share of the duration, and prints the seed, a table of the
// results and a verdict. It stops at the first failed campaign, when ctx
// is done, or when a campaign runs past its share by overrunGrace.
func verify(ctx context.Context, args []string, stdout, stderr io.Writer, campaigns []campaign.Campaign) int {
	fs, c := verifyFlags()
	const cmd = "insideout verify"
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitPass
		}
		return usageError(stderr, cmd, err.Error())
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, cmd, "unexpected arguments: "+strings.Join(fs.Args(), " "))
	case c.duration <= 0:
		return usageError(stderr, cmd, fmt.Sprintf("-duration must be positive, not %v", c.duration))
	case c.checkTimeout <= 0:
		return usageError(stderr, cmd, fmt.Sprintf("-check-timeout must be positive, not %v", c.checkTimeout))
	case c.clients < 0:
		return usageError(stderr, cmd, fmt.Sprintf("-clients must not be negative, not %d", c.clients))
	case c.ops < 0:
		return usageError(stderr, cmd, fmt.Sprintf("-ops must not be negative, not %d", c.ops))
	}
	selected, err := selectCampaigns(campaigns, c.only)
	if err != nil {
		return usageError(stderr, cmd, err.Error())
	}
	if len(selected) == 0 {
		return usageError(stderr, cmd, "no campaigns to run")
	}

	seed, err := linearize.ResolveSeed(c.seed)
	if err != nil {
		return usageError(stderr, cmd, err.Error())
	}
	opts := campaign.Options{
		Seed:         seed,
		Clients:      c.clients,
		OpsPerClient: c.ops,
		ReportDir:    c.reportDir,
		CheckTimeout: c.checkTimeout,
	}
	share := c.duration / time.Duration(len(selected))
	fmt.Fprintf(stderr, "verify: seed %#x, %d campaign(s), %v each\n", seed, len(selected), roundDuration(share))

	// Campaign i ends by the end of its slot of the duration, so that one
	// that runs past its share (a round is not interrupted) takes the
	// time from the next, and the whole run keeps to -duration; but each
	// has a quarter of its share at least. The collections that measure
	// the live heap between campaigns are the command's time: they move
	// the slots on.
	start := time.Now()
	slots := start
	var results []result
	for i, cp := range selected {
		if ctx.Err() != nil {
			break
		}
		now := time.Now()
		deadline := slots.Add(time.Duration(i+1) * share)
		if least := now.Add(share / 4); deadline.Before(least) {
			deadline = least
		}
		if full := now.Add(share); full.Before(deadline) {
			deadline = full
		}
		r := runCampaign(ctx, cp, opts, deadline, stderr, start)
		if !r.abandoned {
			measured := time.Now()
			r.heap = liveHeapAfterGC()
			slots = slots.Add(time.Since(measured))
		}
		results = append(results, r)
		if r.err == nil && r.sum.Failures() > 0 {
			r.err = fmt.Errorf("%s: %d failed round(s), but the campaign reported no failure", cp.Name, r.sum.Failures())
			results[len(results)-1] = r
		}
		if r.failed() {
			reportFailure(stderr, cp.Name, seed, r.err, c)
			break
		}
		if r.ended == endedStopped {
			reportStopped(stderr, r, share, c)
		}
		if r.abandoned {
			break // it runs on: running another beside it would skew both
		}
	}

	fmt.Fprintf(stdout, "seed %#x (replay: %s)\n\n", seed, replayCommand(seed, c))
	printTable(stdout, results)
	v, code := verdict(results, selected)
	fmt.Fprintf(stdout, "\nverify: %s\n", v)
	return code
}

// verdict returns the verdict line on results, the campaigns that ran of
// selected, and the exit status.
func verdict(results []result, selected []campaign.Campaign) (string, int) {
	var total linearize.Summary
	for _, r := range results {
		total = addSummaries(total, r.sum)
	}
	tally := fmt.Sprintf("%s, %s, %s", plural(len(results), "campaign"), plural(total.Rounds, "round"), plural(total.Failures(), "failure"))
	var problems []string
	for i, r := range results {
		switch {
		case r.failed():
			return fmt.Sprintf("FAIL: %s: %s; %s", r.name, what(r), tally), exitFail
		case r.ended == endedInterrupted && r.abandoned:
			problems = append(problems, fmt.Sprintf("interrupted during %s, campaign %d of %d, its round left unfinished", r.name, i+1, len(selected)))
		case r.ended == endedInterrupted:
			problems = append(problems, fmt.Sprintf("interrupted during %s, campaign %d of %d", r.name, i+1, len(selected)))
		case r.ended == endedStopped:
			problems = append(problems, fmt.Sprintf("%s was stopped, still in a round %v after its share ended", r.name, roundDuration(overrunGrace)))
		}
		if r.sum.Rounds == 0 && !r.abandoned {
			problems = append(problems, r.name+" ran no round")
		}
	}
	if n := len(results); n < len(selected) && len(problems) == 0 {
		// Interrupted between two campaigns.
		problems = append(problems, fmt.Sprintf("interrupted after %d of %d campaigns", n, len(selected)))
	}
	if len(problems) > 0 {
		return "INCOMPLETE: " + strings.Join(problems, "; "), exitIncomplete
	}
	return "PASS: " + tally, exitPass
}

// what names the failures that r counts, or its error's kind.
func what(r result) string {
	var parts []string
	for _, f := range []struct {
		n    int
		name string
	}{{r.sum.Illegal, "illegal"}, {r.sum.Unknown, "unknown"}, {r.sum.Hangs, "hang"}, {r.sum.Panics, "panic"}} {
		if f.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", f.n, f.name))
		}
	}
	if len(parts) == 0 {
		return "an error"
	}
	return strings.Join(parts, ", ")
}

// plural returns n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// addSummaries returns the sum of two summaries.
func addSummaries(a, b linearize.Summary) linearize.Summary {
	return linearize.Summary{
		Rounds: a.Rounds + b.Rounds, Ops: a.Ops + b.Ops, Histories: a.Histories + b.Histories,
		Illegal: a.Illegal + b.Illegal, Unknown: a.Unknown + b.Unknown, Hangs: a.Hangs + b.Hangs,
		Panics: a.Panics + b.Panics, Elapsed: a.Elapsed + b.Elapsed,
	}
}

// roundDuration rounds d for printing: to the millisecond from a second
// on, to the microsecond from a millisecond on.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}

// usageError reports a usage error of cmd in one line, with where to find
// the usage, and returns exitUsage.
func usageError(stderr io.Writer, cmd, msg string) int {
	fmt.Fprintf(stderr, "%s: %s\nsee '%s -h'\n", cmd, msg, cmd)
	return exitUsage
}

// selectCampaigns returns the campaigns that only names (comma-separated),
// in their registered order, or all of them if only is empty. An unknown
// name is an error that lists the known ones.
func selectCampaigns(campaigns []campaign.Campaign, only string) ([]campaign.Campaign, error) {
	if strings.TrimSpace(only) == "" {
		return campaigns, nil
	}
	known := make([]string, len(campaigns))
	for i, c := range campaigns {
		known[i] = c.Name
	}
	want := make(map[string]bool)
	for name := range strings.SplitSeq(only, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("-only: unknown campaign %q (known: %s)", name, strings.Join(known, ", "))
		}
		want[name] = true
	}
	var sel []campaign.Campaign
	for _, c := range campaigns {
		if want[c.Name] {
			sel = append(sel, c)
		}
	}
	return sel, nil
}

// runCampaign runs cp until deadline, or until ctx is done, reporting its
// progress on stderr at most once per progressInterval, and returns what
// it did; the caller measures the live heap of a campaign that ended. A
// campaign still running overrunGrace after its deadline (or after ctx is
// done) is left running and reported as abandoned, with what its progress
// last reported, the live heap as last measured, and the goroutines'
// stacks in a file.
func runCampaign(ctx context.Context, cp campaign.Campaign, opts campaign.Options, deadline time.Time, stderr io.Writer, start time.Time) result {
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	p := &progress{w: stderr, name: cp.Name, start: start, last: time.Now()}
	type outcome struct {
		sum linearize.Summary
		err error
	}
	done := make(chan outcome, 1) // buffered: a stopped campaign still ends
	go func() {
		_, sum, err := cp.Run(cctx, opts, p.report)
		done <- outcome{sum, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-cctx.Done():
		grace := time.NewTimer(overrunGrace)
		defer grace.Stop()
		select {
		case o = <-done:
		case <-grace.C:
			r := result{name: cp.Name, sum: p.stop(), ended: endedStopped, abandoned: true}
			if !errors.Is(cctx.Err(), context.DeadlineExceeded) {
				r.ended = endedInterrupted
			}
			r.dump = dumpGoroutines(opts.ReportDir, cp.Name, opts.Seed)
			// No collection: the round still running holds what it
			// holds, and collecting a large heap would only delay the
			// report.
			r.heap = liveHeap()
			return r
		}
	}
	r := result{name: cp.Name, sum: o.sum, err: o.err, ended: endedItself}
	switch err := cctx.Err(); {
	case errors.Is(err, context.DeadlineExceeded):
		r.ended = endedShare
	case err != nil:
		r.ended = endedInterrupted
	}
	return r
}

// dumpGoroutines writes every goroutine's stack to a file in dir named
// after the campaign and seed, and returns its path, or why it could not.
func dumpGoroutines(dir, name string, seed uint64) string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-seed-%#x-stopped-goroutines.txt", fileName(name), seed))
	if err := writeFile(path, buf); err != nil {
		return "(could not write the goroutines' stacks: " + err.Error() + ")"
	}
	return path
}

// writeFile writes b to path, making its directory.
func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// fileName returns name with every character but letters, digits, '.',
// '-' and '_' replaced by '_', for a file name.
func fileName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
}

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
	if f.Verdict == spec.Unknown && !f.Hung && f.Panic == "" {
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
