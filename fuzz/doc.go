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
// FuzzMailbox (mailbox_test.go) does the same for impl/mailbox. Byte 0
// picks the capacity (0, 1, 2, 3 or unbounded), byte 1 the number of
// clients (1 to 4), and each further byte, up to 64, one step: its low six
// bits an entry of a 64-entry table that reaches every operation of
// spec.Mailbox (TrySend with distinct values or nil, TrySendMany of 0, 2, 3
// or 5 distinct values or of three with a nil in the middle, Send,
// SendContext with a live or an already ended context, the three receives
// likewise, TryRecvMany into a buffer of 0, 1, 2, 3 or 5, Pause, Resume,
// CloseWrite, CloseRead, Interrupt(0..2), SetCap(0..3 or unbounded),
// Clear, Drain, Len, Cap, Flags and the four Wait calls), its top two bits
// the client. The kinds that came before the batch forms keep the table
// index of their first entry, which is what the seed corpus files use. Each
// input is checked twice:
//
//   - sequentially, deterministically, on a fresh mailbox beside the
//     reference model.MailboxRef, in byte order and client by client:
//     every result (and every received pointer, which must be the one
//     sent; a batch receipt must also leave its buffer untouched past the
//     items it reports), and after every step Len, Cap and Flags, must
//     match the reference, and a final Drain must give back what the
//     reference holds. A blocking call is made only where the reference
//     says it returns at once (it can proceed, or an interrupt is pending,
//     which it must take); where it would sleep the step is skipped. A
//     blocking call that sleeps anyway is reported after a few seconds and
//     released, not left to hang. This part is what coverage guidance
//     feeds on.
//   - concurrently: each client's first five steps, as campaign.MailboxOps
//     steps, run once through campaign.MailboxScenario (Release, the
//     lost-wake-up check, the final Len, Flags and Drain) and checked for
//     linearizability against model.Mailbox.
//
// FuzzRuntime (runtime_test.go) does the same for impl/rt, on a runtime
// running campaign.Counting (a continuation that counts its steps and
// never finishes). Byte 0 picks the number of clients (1 to 4), and each
// further byte, up to 24, one step: its low four bits an entry of a
// 16-entry table of the control operations (Halt, Freeze, Thaw, Interrupt,
// Cancel, Eject, Flags, a read of the step counter, Join; freezes and
// thaws often, Halt and Cancel rarely), bits 4 and 5 whether the runtime
// is first let run (the replay waits until its counter moves, if the
// reference says it steps), its top two bits the client. Each input is
// checked twice:
//
//   - sequentially, on a fresh runtime beside the reference
//     model.RuntimeRef, in byte order and client by client: every Bool and
//     error result must match the reference; after every step the replay
//     waits, up to a few seconds, until the runtime's Flags equal the
//     reference's (asleep once frozen, Dead once halted, canceled or
//     ejected and thawed), a mismatch at the deadline being a failure
//     that names the program; while the reference says the runtime cannot
//     step (frozen, ejected, torn down) the step counter must not move
//     across an operation, nor between two; Eject must hand over the very
//     continuation spawned; Join is called only once the reference is
//     Dead, and must return what the reference's Join does. The runtime
//     is always halted and joined at the end, and a final Halt and Join
//     are checked too. This part is what coverage guidance feeds on.
//   - concurrently: each client's first six steps, as campaign.RuntimeOps
//     steps, run once through campaign.RuntimeScenario (Release halts the
//     runtime once every client sleeps in Join; Finally halts, joins and
//     reads the flags and counter twice) and checked for linearizability
//     against model.Runtime.
//
// FuzzContinuations (continuation_test.go) turns its input into a round
// of the continuation campaign (campaign.ContRound): a topology of pools
// and programs of Work, Goto, ComeFrom, NovelThread and Coop
// (model.ContInstr) that move continuations between them. Byte 0 picks
// the number of programs (1 to 4), byte 1 the top-level instructions of
// each (1 to 8), and every further byte is one choice of
// campaign.GenContRound, in the order it makes them, taken modulo the
// number of options: the number of pools (2 to 4); for each pool its
// workers (1 to 3), whether its mailbox is bounded (one in three; then a
// capacity, always large enough that the round can end) and whether its
// workers are on OS threads (byte value 15 modulo 16); for each program
// its starting pool, its form (step continuations, sequential, or steps
// with sequential remote parts) and its instructions, each a choice out
// of ten (work four, goto two, comefrom two, novel thread one, coop one;
// the pool of a goto or comefrom, and the length of a remote part, 1 to
// 3, are further choices). The generator keeps every round free of
// deadlocks of its own making: a remote part only ever runs on pools
// numbered above those whose workers its callers hold. Past the end of
// the input every choice is 0 (the rest is work steps on pool 0), and a
// choice between one option takes no byte. Each input is checked twice,
// both times by campaign.RunContRound against model.ContTrace (every step
// exactly once, in program order, on the pool the program says, no two
// steps of a program at once, nothing left in a worker's hand, a
// deadline for a lost continuation):
//
//   - sequentially: each program alone on its topology. This part is what
//     coverage guidance feeds on.
//   - concurrently: every program at once, in the same mailboxes.
//
// A failure prints the input, the program and, for an Illegal history, the
// path of porcupine's visualization (under linearize.DefaultReportDir).
// selfcheck_test.go hands the queue's and the mailbox's checks
// deliberately broken queues and mailboxes, mailbox_test.go hands them
// mailboxes with broken batch forms (a Nil batch that sends its prefix, an
// all-or-nothing batch, a batch receipt that reverses its items, takes
// only one, or hands out copies), runtime_test.go hands
// FuzzRuntime's checks broken runtimes (a Freeze that freezes nothing, a
// counter that moves while frozen, an Interrupt that lets a frozen
// runtime run a step, a Join that forgets a Cancel), and
// continuation_test.go hands FuzzContinuations' checks broken dispatchers
// (one that runs every continuation on a runtime of its own instead of
// its worker, one that drops a continuation coming back to its pool), and
// each must be caught.
//
// Running it:
//
//	go test ./fuzz/                     # replays the seed corpora only
//	go test -run '^$' -fuzz FuzzQueue -fuzztime 30s ./fuzz/
//	go test -run '^$' -fuzz FuzzMailbox -fuzztime 30s ./fuzz/
//	go test -run '^$' -fuzz FuzzRuntime -fuzztime 30s ./fuzz/
//	go test -run '^$' -fuzz FuzzContinuations -fuzztime 30s ./fuzz/
//	go test -race ./fuzz/               # the corpora under the race detector
//
// The seed corpora live in testdata/fuzz/FuzzQueue,
// testdata/fuzz/FuzzMailbox, testdata/fuzz/FuzzRuntime and
// testdata/fuzz/FuzzContinuations. When fuzzing
// finds a failing input, the go command writes it there; such a file is a
// regression test and is committed deliberately, after the bug is fixed.
//
// FuzzEventQueue (eventq_test.go) turns its input into a program over
// impl/eventq on real fds: two non-blocking pipes and a socketpair, opened
// for each input. Every byte, up to 64, is one step: its low five bits an
// entry of a 32-entry table, its top three bits the entry's parameter p.
// The table registers (campaign.EqTargets: one-shot, level, edge and
// exclusive registrations for reading and writing, on the pipes and the
// sockets), with a bad event set, on fd -1, on the number of an fd of
// ours closed earlier, with the continuation of the last registration
// again (ErrRegistered while it lives) or a nil one; sets one-shot timers
// (After, 0 to 2 ms, negative too) and periodic ones (Every, with zero and
// negative periods that must fail with ErrBadDuration); registers for
// SIGUSR1 or SIGUSR2 (never sent), or for no signal (ErrNoSignal); cancels
// and rearms an id (one of those issued, newest first, 0, or one never
// issued); writes to an fd, fills one until it would block, reads one
// empty, closes one of ours (the queue's duplicates keep its file open),
// shuts a socket down for writing; polls, waits 1 ms, wakes and then waits
// without a limit; hands back every lent continuation; closes the queue.
// Each input is checked twice:
//
//   - sequentially, on a fresh queue beside the reference
//     model.EventQRef: every Register, Cancel and Rearm result must be the
//     reference's, or, where the contract says the call fails (a bad event
//     set, a bad fd, a nil or registered continuation, a bad period, no
//     signal, a closed queue), one of the documented errors for it (the
//     kernel's EBADF for a bad fd), and never a panic; ids must increase;
//     every firing must be one the reference allows (an armed
//     registration: never after a Cancel that reported true, never twice
//     for a one-shot, never while lent), hand out the very continuation
//     registered, say Ended exactly for a one-shot, and report only the
//     conditions asked for and Error and HangUp (a timer: Read and a
//     count of at least 1; a signal registration never fires); every
//     level registration that was armed before a poll or wait, with its
//     fd ready for what it asks (as poll(2) said then), must fire in it;
//     a Wait after a Wake must return at once (a watchdog closes the
//     queue after half a second, to report the lost wake-up rather than
//     hang). At the end,
//     every armed timer must fire once due, Close must hand back exactly
//     the continuations of the armed registrations, in registration
//     order (and a second Close none, with ErrClosed; after Close every
//     call fails with ErrClosed, Cancel reports false, and nothing fires),
//     and the process must have as many fds open as before the input.
//     This part is what coverage guidance feeds on.
//   - concurrently: the same bytes, read as the choices of
//     campaign.GenEqRound (byte 0 the clients, 1 to 3, byte 1 their steps,
//     1 to 8, then every choice modulo its options, 0 past the end), run
//     once through campaign.RunEqRound: the clients' calls at once with a
//     waiter recording every firing, checked for linearizability against
//     model.EventQ, then settled, closed and audited (every registration
//     accounted for, no lost firing, every fd closed).
//
// TestEventQueueChecksCatchBrokenQueues hands the sequential check broken
// queues (a one-shot that fires twice, a Cancel that reports true for an
// ended registration, a Close that loses a continuation, a Rearm that
// hands nothing back, a firing with a condition not asked for, a bad event
// set refused with the wrong error, a Register that leaks an fd, a Wake
// that wakes nothing) and requires each to be caught on the seeds. The
// seed corpus is in testdata/fuzz/FuzzEventQueue and eqSeeds. Run it:
//
//	go test -run '^$' -fuzz FuzzEventQueue -fuzztime 30s ./fuzz/
package fuzz
