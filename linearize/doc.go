// Package linearize records concurrent histories, checks them for
// linearizability with porcupine, reports violations, and runs randomized
// scenarios in the manner of Kotlin's Lincheck.
//
// The pieces, from the bottom up:
//
//   - A [Recorder] gives each client goroutine a [Client] of its own, which
//     stamps the call of an operation with a monotonic clock before it is
//     invoked and the return after it has returned. Clients share nothing
//     while they record, so recording adds no lock and no shared cache line
//     to the operations it observes.
//   - [Check] runs porcupine over a history with a time limit and returns
//     a [spec.Verdict]: Ok, Illegal or Unknown. Unknown (out of time) is
//     never a pass. For an Illegal history, [WriteReport] writes porcupine's
//     HTML visualization.
//   - A [Scenario] describes a primitive under test: its model, a
//     constructor, the operations clients draw from, how many clients, how
//     many operations each, how many rounds, and a seed. [Scenario.Run]
//     generates each round's program from the seed (deterministically),
//     releases the clients together, records, checks, and stops at the first
//     failure. A round that does not finish within its deadline is a failure
//     too, reported with a dump of every goroutine: a hang is a bug.
//   - [RapidGen] lets pgregory.net/rapid draw the programs instead, so that
//     rapid shrinks a failing scenario to a minimal one.
//
// Implementations perturb their own schedules at synchronisation points
// through package impl/chaos; a Scenario seeds it for every round, so
// running the tests with -tags chaos shakes each round differently but
// reproducibly.
package linearize
