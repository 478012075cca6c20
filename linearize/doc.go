// Package linearize records concurrent histories, checks them for
// linearizability with porcupine, reports violations, and runs randomized
// scenarios in the manner of Kotlin's Lincheck.
//
// To verify a primitive of your own, write three things (ExampleScenario
// has them all, for a lock-free stack and a known-bad twin):
//
//   - a [Model]: the simplest obviously correct sequential version, as
//     states and a Step that says whether a call may return what it did;
//   - a [Scenario]: how to build the system, the operations ([Op]) that
//     clients call on it, and what runs when they are done (Finally);
//   - a run: [Scenario.Test] in a test, [Scenario.Run] anywhere, or
//     rapid.Check(t, sc.Rapid) to let rapid draw and shrink programs; and
//     [Scenario.TestFails] on a known-bad twin, to show that the check
//     fails where it should (under a schedule, with the failure replayed
//     exactly from its token).
//
// Each round generates a program from the seed and the round number,
// starts one goroutine per client, releases them together, records every
// call and return, and checks the history against the model. A round that
// does not finish within its deadline is a failure too, reported with a
// dump of every goroutine: a hang is a bug. So is a call asleep although
// the state would let it proceed (Scenario.Stuck): a lost wake-up. A
// failure is a [*Failure]: the seed and round that replay it, the program,
// and the path of porcupine's HTML visualization of an Illegal history.
//
// The model is checked as it runs: a Step that panics, or a state that ==
// cannot compare, is reported as the model's mistake, never as a crash
// inside porcupine.
//
// The pieces underneath, for engines of their own:
//
//   - A [Recorder] gives each client goroutine a [Client] of its own, which
//     stamps the call of an operation with a monotonic clock before it is
//     invoked and the return after it has returned. Clients share nothing
//     while they record, so recording adds no lock and no shared cache line
//     to the operations it observes.
//   - [Check] runs porcupine over a history with a time limit and returns
//     a [Checked] with a [Verdict]: Ok, Illegal or Unknown. Unknown (out of
//     time) is never a pass. For an Illegal history,
//     [Checked.WriteReport] writes porcupine's HTML visualization.
//   - A [Gen] makes every random choice of a program: seeded ([NewGen]),
//     so that a seed replays a program exactly, or drawn by rapid
//     ([RapidGen]), so that rapid can shrink it.
//
// Seeds, rounds and budgets come from the environment when a test does not
// set them: INSIDEOUT_SEED and INSIDEOUT_ROUND replay a run or a round
// ([ResolveSeed], [ReplayRound]); INSIDEOUT_DURATION runs every scenario
// for that long ([BudgetFromEnv]).
//
// Implementations perturb their own schedules at synchronisation points
// through package impl/chaos; a Scenario seeds it for every round, so
// running the tests with -tags chaos shakes each round differently but
// reproducibly.
package linearize
