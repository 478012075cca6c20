// Package bench holds side-by-side benchmarks of insideout's primitives
// against the standard library and the best Go peers. It is a module of its
// own, so that the peers (xsync, ants) are dependencies of the benchmarks
// only, never of insideout itself.
//
// Run from this directory:
//
//	go test -run '^$' -bench 'Queue|Mailbox|Dispatch' -benchtime 10000000x -count 3
//	go test -run '^$' -bench 'SpawnJoin|RuntimeWake' -count 3
//	go test -run '^$' -bench 'ContinuationMemory' -benchtime 10000000x -count 3
//	go test -run '^$' -bench 'FillDrain|GotoRoundTrip' -benchtime 1000000x -count 3
//	go test -run '^$' -bench 'ParkedSequential' -benchtime 100000x -count 3
//
// The second line keeps go test's default of one second per benchmark:
// an OS-thread runtime costs tens of microseconds to start and a hundred
// or more to wake, so ten million of them would take hours. The last
// keeps b.N modest because every parked sequential continuation holds a
// goroutine stack.
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
//   - BenchmarkMailbox/{insideout,chan,mutex}/...: b.N items from p
//     senders to p receivers with blocking Send and Recv;
//     BenchmarkMailboxPingPong: one item back and forth, every leg a park
//     and a wake-up. mutex is a yardstick, no product: the simplest
//     blocking FIFO that parks its waiters on channels of their own, as
//     any mailbox outside the Go runtime must (a ring under a mutex, with a
//     direct hand-over to the longest sleeper). At capacity 1 it is the
//     floor for that parking, against a channel, which parks inside its
//     own operation; with room to spare, the cost of a plain mutex and a
//     ring that never allocates.
//   - BenchmarkDispatch/{insideout,insideout-new,insideout-cap1024,
//     chanworkers,ants,go}: b.N empty tasks run by GOMAXPROCS workers,
//     submitted from one goroutine; ns/op is per task, making, submitting
//     and running it and the teardown included. insideout is a pool.Waiter
//     pool over an unbounded mailbox fed continuations from a cont.Maker;
//     insideout-new makes each with cont.New; insideout-cap1024 bounds the
//     mailbox. chanworkers is GOMAXPROCS goroutines ranging over a channel
//     of 1024 funcs, ants an ants/v2 pool of GOMAXPROCS, go one goroutine
//     per task and a WaitGroup; the peers submit one package-level func, so
//     their tasks cost no allocation.
//   - BenchmarkSpawnJoin/{insideout,insideout-osthread,go,go-osthread}: a
//     runtime spawned with an empty continuation and joined, one after
//     another; go and go-osthread are a goroutine (locked to its thread,
//     which then exits with it) closing a channel: the floors.
//   - BenchmarkRuntimeWake/{insideout,insideout-osthread,go,go-osthread}:
//     two runtimes pass one item back and forth through two mailboxes of
//     capacity 1, each asleep in RecvContext until the other sends; ns/op
//     is per round trip (two wake-ups). go and go-osthread run the same
//     continuations on plain goroutines.
//   - BenchmarkContinuationMemory/{new,maker}: b.N empty step continuations
//     queued in an unbounded mailbox and left there, the live heap they
//     cost (object and mailbox slot) reported as bytes/cont; new makes
//     each with cont.New, maker with one cont.Maker. With -benchtime
//     10000000x that is at ten million queued; -benchtime 100000000x
//     measures a hundred million (1.6 GB of live heap at 16 bytes each;
//     the whole test binary peaked at 1.7 GB resident).
//   - BenchmarkFillDrain/{insideout,insideout-new,chanworkers,go}: b.N
//     counting tasks put in a queue by GOMAXPROCS fillers while nothing
//     consumes it, then run by GOMAXPROCS workers; ns/op is per task, fill,
//     drain and teardown included, split as fill-ns/op and drain-ns/op, and
//     conts/s is the rate over the whole; every task must have run exactly
//     once. insideout fills an unbounded mailbox with continuations from a
//     cont.Maker per filler (insideout-new: cont.New), then pauses it,
//     starts a pool.Waiter pool of GOMAXPROCS on it and resumes it;
//     chanworkers fills a channel of b.N funcs, then starts GOMAXPROCS
//     goroutines ranging over it; go starts one goroutine per task from the
//     fillers and waits on a WaitGroup (its phases overlap). Each starts
//     with the memory of the one before given back to the OS
//     (debug.FreeOSMemory), so that none fills into pages another faulted
//     in.
//   - BenchmarkGotoRoundTrip/{step,sequential,chan}: one continuation
//     moved home -> away -> home b.N times between two pools of one
//     pool.Waiter runtime each; ns/op is per round trip (two wake-ups).
//     step ends its steps with return c.Goto(box, next), sequential is a
//     seq.New body calling k.Goto in a loop; chan is two goroutines passing
//     a pointer back and forth over two unbuffered channels, and
//     chan-coroutine the same with each side resuming one iter.Pull
//     coroutine to its next yield on every leg: the floor for a body that
//     moves between goroutines as a coroutine, as sequential's does.
//   - BenchmarkParkedSequential: b.N sequential continuations (seq.New)
//     stepped once each, so that each body is parked in k.Coop(); reports
//     bytes/cont, the live heap plus the goroutine stacks (StackInuse) each
//     adds, and the two apart; then each is stepped to its end. Each holds a
//     goroutine stack: -benchtime 100000x is a few hundred MB.
//
// The event queue (impl/eventq) against the Go runtime's timers and
// netpoller, at go test's default of one second per benchmark:
//
//	go test -run '^$' -bench 'Timers|PipeWake' -count 5
//
// Each takes a few seconds at that benchtime.
//
//   - BenchmarkTimers/{insideout,afterfunc}: b.N one-shot timers armed
//     and fired; ns/op is per timer. They are armed in waves of 100,000
//     (the event queue keeps its timers in a heap under one timerfd, so
//     a wave needs no fd per timer). A wave arms each timer to expire a pseudo-random
//     0..10 ms later, then waits until all have fired, so ns/op has a
//     floor of 10 ms / timers/wave. insideout arms each with q.After on
//     one queue, a continuation of its own each, then loops on q.Wait,
//     stepping what it hands out; each timer must fire exactly once
//     (checked after each wave, untimed). afterfunc arms each with
//     time.AfterFunc and one counting func, run on a goroutine of its own
//     at each firing while the arming goes on. arm-ns/op is the arming
//     alone; cpu-ns/op is the process's CPU time (user and system, all
//     threads) per timer, which the idle wait does not inflate.
//   - BenchmarkPipeWake/{insideout,netpoller}: a waiter woken by one byte
//     written on a pipe (syscall.Write on its blocking write end) reads it
//     and sends on an unbuffered channel, which the writer receives from
//     before the next byte; ns/op is per round trip. Only the waiting
//     differs: insideout is a continuation registered edge-triggered for
//     Read on the pipe's read end, run by a goroutine looping on RunReady
//     (epoll_wait in Wait, the step's read, Rearm); netpoller is a
//     goroutine blocked reading the read end of an os.Pipe, parked by Go's
//     netpoller.
package bench
