// Package chaos is the schedule-perturbation hook of insideout, the Go form
// of the Nim original's "sleepy monkey".
//
// Implementation code calls [Point] at its synchronisation points: between
// claiming a slot and writing it, before publishing a new segment, and so
// on. In an ordinary build Point is an empty function that the compiler
// inlines away, so it costs nothing. Built with -tags chaos, each call
// draws a pseudo-random decision and sometimes yields the processor
// (runtime.Gosched) or pauses for a few microseconds, which widens the
// windows in which concurrent operations interleave and shakes out races
// that a quiet machine would hide.
//
// The decisions come from the seed given to [SetSeed] mixed with a
// process-wide call counter, so a seed fixes the sequence of decisions;
// it cannot fix which goroutine meets which decision, because that is the
// scheduler's choice. Replaying a seed therefore replays the perturbation,
// not the interleaving.
//
// [Enabled] reports whether this build perturbs at all.
package chaos
