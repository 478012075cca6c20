// Package fuzz holds insideout's coverage-guided fuzz targets. It has no
// code of its own outside its tests; each target's file says how it reads
// its input and what it checks.
//
// Each target turns its input bytes into a small program over one
// primitive (every byte string is a valid input) and checks it twice:
//
//   - sequentially and deterministically, beside a reference model from
//     package model: every result must match the reference's, step by
//     step. This part is what coverage guidance feeds on.
//   - concurrently, one goroutine per client, recorded and checked for
//     linearizability by package linearize through the campaigns of
//     linearize/campaign. The interleaving is the scheduler's, so this
//     part finds bugs by chance, not by guidance.
//
// The targets:
//
//   - FuzzQueue (queue_test.go): impl/queue against model.FIFO.
//   - FuzzMailbox (mailbox_test.go): every operation of impl/mailbox
//     against model.MailboxRef and model.Mailbox.
//   - FuzzRuntime (runtime_test.go): the control operations of impl/rt
//     against model.RuntimeRef and model.Runtime.
//   - FuzzRuntimeLinks (runtime_links_test.go): three impl/rt runtimes
//     controlled, linked, unlinked, signalled and put under halters by
//     up to three clients at once, against model.Runtime.
//   - FuzzContinuations (continuation_test.go): rounds of programs that
//     move continuations between pools, against model.ContTrace.
//   - FuzzEventQueue (eventq_test.go): impl/eventq on real pipes and
//     sockets against model.EventQRef and model.EventQ, fds counted, with
//     SIGUSR1 and SIGUSR2 sent to the process.
//   - FuzzSemaphore (semaphore_test.go): impl/semaphore against
//     model.SemaphoreRef and model.Semaphore.
//   - FuzzPool (pool_test.go): a pool's members and work against
//     model.PoolRef, model.RuntimeRef and model.PoolLedger.
//   - FuzzCubby (cubby_test.go): a writer's and a reader's steps on
//     impl/cubby against model.CubbyRef and model.Cubby.
//   - FuzzBacklog (backlog_test.go): impl/backlog against model.BacklogRef
//     and a synchronous slog.TextHandler (byte for byte), then
//     model.Backlog.
//
// selfcheck_test.go, and tests beside the targets, hand the checks
// deliberately broken primitives and require each break to be caught.
//
// # Running it
//
// From the repository root:
//
//	go test ./fuzz/                # replays the seed corpora only
//	go test -race ./fuzz/          # the corpora under the race detector
//	go test -run '^$' -fuzz FuzzQueue -fuzztime 30s ./fuzz/
//
// and likewise -fuzz FuzzMailbox, FuzzRuntime, FuzzRuntimeLinks,
// FuzzContinuations, FuzzEventQueue, FuzzSemaphore, FuzzPool, FuzzCubby or
// FuzzBacklog: go test fuzzes one target at a time. With -tags chaos,
// each target derives the seed of impl/chaos from its input, so that an
// input replays its perturbation too.
//
// The seed corpora live in testdata/fuzz/<target>. When fuzzing finds a
// failing input, the go command writes it there; such a file is a
// regression test and is committed deliberately, after the bug is fixed.
// A failure prints the input, the program and, for a history that is not
// linearizable, the path of porcupine's visualization (under
// linearize.DefaultReportDir, or INSIDEOUT_REPORT_DIR if set).
package fuzz
