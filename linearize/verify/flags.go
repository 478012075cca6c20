package verify

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
)

// verifyConfig holds the flags of verify.
type verifyConfig struct {
	duration     time.Duration
	seed         uint64
	only         string
	clients      int
	ops          int
	checkTimeout time.Duration
	reportDir    string
	sched        string // as -sched gives it; see parseSched
	recheck      bool
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
	fs.Var(durationValue{&c.checkTimeout}, "check-timeout", "the checker's limit per history, a Go `duration`: a history not decided in time is Unknown, a failure")
	fs.StringVar(&c.reportDir, "report-dir", linearize.DefaultReportDir(), "`directory` for the HTML visualizations of violations and the programs too long to print")
	fs.BoolVar(&c.recheck, "recheck", false, "under a controlled -sched, run every schedule twice and fail a round whose steps differ: nondeterminism outside impl/seam, which would keep a failure from replaying (doubles the cost)")
	fs.StringVar(&c.sched, "sched", defaultSched(), "how rounds are scheduled, a `strategy`: free; chaos (a build with -tags chaos); or, under the controlled scheduler (a build with -tags sched), random, pct[:depth] (1 to 10; pct is pct:3) or dfs[:preemptions] (0 to 10; dfs is dfs:2). See below")
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
