package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
)

// Exit statuses.
const (
	exitPass  = 0 // every campaign that ran passed
	exitFail  = 1 // a campaign failed
	exitUsage = 2 // the command line was wrong
)

// progressInterval is how often, at most, verify reports a campaign's
// progress on standard error. Tests shorten it.
var progressInterval = time.Second

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
		fmt.Fprintf(stderr, "insideout: unknown command %q\n", cmd)
		usage(stderr)
		return exitUsage
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
Exit status: 0 if every campaign passed, 1 if one failed (Illegal, Unknown,
hang or panic), 2 for a usage error.
`)
}

// verifyConfig holds the flags of verify.
type verifyConfig struct {
	duration  time.Duration
	seed      uint64
	only      string
	clients   int
	ops       int
	reportDir string
}

// verifyFlags returns the flag set of verify, which parses into the
// returned configuration. The flag set is silent: the caller reports
// errors.
func verifyFlags() (*flag.FlagSet, *verifyConfig) {
	c := new(verifyConfig)
	fs := flag.NewFlagSet("insideout verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "total wall `time`, split evenly between the selected campaigns, which run one after another")
	fs.Uint64Var(&c.seed, "seed", 0, "`seed` of every campaign, decimal or 0x hex; 0: $INSIDEOUT_SEED if set, else random")
	fs.StringVar(&c.only, "only", "", "run only these campaigns (comma-separated `names`; see insideout list)")
	fs.IntVar(&c.clients, "clients", 0, "concurrent clients per round (0: each campaign's default)")
	fs.IntVar(&c.ops, "ops", 0, "operations per client per round (0: each campaign's default)")
	fs.StringVar(&c.reportDir, "report-dir", linearize.DefaultReportDir(), "`directory` for the HTML visualizations of violations")
	return fs, c
}

// list writes the name and description of every campaign to stdout.
func list(args []string, stdout, stderr io.Writer, campaigns []campaign.Campaign) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "insideout list: unexpected arguments: %s\n", strings.Join(args, " "))
		usage(stderr)
		return exitUsage
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, c := range campaigns {
		fmt.Fprintf(tw, "%s\t%s\n", c.Name, c.Doc)
	}
	tw.Flush()
	return exitPass
}

// A result is what one campaign did.
type result struct {
	name string
	sum  linearize.Summary
	heap uint64 // the live heap after a collection, at the campaign's end
}

// verify parses its flags, runs the selected campaigns one after another,
// each for its share of the duration, and prints the seed and a table of
// the results. It stops at the first failed campaign, or when ctx is done.
func verify(ctx context.Context, args []string, stdout, stderr io.Writer, campaigns []campaign.Campaign) int {
	fs, c := verifyFlags()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitPass
		}
		return usageError(stderr, err.Error())
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, "unexpected arguments: "+strings.Join(fs.Args(), " "))
	case c.duration <= 0:
		return usageError(stderr, fmt.Sprintf("-duration must be positive, not %v", c.duration))
	case c.clients < 0:
		return usageError(stderr, fmt.Sprintf("-clients must not be negative, not %d", c.clients))
	case c.ops < 0:
		return usageError(stderr, fmt.Sprintf("-ops must not be negative, not %d", c.ops))
	}
	selected, err := selectCampaigns(campaigns, c.only)
	if err != nil {
		return usageError(stderr, err.Error())
	}
	if len(selected) == 0 {
		return usageError(stderr, "no campaigns to run")
	}

	seed, err := linearize.ResolveSeed(c.seed)
	if err != nil {
		return usageError(stderr, err.Error())
	}
	opts := campaign.Options{
		Seed:         seed,
		Clients:      c.clients,
		OpsPerClient: c.ops,
		ReportDir:    c.reportDir,
	}
	share := c.duration / time.Duration(len(selected))
	fmt.Fprintf(stderr, "verify: seed %#x, %d campaign(s), %v each\n", seed, len(selected), share)

	start := time.Now()
	var (
		results []result
		failed  bool
	)
	for _, cp := range selected {
		if ctx.Err() != nil {
			break
		}
		sum, err := runCampaign(ctx, cp, opts, share, stderr, start)
		results = append(results, result{cp.Name, sum, liveHeapAfterGC()})
		if err == nil && sum.Failures() > 0 {
			err = fmt.Errorf("%s: %d failed round(s), but the campaign reported no failure", cp.Name, sum.Failures())
		}
		if err != nil {
			failed = true
			reportFailure(stderr, cp.Name, seed, err, c)
			break
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "verify: interrupted; the table shows what ran")
	}

	fmt.Fprintf(stdout, "seed %#x (replay: %s)\n\n", seed, replayCommand(seed, c))
	printTable(stdout, results)
	if failed {
		return exitFail
	}
	return exitPass
}

// usageError reports a usage error of verify and returns exitUsage.
func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "insideout verify: %s\n\n", msg)
	usage(stderr)
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

// runCampaign runs cp for at most share, or until ctx is done, reporting
// its progress on stderr at most once per progressInterval. It returns the
// campaign's summary and its error.
func runCampaign(ctx context.Context, cp campaign.Campaign, opts campaign.Options, share time.Duration, stderr io.Writer, start time.Time) (linearize.Summary, error) {
	cctx, cancel := context.WithTimeout(ctx, share)
	defer cancel()
	p := &progress{w: stderr, name: cp.Name, start: start, last: time.Now()}
	_, sum, err := cp.Run(cctx, opts, p.report)
	return sum, err
}

// reportFailure writes the failure err of the campaign name to stderr:
// its full message, the report's path, and how to replay it.
func reportFailure(stderr io.Writer, name string, seed uint64, err error, c *verifyConfig) {
	fmt.Fprintf(stderr, "verify: %s FAILED\n%v\n", name, err)
	var f *linearize.Failure
	if !errors.As(err, &f) {
		return
	}
	if f.Report != "" {
		fmt.Fprintf(stderr, "violation: report at %s\n", f.Report)
	}
	rc := *c
	rc.only = name
	fmt.Fprintf(stderr, "replay this round: INSIDEOUT_ROUND=%d %s\n", f.Round, replayCommand(f.Seed, &rc))
}

// replayCommand returns the command line that replays a run of verify
// with seed and the flags of c that shape the programs.
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

	mu   sync.Mutex
	last time.Time // of the last report, or of the campaign's start
}

// report prints s if progressInterval has passed since the last report.
func (p *progress) report(s linearize.Summary) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.last) < progressInterval {
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
