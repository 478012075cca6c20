// Command insideout runs insideout's verification campaigns: for every
// primitive, a randomized linearizability campaign (package
// linearize/campaign) that drives the implementation from concurrent
// clients, records each history and checks it against the primitive's
// sequential model. Running them is the project's main job:
//
//	go run ./cmd/insideout verify
//
// Built with -tags sched, verify runs the campaigns built on scenarios
// under impl/seam's controlled scheduler (-sched pct:3 by default; random,
// pct:D and dfs:P too), and a failure prints a token that replays its
// schedule exactly:
//
//	go run -tags sched ./cmd/insideout verify -sched pct
//	go run -tags sched ./cmd/insideout replay io1.…
//
// Usage:
//
//	insideout verify [flags]   run the campaigns (the main job)
//	insideout replay TOKEN     replay exactly the failing schedule a token names
//	insideout list             list the campaigns and what each exercises
//	insideout help             show the usage and the flags
//
// Package linearize/verify is the command as a library, and says what
// verify and replay do, their flags and their exit statuses.
package main
