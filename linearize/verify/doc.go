// Package verify is the insideout command as a library: Main runs the
// command line (verify, replay, list, help) over any set of campaigns, so
// that a command of your own runs your campaigns beside insideout's with
// the same flags, table, verdict line and exit statuses:
//
//	mine := campaign.FromScenario("stack", "my lock-free stack", newStackScenario)
//	os.Exit(verify.Main(os.Args[1:], append(campaign.All(), mine)))
//
// cmd/insideout is exactly that, with insideout's campaigns alone.
//
// Usage:
//
//	insideout verify [flags]   run the campaigns (the main job)
//	insideout replay TOKEN     replay exactly the failing schedule a token names
//	insideout list             list the campaigns and what each exercises
//	insideout help             show the usage
//
// The flags of verify:
//
//	-duration d       total wall time, a Go duration such as 30s or 10m,
//	                  split evenly between the selected campaigns, which
//	                  run one after another (default 20s)
//	-seed n           seed of every campaign, a non-zero number, decimal
//	                  or 0x hex (default $INSIDEOUT_SEED if set, else a
//	                  random seed)
//	-only a,b         run only the named campaigns
//	-clients n        concurrent clients per round (0: each campaign's default)
//	-ops n            operations per client per round (0: each campaign's default)
//	-check-timeout d  the checker's limit per history (default 10s); a
//	                  history not decided in time is Unknown, a failure
//	-report-dir p     where the HTML visualizations of violations, and the
//	                  programs too long to print, go (default
//	                  $INSIDEOUT_REPORT_DIR, else insideout-reports in the
//	                  system's temporary directory)
//	-sched s          how the rounds are scheduled: free, chaos, random,
//	                  pct, pct:D, dfs or dfs:P (default pct:3 in a build
//	                  with -tags sched, chaos in one with -tags chaos,
//	                  else free; see below)
//
// # Schedules
//
// free leaves the interleavings of every round to Go's scheduler; chaos
// does too, in a build with -tags chaos, where the implementations yield
// at random (seeded) at their seam points (impl/chaos). The other
// strategies (package linearize/schedule) run the rounds of the
// campaigns whose Controlled is set (queue, mailbox, runtime, pool,
// continuation, eventq, and a campaign of your own made with
// campaign.FromScenario), under impl/seam's controlled scheduler, one
// goroutine at a time, the strategy choosing at every switch point who
// goes next:
//
//   - random: one uniformly random schedule per program.
//   - pct, pct:D: one PCT schedule per program, of bug depth D (1 to 10;
//     pct is pct:3): a bug of depth D shows with a probability bounded
//     below.
//   - dfs, dfs:P: every schedule with at most P preemptions (0 to 10; dfs
//     is dfs:2), one after another, on programs of 2 clients of 3
//     operations unless -clients and -ops say otherwise. A program whose
//     every such schedule ran is exhausted, and the table says how many
//     were.
//
// They need a build with -tags sched:
//
//	go run -tags sched ./cmd/insideout verify -sched pct
//
// Every campaign of insideout's own is controlled (the event queue's
// too: under the controlled scheduler its waits park through the seam and
// the kernel's firings are steps of a goroutine of the run). A campaign of
// your own whose Controlled is false (its engine waits outside impl/seam)
// runs free beside the others, and verify says so in a line before the
// table. A controlled strategy in a build
// without -tags sched, or chaos without -tags chaos, is a usage error
// that gives the command line to run instead; so is INSIDEOUT_TOKEN set
// under a controlled strategy, since it would make every controlled
// campaign replay the token instead of exploring.
//
// A failure under the controlled scheduler carries a token (io1.…) that
// names the round's program and its schedule exactly. Before printing
// it, verify replays the token once and says, on a line of its own,
// "replays exactly: same steps (trace hash 0x…)", or "DOES NOT REPLAY:"
// and why: the same schedule running differently twice in one build is
// uncontrolled nondeterminism, a bug in the harness or in the code's
// seam coverage (shared memory or a wait outside impl/seam). The failure
// names its exact replay:
//
//	go run -tags sched ./cmd/insideout replay io1.…
//
// replay runs that one schedule of that program again, with the campaign
// whose scenario the token names, from the token alone: no flag, nor
// INSIDEOUT_SEED, INSIDEOUT_ROUND or INSIDEOUT_TOKEN (a violation's
// report goes to the default report directory, $INSIDEOUT_REPORT_DIR if
// set). It prints a reproduced failure on standard error, as verify
// does, then "REPRODUCED" on standard output, exit status 1; or "PASS:
// the schedule no longer fails", 0. A malformed token, a stale one (the
// code changed since it was made: the run leaves the token's decisions,
// or follows them by other steps), one of no campaign's scenario, or a
// build without -tags sched is one line on standard error, exit status 2.
//
// # Output
//
// One seed serves every campaign, so the seed printed at the end replays
// the whole run's programs: go run ./cmd/insideout verify -seed 0x...
// (with the same -only, -clients, -ops, -check-timeout and -sched, and
// the build tag -sched needs, as the printed command line has them).
// Setting INSIDEOUT_ROUND as well makes every round replay that one
// round's program (and, under a controlled strategy, its schedules).
//
// While it runs, verify reports progress on standard error about once a
// second. At the end it prints the seed and the strategy, a table of what
// each campaign did and a verdict line (PASS, FAIL or INCOMPLETE) on
// standard output. The table's schedules column counts the schedules
// each campaign ran under the controlled scheduler, or says free (chaos
// in a chaos build); under dfs an exhausted column follows it. A
// campaign stops at its first failed round: a history that is not
// linearizable (Illegal), one the checker could not decide in time
// (Unknown, which is never a pass), a round that hung, or an operation
// that panicked. The failure's message, with the command that replays the
// round, its program (the first lines; a longer one goes to a file in
// the report directory) and the path of the HTML visualization, goes to
// standard error, and no further campaign runs.
//
// Each campaign runs until the end of its slot of -duration. A round is
// not interrupted, so a campaign ends only when its round in progress
// ends and that round's history is checked; a campaign that runs past
// its share takes the time from the next one (which keeps a quarter of
// its share at least), and one still in a round two seconds after its
// share ended is stopped: verify reports it, with the goroutines' stacks
// in a file of the report directory, and runs no further campaign. An
// interrupt (Ctrl-C) or SIGTERM stops the run early, waiting for the round
// in progress for two seconds at most; the table still shows what ran.
//
// Exit status of verify: 0 if every selected campaign ran its full share
// and passed; 1 if one failed; 2 for a usage error (an unknown subcommand
// or flag, a malformed value, an unknown campaign name in -only, or a
// -sched this build cannot run); 3 if the run is incomplete: interrupted
// before every selected campaign had its full share, a campaign ran no
// round, or one was stopped. Of replay: 0 PASS, 1 REPRODUCED, 2 as above.
package verify
