// Package seam is the one place where insideout's implementation touches
// shared memory or synchronises: the atomic types and functions of
// sync/atomic, a Mutex and a Cond, a Parker for a goroutine that must
// sleep, Await for a channel that is closed once, Go to start a
// goroutine, Yield for a loop that waits, and Point for a place where
// another goroutine's step matters.
//
// There are three builds:
//
//   - ordinary: every function is the bare sync/atomic, sync or runtime
//     call. The switch-point hook is an empty function that the compiler
//     inlines away, so the seam costs nothing (docs/seam-cost.md).
//   - -tags chaos: Point is impl/chaos's perturbation point, as before.
//   - -tags sched: every call is a switch point of a controlled scheduler.
//     Run runs a function, and every goroutine it starts through Go, so
//     that exactly one of them runs between two switch points, and a
//     Chooser decides at each point who goes next. A goroutine that parks
//     through the seam (Parker, Mutex, Cond, Await) is blocked until the
//     seam lets it go; the scheduler sees every goroutine blocked and
//     reports a deadlock at once. This is loom's design (its atomics
//     under cfg(loom)); package linearize/schedule holds the strategies
//     (random, PCT, bounded DFS, replay) and the replay tokens.
//
// Outside a run, a -tags sched build behaves like an ordinary one, a
// little slower, so a whole test suite may be built with the tag.
//
// Your own code takes part the same way: use this package's types in
// place of sync/atomic's and sync's, start goroutines with Go, and wait
// through Parker or Await rather than on a raw channel. Code between two
// switch points runs as one step, so every shared access must pass one; a
// goroutine of a run that blocks outside the seam (a raw channel, a
// syscall, a sync.Mutex) is reported as "uncontrolled blocking" with its
// stack after Options.Stall, never left to hang the run.
//
// Handing the turn from goroutine to goroutine orders them, which hides
// data races from the race detector: keep free-running tests under -race
// beside the controlled ones.
package seam
