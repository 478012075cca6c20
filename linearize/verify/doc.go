// Package verify is the insideout command as a library: Main runs the
// command line (verify, list, help) over any set of campaigns, so that a
// command of your own runs your campaigns beside insideout's with the same
// flags, table, verdict line and exit statuses:
//
//	mine := campaign.FromScenario("stack", "my lock-free stack", newStackScenario)
//	os.Exit(verify.Main(os.Args[1:], append(campaign.All(), mine)))
//
// cmd/insideout is exactly that, with insideout's campaigns alone.
//
// Usage:
//
//	insideout verify [flags]   run the campaigns (the main job)
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
//
// One seed serves every campaign, so the seed printed at the end replays
// the whole run's programs: go run ./cmd/insideout verify -seed 0x...
// (with the same -only, -clients, -ops and -check-timeout). Setting
// INSIDEOUT_ROUND as well makes every round replay that one round's
// program.
//
// While it runs, verify reports progress on standard error about once a
// second. At the end it prints the seed, a table of what each campaign
// did and a verdict line (PASS, FAIL or INCOMPLETE) on standard output. A
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
// Exit status: 0 if every selected campaign ran its full share and
// passed; 1 if one failed; 2 for a usage error (an unknown subcommand or
// flag, a malformed value, or an unknown campaign name in -only); 3 if
// the run is incomplete: interrupted before every selected campaign had
// its full share, a campaign ran no round, or one was stopped.
package verify
