// Command insideout runs insideout's verification campaigns: for every
// primitive, a randomized linearizability campaign (package
// linearize/campaign) that drives the implementation from concurrent
// clients, records each history and checks it against the primitive's
// sequential model. Running them is the project's main job:
//
//	go run ./cmd/insideout verify
//
// Usage:
//
//	insideout verify [flags]   run the campaigns (the main job)
//	insideout list             list the campaigns and what each exercises
//	insideout help             show the usage
//
// The flags of verify:
//
//	-duration d    total wall time, split evenly between the selected
//	               campaigns, which run one after another (default 20s)
//	-seed n        seed of every campaign, decimal or 0x hex; 0 means
//	               $INSIDEOUT_SEED if set, else a random seed (default 0)
//	-only a,b      run only the named campaigns
//	-clients n     concurrent clients per round (0: each campaign's default)
//	-ops n         operations per client per round (0: each campaign's default)
//	-report-dir p  where the HTML visualizations of violations go
//	               (default $INSIDEOUT_REPORT_DIR, else insideout-reports
//	               in the system's temporary directory)
//
// One seed serves every campaign, so the seed printed at the end replays
// the whole run's programs: go run ./cmd/insideout verify -seed 0x...
// (with the same -only, -clients and -ops). Setting INSIDEOUT_ROUND as well
// makes every round replay that one round's program.
//
// While it runs, verify reports progress on standard error about once a
// second. At the end it prints the seed and a table of what each campaign
// did on standard output. A campaign stops at its first failed round: a
// history that is not linearizable (Illegal), one the checker could not
// decide in time (Unknown, which is never a pass), a round that hung, or
// an operation that panicked. The failure's message, with the replay seed
// and the path of the HTML visualization, goes to standard error, and no
// further campaign runs. An interrupt (Ctrl-C) or SIGTERM stops the run
// early; the table still shows what ran.
//
// Exit status: 0 if every campaign that ran passed, 1 if one failed, 2 for
// a usage error (an unknown subcommand or flag, or an unknown campaign
// name in -only).
package main
