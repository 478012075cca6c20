package verify

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/schedule"
)

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
	// controlled: the campaign ran under the controlled scheduler (a
	// controlled -sched, and the campaign's Controlled).
	controlled bool
}

// failed reports whether the campaign failed.
func (r result) failed() bool { return r.err != nil || r.sum.Failures() > 0 }

// runVerify parses its flags, runs the selected campaigns one after another,
// each for its share of the duration, and prints the seed, a table of the
// results and a verdict. It stops at the first failed campaign, when ctx
// is done, or when a campaign runs past its share by overrunGrace.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer, campaigns []campaign.Campaign) int {
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
	s, err := parseSched(c.sched)
	if err != nil {
		return usageError(stderr, cmd, err.Error())
	}
	if msg := missingTag(s, c.sched, args); msg != "" {
		fmt.Fprintf(stderr, "%s: %s\n", cmd, msg)
		return exitUsage
	}
	if s.controlled() && strings.TrimSpace(os.Getenv("INSIDEOUT_TOKEN")) != "" {
		// linearize.Scenario.RunContext would replay the token in every
		// controlled campaign, instead of exploring.
		fmt.Fprintf(stderr, "%s: INSIDEOUT_TOKEN is set, which makes every controlled campaign replay it instead of exploring: unset it, or replay the token with %s\n",
			cmd, goRun("sched", []string{"replay"})+` "$INSIDEOUT_TOKEN"`)
		return exitUsage
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
		Schedule:     s.strategy,
		Recheck:      c.recheck && s.strategy != nil,
	}
	share := c.duration / time.Duration(len(selected))
	fmt.Fprintf(stderr, "verify: seed %#x, %d campaign(s), %v each, schedule %s\n", seed, len(selected), roundDuration(share), s.label())

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
		r.controlled = s.controlled() && cp.Controlled
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
			ran := s // how this campaign ran, for its replay line
			if !r.controlled && s.controlled() {
				ran = sched{name: "free"}
			}
			reportFailure(stderr, cp.Name, seed, r.err, c, ran, campaigns)
			break
		}
		if r.ended == endedStopped {
			reportStopped(stderr, r, share, c)
		}
		if r.abandoned {
			break // it runs on: running another beside it would skew both
		}
	}

	fmt.Fprintf(stdout, "seed %#x, schedule %s (replay: %s)\n", seed, s.label(), replayCommand(seed, c, s))
	if free := freeRunning(s, selected); len(free) > 0 {
		fmt.Fprintf(stdout, "%s: not under the controlled scheduler (their engines wait outside impl/seam, so %s cannot drive them); they ran free\n",
			strings.Join(free, ", "), s.name)
	}
	fmt.Fprintln(stdout)
	_, dfs := s.strategy.(schedule.DFS)
	printTable(stdout, results, dfs)
	v, code := verdict(results, selected, s)
	fmt.Fprintf(stdout, "\nverify: %s\n", v)
	return code
}

// verdict returns the verdict line on results, the campaigns that ran of
// selected under s, and the exit status.
func verdict(results []result, selected []campaign.Campaign, s sched) (string, int) {
	var total linearize.Summary
	for _, r := range results {
		total = addSummaries(total, r.sum)
	}
	tally := fmt.Sprintf("%s, %s, %s", plural(len(results), "campaign"), plural(total.Rounds, "round"), plural(total.Failures(), "failure"))
	if slices.ContainsFunc(results, func(r result) bool { return r.controlled }) {
		tally = fmt.Sprintf("%s, %s, %s of %s, %s", plural(len(results), "campaign"), plural(total.Rounds, "round"),
			plural(total.Schedules, "schedule"), s.name, plural(total.Failures(), "failure"))
	}
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
		Schedules: a.Schedules + b.Schedules, Exhausted: a.Exhausted + b.Exhausted,
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
