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
//     TrySend, SendContext and TrySendMany of the next 1 to 8 items
//     (retrying after an interrupt, a timeout, Full, Paused or a partial
//     batch, or giving up and counting the items not sent as not
//     delivered), 4 receivers take them with Recv, TryRecv, RecvContext,
//     All and TryRecvMany into buffers of 1 to 16, while storm goroutines
//     pause and resume, interrupt, set the capacity (0 and unbounded
//     included) and drain. The mailbox is then closed for writing at the
//     end, or at both ends halfway, racing everything, and drained. Every
//     item reported delivered must come out exactly once, no item reported
//     not delivered may come out, each receiver must see each sender's
//     items in order, the final drain must hold only items newer than
//     those received, and the flags, capacity and close results must agree
//     with what the storm did. A watchdog stops a run in which nothing
//     moves for a stall timeout, closes the mailbox and reports what is
//     missing, rather than hanging;
//   - batch wake-ups, round after round: 1 to 6 Recv calls asleep on an
//     empty mailbox, then batches holding as many items from up to three
//     goroutines at once; and as many Send calls asleep on a full mailbox
//     of that capacity, then batch receipts of what is queued. Nothing
//     else touches the mailbox, so a sleeper that a batch should have
//     woken stays asleep (the storms' interrupts and pauses would wake it
//     and hide the bug), and a round not over after the stall timeout
//     fails with the mailbox's state; every woken call must come back
//     with one item, or with its item in;
//   - a void mailbox as a gate: 16 goroutines wait at it over and over
//     while it is paused, resumed and interrupted, then it is closed for
//     writing (while running, or while paused and then resumed); every
//     waiter must return false, and only after the close and the resume.
//
// For impl/rt (runtime_test.go):
//
//   - thousands of short histories of every control operation at once
//     (Halt, Freeze, Thaw, Interrupt, Cancel, Eject, Flags, Join and reads
//     of the step counter), through campaign.RuntimeScenario with 4, 5 and
//     6 clients of 3 or 4 operations against a runtime that counts its
//     steps, each with its release (a Halt once every client sleeps in
//     Join) and final Halt, Join, flags and counter, checked for
//     linearizability against model.Runtime; the test logs porcupine's
//     time per history (about 0.1 ms on average, a few ms at most);
//   - trees of 100 linked runtimes (each spawned with SpawnLink under a
//     random parent, with a bias towards long chains), most asleep in
//     their step's context, some looping, some frozen; one node, a leaf,
//     the root or any chosen at random from the seed, panics. Every
//     runtime must become Dead with Halted, Teardown and Linked on; the
//     failing one's Join error is spec.ErrPanicked, every other one's
//     spec.ErrLinkedFailure wrapping the panic (errors.Is and errors.As
//     through the chain), and the peers the chain of errors names must be
//     exactly the tree's path to the failing node. The same trees torn
//     down by a plain Halt of the root or of any node: spec.Runtime says
//     the teardown of a linked runtime halts its peers, and that Join
//     returns nil after a Halt (ErrLinkedFailure only for a failure), so
//     every runtime must be Dead and every Join nil;
//   - 50 runtimes on OS threads at once (rt.OSThread, a third named, a
//     quarter pinned to the first CPU the process may use), each reporting
//     its thread id: the ids must be distinct and not the main thread's,
//     names and affinities applied to those threads; once all are halted
//     and joined, every one of those threads must leave /proc/self/task
//     (polled, with a deadline), and the process must have no more than
//     two threads more than before. The first round is a warm-up whose
//     thread count is not checked: the Go scheduler keeps the threads it
//     makes for itself, and the warm-up lets it reach its working set.
//
// For impl/pool (pool_test.go):
//
//   - storms: 4 producers send numbered continuations of 1 to 6 steps
//     (each step does a little work, the last marks the item done) to a
//     pool of 4 workers, pool.Waiter over an unbounded and a bounded
//     mailbox, and pool.Runner likewise, while storm goroutines freeze,
//     thaw, interrupt, eject (keeping the dispatcher, or resuming it on a
//     fresh runtime outside the pool), cancel and halt single workers,
//     add workers, drain workers out of the pool (they keep running) and
//     interrupt the whole pool, and a replenisher adds workers whenever
//     fewer than 4 run. The pool then ends, either gracefully (every
//     runtime thawed, pool.Close) or halted mid-way (every runtime
//     halted, and the mailbox closed under producers that may still be
//     sending; one such run queues half the items before the pool starts,
//     so that items are still queued when it ends), every runtime is
//     joined, and conservation must hold exactly: every item sent is
//     completed exactly once after all its steps, or still in the mailbox
//     (Drain; never started), or in pool.Leftovers (in a worker's hand
//     when it stopped; that includes the item an ejected dispatcher
//     holds, which Leftovers reports through its original worker, so it
//     is counted there and nowhere else); an item whose send failed never
//     runs. No step may run after its item completed, nor two steps of
//     one item at once, and no worker may end with an error other than
//     a Cancel's. A watchdog stops a
//     run in which nothing is sent or run for a stall timeout, and every
//     wait for a runtime has a deadline, so a stuck worker is reported
//     rather than hanging the test. pool_test.go also runs the storm on
//     deliberately broken dispatchers (one that drops the item in hand
//     when its step context ends, one whose in-flight report hides it,
//     one that runs a completed item's step again) and requires the
//     conservation check to report each.
//
// For continuations (continuation_test.go): random programs of Goto,
// ComeFrom, NovelThread and Coop over random topologies of 2 to 4 pools of
// 1 to 3 workers (bounded and unbounded mailboxes, now and then OS-thread
// workers), step continuations and sequential ones mixed in the same
// mailboxes, through campaign.ContCheck: 200 rounds of 24 programs of 10
// instructions at once, far more continuations than workers, so that
// mailboxes fill and every worker keeps switching between programs, forms
// and pools; then 1000 short rounds of 6 programs, each on a fresh
// topology. Every step of every program must run exactly once, in program
// order, on the pool the program says (model.ContTrace), no two steps of
// one program at once (an ownership word per program, taken and given
// back by every step), every program must finish before a deadline (a
// lost continuation is reported, naming it, not left to hang the test),
// and the pools must end with nothing in their workers' hands. About 4 s
// under -race on two cores, with or without -tags chaos.
//
// selfcheck_test.go runs the conservation checks on deliberately broken
// queues and mailboxes (an item lost, duplicated, reordered, copied; a
// send that delivers but reports failure; a receiver that stalls) and the
// void storm on broken gates, and requires each break to be reported;
// mailbox_test.go does the same for broken batch forms (a batch send that
// drops an item it reports sent, a batch receipt that drops an item or
// reverses its items).
//
// Run it under the race detector, with and without schedule perturbation:
//
//	GORACE="suppressions=$PWD/tsan-suppressions.txt" go test -race ./stress/...
//	GORACE="suppressions=$PWD/tsan-suppressions.txt" go test -race -tags chaos ./stress/...
//
// Sizes are chosen so that each of those takes about 35 to 50 seconds on
// two cores (measured: 35 s under -race, 48 s with -tags chaos, of which
// the runtime and pool suites take 4.6 s and 5.7 s: histories 2.3 s and
// 2.5 s, pool storms 2.1 s and 3.1 s, link trees and OS threads a tenth
// of a second). For a longer soak, set INSIDEOUT_SOAK to a multiplier of
// every size (item counts and rounds): INSIDEOUT_SOAK=10 runs ten times
// as much.
// Raise -timeout to match (go test's default is 10 minutes).
//
// The seeds of the randomized parts are logged (-v) and in every failure
// message; INSIDEOUT_SEED fixes them (see package linearize), and
// INSIDEOUT_REPORT_DIR says where the visualizations of non-linearizable
// histories go.
//
// For impl/eventq (eventq_test.go), on real pipes and socketpairs:
//
//   - short histories of the event-queue campaign (campaign.EqCheck: the
//     clients register one-shot, level, edge and exclusive registrations
//     and timers, cancel, rearm, write, read, poll and wake while a waiter
//     hands firings out and hands some back), 6 clients of 6 steps and 2
//     of 16, each checked for linearizability against model.EventQ, the
//     ids' real-time order, and the campaign's audit (every registration
//     accounted for at Close, no lost firing, every fd closed);
//   - storms: 6 queues each with a client (registering, writing,
//     reading), a canceller (cancelling, writing, reading, and closing
//     the queue at a random moment) and a waiter of their own, and 2
//     queues shared by 6 clients at once (one of which closes each at a
//     random moment), every client making 1000 steps over the queue's two
//     pipes and socketpair, its one-shot and periodic timers, racing
//     cancels and Closes against readiness and against Wait. Half the
//     waiters are goroutines, half runtimes (impl/rt) whose step waits,
//     halted or cancelled at random moments. Conservation must hold for
//     every continuation: a one-shot handed out once, or cancelled
//     (Cancel true), or handed back by Close, exactly one of the three; a
//     repeating one handed back by Close exactly when it was neither
//     cancelled nor lent (as its waiter saw it), never both; none handed
//     out by a Wait that began after a Cancel of it reported true, under
//     another id, or after its Register failed. Every storm must end with
//     as many fds open as it began with, and goleak finds no goroutine
//     left. The storm is also run on broken queues (a Cancel racing a
//     firing, a Close that loses a continuation, a Register that leaks an
//     fd), each of which must be reported. The histories (150 rounds of
//     each shape), 5 storms and the broken ones take about 2.5 s under
//     -race on two cores, with or without -tags chaos; INSIDEOUT_SOAK=n
//     multiplies the rounds and the storms.
//   - TestRuntimeEventQueueStorm: 3 storms of 4 runtimes, each living on
//     16 continuations in its own event queue, each of which waits six
//     times for its pipe (eventq.Await) or a timer (eventq.Sleep), while
//     two writers feed the pipes and a disturber freezes, thaws,
//     interrupts, ejects and halts the runtimes. Every continuation must
//     end exactly one of finished, ejected, or among its runtime's
//     Leftovers (a runtime halted while continuations wait in its queue
//     hands them back), none run by two runners at once or after an
//     Eject, and the fd count must be back where it began. About 1 s.
package stress
