// Package bench holds side-by-side benchmarks of insideout's primitives
// against the standard library and the best Go peers. It is a module of its
// own, so that the peers (xsync, ants) are dependencies of the benchmarks
// only, never of insideout itself. Each benchmark's comment says what it
// measures, what each peer is, and what ns/op (or bytes/item) is per;
// BENCHMARKS.md at the repository root holds the figures.
//
// The benchmarks, by file: queue_test.go (the queue), memory_test.go
// (bytes per queued item), mailbox_test.go (the mailbox, and a ping-pong), runtime_test.go
// (a pool dispatching tasks, spawning and joining runtimes, waking them),
// continuation_test.go (continuations: memory, fill and drain, round
// trips between pools, parked sequential bodies), eventq_test.go (timers
// and a pipe wake-up against Go's timers and netpoller), echo_test.go (an
// echo server against package net), and peers_test.go (the mutex-and-ring
// yardstick the mailbox benchmarks measure against).
//
// # Running it
//
// From this directory:
//
//	go test -run '^$' -bench 'Queue|Mailbox|Dispatch' -benchtime 10000000x -count 3
//	go test -run '^$' -bench 'SpawnJoin|RuntimeWake' -count 3
//	go test -run '^$' -bench 'ContinuationMemory' -benchtime 10000000x -count 3
//	go test -run '^$' -bench 'FillDrain|GotoRoundTrip' -benchtime 1000000x -count 3
//	go test -run '^$' -bench 'ParkedSequential' -benchtime 100000x -count 3
//	go test -run '^$' -bench 'Timers|PipeWake|Echo' -count 5
//
// The second line keeps go test's default of one second per benchmark:
// an OS-thread runtime is slow to start and to wake, so ten million of
// them would take hours; the last line runs at that default too, each
// benchmark a few seconds. ParkedSequential keeps b.N modest because
// every parked sequential continuation holds a goroutine stack. The memory
// benchmarks (QueueBytesPerItem, ContinuationMemory) report the live heap
// at b.N items queued: -benchtime 100000000x measures a hundred million,
// and needs gigabytes.
//
// Every benchmark of a kind shares one harness, and every comparison is
// made within one run: the machines are shared and noisy, so compare
// ratios taken together, not absolute figures from different runs.
package bench
