package verify

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/insideout-go/insideout/linearize/campaign"
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

// Main runs the insideout command line args (without the program name:
// os.Args[1:]) over campaigns, writing to standard output and error, and
// returns the exit status for os.Exit. An interrupt or SIGTERM stops
// verify early (exit status 3, a run cut short); a second one kills the
// process. A command of a user's own runs their campaigns beside
// insideout's, with the same table, flags and exit statuses:
//
//	func main() { os.Exit(verify.Main(os.Args[1:], append(campaign.All(), mine))) }
func Main(args []string, campaigns []campaign.Campaign) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling, so that a
	// second one kills the process even if a round takes long to end.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := Run(ctx, args, os.Stdout, os.Stderr, campaigns)
	stop()
	// A campaign that verify stopped waiting for may still be running:
	// the caller's exit ends it.
	return code
}

// Run executes the command line args (without the program name) against
// campaigns, writing results to stdout and progress, failures and usage to
// stderr, and returns the exit status. Cancelling ctx stops verify early.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, campaigns []campaign.Campaign) int {
	stderr = &syncWriter{w: stderr}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "insideout: no command given")
		usage(stderr)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "verify":
		return runVerify(ctx, rest, stdout, stderr, campaigns)
	case "replay":
		return runReplay(rest, stdout, stderr, campaigns)
	case "list":
		return list(rest, stdout, stderr, campaigns)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitPass
	default:
		return usageError(stderr, "insideout", fmt.Sprintf("unknown command %q (commands: verify, replay, list, help)", cmd))
	}
}

// usage writes the command's usage, with the flags of verify, to w.
func usage(w io.Writer) {
	fmt.Fprint(w, `usage: insideout <command> [flags]

Commands:
  verify         run the verification campaigns (the project's main job)
  replay TOKEN   replay exactly the schedule of a failure under -sched
                 (a build with -tags sched), by the token it printed
  list           list the campaigns and what each exercises
  help           show this help

Flags of verify:
`)
	fs, _ := verifyFlags()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, `
verify ends with a verdict line: PASS, FAIL or INCOMPLETE.

-sched: free and chaos leave the interleavings to Go's scheduler (chaos
perturbs them, in a build with -tags chaos, where it is the default).
random, pct and dfs run the controlled campaigns (queue, mailbox,
runtime, pool, continuation, eventq) under impl/seam's controlled
scheduler, in a build with -tags sched, where pct:3 is the default:

  go run -tags sched ./cmd/insideout verify -sched pct

random draws one schedule per program, pct one PCT schedule, which
shows a bug of that depth with a probability bounded below, dfs every
schedule with
at most that many preemptions (on programs of 2 clients of 3 operations
unless -clients and -ops say otherwise). A campaign of your own that is
not controlled runs free beside them, and verify says which. A failure under the controlled
scheduler prints a token that names its program and schedule exactly;
verify replays it once to check that it replays, and

  go run -tags sched ./cmd/insideout replay TOKEN

replays it again.

Exit status of verify:
  0  PASS: every selected campaign ran its full share and passed
  1  FAIL: a campaign failed (Illegal, Unknown, hang or panic)
  2  a usage error
  3  INCOMPLETE: interrupted before every selected campaign had its full
     share, a campaign ran no round (its share was too short for one),
     or a campaign was stopped for running past its share

Exit status of replay:
  0  PASS: the schedule no longer fails
  1  REPRODUCED: the token's failure, by the same steps
  2  a usage error, a malformed or stale token (the code changed since
     it was made), a token of no campaign's scenario, or a build
     without -tags sched
`)
}
