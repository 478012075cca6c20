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
//	insideout help             show the usage and the flags
//
// Package linearize/verify is the command as a library, and says what
// verify does, its flags and its exit statuses.
package main
