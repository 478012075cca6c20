// Package fuzz holds insideout's coverage-guided fuzz targets. It has no
// code of its own outside its tests; this file documents it.
//
// FuzzQueue (queue_test.go) turns its input bytes into a small concurrent
// program over impl/queue: the first byte picks the number of clients
// (1 to 4), the second a warm-up (the queue is pushed and popped that many
// times eight before the program starts, so that programs can straddle the
// boundary between two of the queue's segments), and each further byte,
// up to a cap that keeps one input in the milliseconds, one step: a push or
// a pop by one client. Each input is checked twice:
//
//   - sequentially, deterministically, on a fresh queue beside the
//     reference model.FIFO: once in the order the bytes give and once
//     client by client. Every Pop and every Len must match the model, and
//     the final drain must give back exactly the items the model holds.
//     This part is what coverage guidance feeds on.
//   - concurrently, with one goroutine per client, recorded and checked for
//     linearizability by package linearize (campaign.QueueScenario,
//     including its final quiescent Len and drain). The interleaving is the
//     scheduler's, so this part finds bugs by chance, not by guidance.
//
// A failure prints the input, the program and, for an Illegal history, the
// path of porcupine's visualization (under linearize.DefaultReportDir).
//
// Running it:
//
//	go test ./fuzz/                     # replays the seed corpus only
//	go test -run '^$' -fuzz FuzzQueue -fuzztime 30s ./fuzz/
//	go test -race ./fuzz/               # the corpus under the race detector
//
// The seed corpus lives in testdata/fuzz/FuzzQueue. When fuzzing finds a
// failing input, the go command writes it there; such a file is a
// regression test and is committed deliberately, after the bug is fixed.
package fuzz
