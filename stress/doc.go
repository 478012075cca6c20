// Package stress holds insideout's stress suites: long and many-goroutine
// runs of the concurrent primitives, meant for the race detector. It has no
// code of its own outside its tests; this file documents it.
//
// For impl/queue (queue_test.go), with more goroutines than the machine has
// cores (at least 4 producers and 4 consumers):
//
//   - thousands of short histories, checked for linearizability by package
//     linearize through campaign.QueueScenario with 8 clients: producers
//     against consumers, clients that do both, and producers against
//     consumers on a queue warmed up to the edge of a segment;
//   - a conservation run: 4 producers push numbered items while 4
//     consumers pop them all; every item must come out exactly once, each
//     consumer must see each producer's items in order, and the queue must
//     be empty at the end. A lost item fails the test after a stall
//     timeout, naming what is missing, rather than hanging it;
//   - a storm: 8 goroutines each push and pop in random bursts; at the end
//     the quiescent Len must be exact, and a drain must bring out every
//     item not yet popped, so that every item came out exactly once.
//
// For impl/mailbox (mailbox_test.go):
//
//   - thousands of short histories of every operation at once, through
//     campaign.MailboxScenario at capacities 0, 1, 2 and unbounded, with 3
//     to 5 clients of 3 to 6 operations (small, because the mailbox model
//     is nondeterministic; the test logs porcupine's time per history),
//     each with its release, lost-wake-up check and final drain;
//   - conservation under storms: 4 senders send numbered items with Send,
//     TrySend and SendContext (retrying after an interrupt, a timeout,
//     Full or Paused, or giving up and counting the item as not
//     delivered), 4 receivers take them with Recv, TryRecv, RecvContext
//     and All, while storm goroutines pause and resume, interrupt, set the
//     capacity (0 and unbounded included) and drain. The mailbox is then
//     closed for writing at the end, or at both ends halfway, racing
//     everything, and drained. Every item reported delivered must come out
//     exactly once, no item reported not delivered may come out, each
//     receiver must see each sender's items in order, the final drain must
//     hold only items newer than those received, and the flags, capacity
//     and close results must agree with what the storm did. A watchdog
//     stops a run in which nothing moves for a stall timeout, closes the
//     mailbox and reports what is missing, rather than hanging;
//   - a void mailbox as a gate: 16 goroutines wait at it over and over
//     while it is paused, resumed and interrupted, then it is closed for
//     writing (while running, or while paused and then resumed); every
//     waiter must return false, and only after the close and the resume.
//
// selfcheck_test.go runs the conservation checks on deliberately broken
// queues and mailboxes (an item lost, duplicated, reordered, copied; a
// send that delivers but reports failure; a receiver that stalls) and the
// void storm on broken gates, and requires each break to be reported.
//
// Run it under the race detector, with and without schedule perturbation:
//
//	GORACE="suppressions=$PWD/tsan-suppressions.txt" go test -race ./stress/...
//	GORACE="suppressions=$PWD/tsan-suppressions.txt" go test -race -tags chaos ./stress/...
//
// Sizes are chosen so that each of those takes about 30 to 45 seconds on
// two cores (measured: 31 s under -race, 43 s with -tags chaos). For a longer soak, set INSIDEOUT_SOAK to a multiplier of every
// size (item counts and rounds): INSIDEOUT_SOAK=10 runs ten times as much.
// Raise -timeout to match (go test's default is 10 minutes).
//
// The seeds of the randomized parts are logged (-v) and in every failure
// message; INSIDEOUT_SEED fixes them (see package linearize), and
// INSIDEOUT_REPORT_DIR says where the visualizations of non-linearizable
// histories go.
package stress
