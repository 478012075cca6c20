// Package bench holds side-by-side benchmarks of insideout's primitives
// against the standard library and the best Go peers. It is a module of its
// own, so that the peers (xsync) are dependencies of the benchmarks only,
// never of insideout itself.
//
// Run from this directory:
//
//	go test -run '^$' -bench . -benchtime 10000000x -count 3
//
// Every benchmark of a kind shares one harness, and every comparison is
// made within one run: these machines are shared and noisy, so compare
// ratios taken together, not absolute figures from different runs.
//
//   - BenchmarkQueueMPMC/{insideout,chan,xsync,mutex}/{1p1c,2p2c,4p4c}:
//     b.N items moved from p producers to c consumers; ns/op is per item.
//     chan is a buffered channel of 1024, xsync is xsync.MPMCQueue of 1024
//     (bounded), mutex a slice behind a mutex. A consumer that finds
//     nothing, or a producer that finds a bounded queue full, yields with
//     runtime.Gosched() and tries again; channels block instead.
//   - BenchmarkQueueBytesPerItem/{insideout,chan,xsync}: b.N items queued,
//     the live heap they cost reported as bytes/item. With -benchtime
//     10000000x that is at ten million queued; -benchtime 100000000x
//     measures a hundred million (about 1 GB for insideout).
package bench
