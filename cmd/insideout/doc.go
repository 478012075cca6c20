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
//	insideout mutate [flags] [packages]
//	                           mutation testing: make concurrency-aware mutants
//	                           of the packages and run their tests and campaigns
//	                           on each (insideout mutate -h; docs/mutation.md)
//	insideout help             show the usage and the flags
//
// Package linearize/verify is the command as a library, and says what
// verify and replay do, their flags and their exit statuses. Package
// internal/mutate is mutate: its operators (a CompareAndSwap made a Store,
// a Swap split, an atomic access made plain, a store moved across the
// atomic operation that publishes it, a wake-up or a re-check dropped, a
// read moved out of its lock or CAS loop, a watching loop's break,
// condition or bound changed, an error unchecked), its kill steps per
// package, and its report: per package and operator, mutants made,
// killed (by which step, how fast), timed out, survived (with their
// diffs), equivalent (with their arguments) and unbuildable.
package main
