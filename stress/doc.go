// Package stress holds insideout's stress suites: long, many-goroutine runs
// of the concurrent primitives, meant for the race detector, with and
// without schedule perturbation. It has no code of its own outside its
// tests; each test's comment says what it runs and which bugs it catches.
//
// The suites, by file:
//
//   - queue_test.go: impl/queue: histories checked for linearizability,
//     a conservation run and a storm.
//   - mailbox_*_test.go, void_test.go: impl/mailbox: histories, a
//     conservation storm (pauses, interrupts, capacity changes, drains and
//     closes racing the senders and receivers), batch wake-ups, and the
//     void mailbox as a gate.
//   - runtime_*_test.go: impl/rt: histories of the control operations,
//     trees of linked runtimes torn down by a panic or a Halt, and
//     runtimes on OS threads.
//   - pool_*_test.go: impl/pool: storms on a pool's workers, ending in a
//     conservation check of every item sent; and TestForgottenPools: 300
//     pools made and forgotten mid-work, every runtime must end and every
//     job be completed once or back in a mailbox (control: HidesInFlight).
//   - eventq_*_test.go: impl/eventq on real fds: histories, storms of
//     registrations, cancels and closes, and runtimes living on their
//     event queues.
//   - continuation_test.go: random programs moving continuations between
//     pools, and, under -tags chaos, that impl/cont's and impl/seq's seam
//     points let another goroutine in (TestChaosPerturbs*; impl/pool's in
//     pool_chaos_test.go).
//   - backlog_test.go: impl/backlog: 6 producers into a mailbox of 8,
//     blocking, dropping, a writer that fails part way and a Close while
//     they run; every record counted, each producer's in its order.
//   - cubby_test.go: impl/cubby: a writer of counted writes beside a reader
//     whose every read is checked (whole, its version's value, never going
//     back, the last one seen), on every processor and on one.
//   - semaphore_test.go: impl/semaphore: a storm of acquires (some cut
//     short by their contexts), tries and releases, counting the holders
//     at every moment and every permit at the end.
//   - selfcheck_test.go, the *_broken_test.go files and pool_test.go: the
//     checks run on deliberately broken primitives, each of which must be
//     reported.
//
// Every check that waits has a deadline or a watchdog, so that a lost item
// or a stuck call is reported, naming what is missing, instead of hanging
// the test.
//
// # Running it
//
// From the repository root, under the race detector, with and without the
// chaos hooks of impl/chaos:
//
//	GORACE="suppressions=$PWD/tsan-suppressions.txt" go test -race ./stress/...
//	GORACE="suppressions=$PWD/tsan-suppressions.txt" go test -race -tags chaos ./stress/...
//
// The sizes are chosen so that each of those takes a minute or two on two
// cores. Environment variables:
//
//   - INSIDEOUT_SOAK=n multiplies every size (item counts, rounds, storms)
//     by n, for a longer soak; raise -timeout to match (go test's default
//     is 10 minutes).
//   - INSIDEOUT_SEED fixes the seeds of the randomized parts, which are
//     logged (-v) and named in every failure message; INSIDEOUT_ROUND
//     replays one round of a history suite (see package linearize).
//   - INSIDEOUT_DURATION bounds the history suites by time instead of by
//     rounds (see package linearize).
//   - INSIDEOUT_REPORT_DIR says where the visualizations of
//     non-linearizable histories go.
package stress
