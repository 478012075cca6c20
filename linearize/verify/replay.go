package verify

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// runReplay runs insideout replay TOKEN: the one schedule of one round
// that the token names (a failure's token under -sched), with the
// campaign of campaigns that owns its scenario. A failure it reproduces
// goes to stderr as verify prints one, then REPRODUCED to stdout (exit
// status 1); a schedule that now passes says so (0); a token that is
// malformed, stale, of no campaign's scenario, or given to a build
// without -tags sched is one line on stderr (2).
func runReplay(args []string, stdout, stderr io.Writer, campaigns []campaign.Campaign) int {
	const cmd = "insideout replay"
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitPass
		}
		return usageError(stderr, cmd, err.Error())
	}
	switch fs.NArg() {
	case 0:
		return usageError(stderr, cmd, "no token given: insideout replay io1.… (a failure under -sched prints its token)")
	case 1:
	default:
		return usageError(stderr, cmd, "want one token, not "+plural(fs.NArg(), "argument")+": "+strings.Join(fs.Args(), " "))
	}
	tok, err := schedule.ParseToken(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return exitUsage
	}
	if !seam.Enabled {
		fmt.Fprintf(stderr, "%s: replaying a schedule needs a build with -tags sched: %s\n", cmd, goRun("sched", []string{"replay", fs.Arg(0)}))
		return exitUsage
	}
	err = campaign.Replay(campaigns, tok)
	var f *linearize.Failure
	if err == nil || errors.As(err, &f) {
		fmt.Fprintf(stderr, "replay: %s, round %d of seed %#x, %d clients of %d operations, %s, found by %s\n",
			tok.Scenario, tok.Round, tok.Seed, tok.Clients, tok.Ops, plural(len(tok.Choices), "decision"), tok.Strategy)
	}
	switch {
	case f != nil:
		f.ReplayExact = goRun("sched", []string{"replay", f.Token})
		msg := err.Error()
		if f.Program != "" {
			msg = strings.Replace(msg, f.Program, shortProgram(f, linearize.DefaultReportDir()), 1)
		}
		fmt.Fprintf(stderr, "replay: %s FAILED\n%s\n", tok.Scenario, dropTestReplay(msg))
		if f.Report != "" {
			fmt.Fprintf(stderr, "violation: report at %s\n", f.Report)
		}
		fmt.Fprintf(stdout, "replays exactly: same steps (trace hash %#x)\nREPRODUCED\n", tok.Hash)
		return exitFail
	case err == nil:
		fmt.Fprintln(stdout, "PASS: the schedule no longer fails")
		return exitPass
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
	return exitUsage
}
