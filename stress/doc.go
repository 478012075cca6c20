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
// Run it under the race detector, with and without schedule perturbation:
//
//	GORACE="suppressions=$PWD/tsan-suppressions.txt" go test -race ./stress/...
//	GORACE="suppressions=$PWD/tsan-suppressions.txt" go test -race -tags chaos ./stress/...
//
// Sizes are chosen so that each of those takes well under a minute on two
// cores. For a longer soak, set INSIDEOUT_SOAK to a multiplier of every
// size (item counts and rounds): INSIDEOUT_SOAK=10 runs ten times as much.
// Raise -timeout to match (go test's default is 10 minutes).
//
// The seeds of the randomized parts are logged (-v) and in every failure
// message; INSIDEOUT_SEED fixes them (see package linearize), and
// INSIDEOUT_REPORT_DIR says where the visualizations of non-linearizable
// histories go.
package stress
